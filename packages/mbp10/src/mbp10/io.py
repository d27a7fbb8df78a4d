"""Reading MBP-10 inputs (DBN streams, bronze Parquet) and writing Parquet outputs atomically.

The DBN fast path streams: zstd decompresses into one reused buffer a few MB at a time and each block of
whole records is handed on as a zero-copy `MBP10_DTYPE` view (valid until the next block). Decompressing into
a warm buffer runs ~3x faster than materialising the whole day (page faults on ~700 MB) and keeps the peak
RSS flat. Input that is out of ts_event order falls back to a full decode and a stable sort.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import databento_dbn as dbn
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import zstandard

from mbp10.dbn import DBN_MAGIC, ZSTD_MAGIC, FrameWalk, decode, read_dbn
from mbp10.errors import Mbp10Error
from mbp10.records import out_of_order_count
from mbp10.schema import BRONZE_COLUMNS, MBP10_DTYPE, N_LEVELS, RECORD_SIZE, RTYPE_MBP10

#: Records per streamed block (~4 MB): in L3, not in one core's L2, when the kernel reads them. Blocks of
#: 2,000 (736 KB) stay in L2 and the kernel takes less time, but the day takes more CPU: the decoder and
#: per-block Python calls cost more than that saves (docs/perf/mbp10.md, "--blocks").
CHUNK_RECORDS = 11_400
#: ... and with a reader thread (`DbnStream.ahead`): 1-MB blocks, which the kernels, on the other core, read
#: from closer caches (docs/perf/mbp10.md, "read-ahead").
AHEAD_CHUNK_RECORDS = 2_850
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
#: Blocks a reader thread decompresses ahead of the bar kernel (`DbnStream.ahead`) where one day is decoded at
#: a time and a second core is there to take it (a one-file command, `run --executor serial`): the day then
#: takes about max(decode, the rest) instead of their sum. 0 on one core, and `run`'s parallel workers
#: already keep every core busy (docs/perf/mbp10.md, "read-ahead").
READ_AHEAD = 2 if CORES > 1 else 0


LOADAVG = "/proc/loadavg"  # its 4th field: threads running or runnable now / all threads (Linux)


def spare_core() -> bool:
    """Whether a core is free right now besides the caller's: fewer threads running or runnable on the
    machine (the kernel's count in /proc/loadavg, the caller included) than cores this process may use;
    False where that count cannot be read."""
    try:
        with open(LOADAVG) as fh:
            running = int(fh.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return False
    return running < CORES


def read_ahead() -> int:
    """`READ_AHEAD` when a core is free as the day starts, else 0. With every core taken by other work the
    reader thread and the kernels wait on each other's time slices: one day took 1.1-1.2x as long at load
    4-5 on 2 cores, a 15-instrument day about as long (docs/perf/mbp10.md, "read-ahead")."""
    return READ_AHEAD if READ_AHEAD and spare_core() else 0


PARQUET_COMPRESSION = ("zstd", 3)
#: Dictionary encoding only where values repeat (prices, sizes, codes); never for timestamps/sequences.
NO_DICTIONARY = ("ts_event", "ts_recv", "sequence", "ts_in_delta")


UTC_NS = pa.timestamp("ns", tz="UTC")
#: Version of the written tables (schema metadata `mbp10.format`): 2 = per instrument (`instrument_id`,
#: `symbol`), typed columns, crossed/locked flags, decision times (issue 14); 1 (unmarked) = before.
FORMAT_KEY, FORMAT_VERSION = b"mbp10.format", b"2"
#: Integer nanosecond columns that are instants (written as timestamp[ns, UTC]); `*_ns` columns are too.
TIME_COLUMNS = ("ts_event", "ts_recv")


def _is_instant(name: str) -> bool:
    return name in TIME_COLUMNS or name.endswith("_ns")


def typed(table: pa.Table) -> pa.Table:
    """The table as users read it: instants as timestamp[ns, UTC], `date` as date32, NaN as null.

    The stages compute on plain int64 nanoseconds, ISO date strings and NaN (numpy); this is the one place
    they become what databento's `to_df`, polars and pandas expect, so nothing downstream needs a cast."""
    cols = []
    for name, col in zip(table.column_names, table.columns, strict=True):
        t = col.type
        if _is_instant(name) and pa.types.is_integer(t):
            col = col.cast(pa.int64()).cast(UTC_NS)
        elif name == "date" and pa.types.is_string(t):
            col = col.cast(pa.date32())
        elif pa.types.is_floating(t):
            col = pc.if_else(pc.is_nan(col), pa.scalar(None, t), col)
        cols.append(col)
    metadata = {**(table.schema.metadata or {}), FORMAT_KEY: FORMAT_VERSION}
    return pa.table(cols, names=table.column_names, metadata=metadata)


def plain(table: pa.Table) -> pa.Table:
    """The inverse of `typed` for a table read back in (a stage's input): int64 ns, ISO strings, NaN."""
    cols = []
    for col in table.columns:
        t = col.type
        if pa.types.is_timestamp(t):
            col = col.cast(pa.timestamp("ns")).cast(pa.int64())
        elif pa.types.is_date32(t):
            col = col.cast(pa.string())
        elif pa.types.is_floating(t) and col.null_count:
            col = pc.fill_null(col, pa.scalar(float("nan"), t))
        cols.append(col)
    return pa.table(cols, names=table.column_names, metadata=table.schema.metadata)


def write_table(table: pa.Table, path: str | os.PathLike) -> None:
    """Write a Parquet file (zstd level 3, `typed` columns) to `path`: callers pass a staging path they own."""
    pq.write_table(
        typed(table), path, compression=PARQUET_COMPRESSION[0], compression_level=PARQUET_COMPRESSION[1]
    )


def input_kind(path: str | os.PathLike) -> str:
    """'dbn' or 'parquet', from the file's first bytes (not its name)."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            head = fh.read(4)
    except OSError as e:
        raise Mbp10Error(f"{p}: cannot read ({e.strerror})") from None
    if not head:
        raise Mbp10Error(f"{p}: empty file (not a DBN file or Parquet file)")
    if head == b"PAR1":
        return "parquet"
    if head == ZSTD_MAGIC or head[:3] == DBN_MAGIC:
        return "dbn"
    raise Mbp10Error(f"{p}: not a DBN file or Parquet file")


def _read_exact(reader, n: int, source: str) -> bytes:
    out = bytearray()
    while len(out) < n:
        b = reader.read(n - len(out))
        if not b:
            raise Mbp10Error(f"{source}: truncated DBN file (header cut short)")
        out += b
    return bytes(out)


def bad_record(path, rec: np.ndarray, i: int) -> Mbp10Error:
    return Mbp10Error(f"{path}: record has rtype {int(rec['rtype'][i]):#04x}, expected MBP-10 (0x0a)")


@dataclass
class DbnStream:
    """An open MBP-10 DBN file: `metadata`, then iterate for blocks of records (views into one buffer)."""

    path: Path
    chunk_records: int = CHUNK_RECORDS
    #: Check every record's rtype/length here (NumPy); `scan_dbn` turns it off and checks in `block_facts`,
    #: the one pass it makes over the headers anyway.
    check_records: bool = True
    #: Blocks decompressed ahead in a reader thread while the caller works on the current one (0: none,
    #: the caller's thread decompresses). The reader ends when the stream is closed.
    ahead: int = 0
    #: `Probed.frames` of this file: its frames were walked whole by `probe`; not walked again while the
    #: file is the same (`file_identity`), else walked as usual.
    frames: tuple | None = None
    metadata: dbn.Metadata = field(init=False)

    def __post_init__(self) -> None:
        self._fh = open(self.path, "rb")  # noqa: SIM115 -- closed by close() / __exit__
        self._walk = None
        magic = self._fh.read(4)
        self._fh.seek(0)
        if magic == ZSTD_MAGIC:
            # A stream cut after a flushed block decodes without an error: the frames' block headers are
            # walked (`dbn.FrameWalk`) before the first block, or, with a reader thread, by the caller while
            # it waits for blocks; any error of the stream is then raised after the walk's own, as if the walk
            # had come first (`_frames_first`).
            try:
                if self.frames is None or file_identity(self._fh.fileno()) != self.frames:
                    self._walk = FrameWalk(self.path)
                if self.ahead <= 0:
                    self._finish_walk()
            except Mbp10Error:
                self.close()
                raise
            self._reader = zstandard.ZstdDecompressor().stream_reader(self._fh, read_across_frames=True)
        else:
            self._reader = self._fh
        try:
            head = _read_exact(self._reader, 8, str(self.path))
            if head[:3] != DBN_MAGIC:
                raise Mbp10Error(f"{self.path}: not a DBN file (no DBN header)")
            meta_len = int.from_bytes(head[4:8], "little")
            header = head + _read_exact(self._reader, meta_len, str(self.path))
            self.metadata = decode(header, str(self.path)).metadata
        except zstandard.ZstdError as e:
            self._frames_first(Mbp10Error(f"{self.path}: truncated or corrupt zstd stream ({e})"))
        except Mbp10Error as e:
            self._frames_first(e)

    def _finish_walk(self) -> None:
        walk = self._walk
        if walk is not None and not walk.done:
            while not walk.step():
                pass

    def _frames_first(self, error: BaseException) -> None:
        """Close, and raise the frame walk's error if the frames are bad, else `error`."""
        try:
            self._finish_walk()
        finally:
            self.close()
        raise error from None

    def close(self) -> None:
        ring = getattr(self, "_ring", None)
        if ring is not None:
            ring.stop()  # before the file closes under its reader
        self._fh.close()
        if self._walk is not None:
            self._walk.close()

    def __enter__(self) -> DbnStream:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        """Close; a stream whose frames were not all walked yet (a reader thread's) is walked to the end
        first, unless the caller is interrupted: bad frames are refused as they were before the first block,
        also over an error the caller met in the blocks."""
        ring = getattr(self, "_ring", None)
        if ring is not None:
            ring.stop()
        if exc_type is None or issubclass(exc_type, Exception):
            try:
                self._finish_walk()
            finally:
                self.close()
        else:
            self.close()

    def __iter__(self) -> Iterator[np.ndarray]:
        if self.ahead > 0:
            yield from self._blocks_ahead()
            return
        buf = np.empty(self.chunk_records * RECORD_SIZE, np.uint8)
        view = memoryview(buf)
        carry = 0
        while True:
            try:
                got = self._reader.readinto(view[carry:])
            except zstandard.ZstdError as e:
                raise Mbp10Error(f"{self.path}: truncated or corrupt zstd stream ({e})") from None
            if not got:
                if carry:
                    raise Mbp10Error(f"{self.path}: truncated DBN file ({carry} bytes of a partial record)")
                return
            total = carry + got
            whole = total - total % RECORD_SIZE
            if whole:
                yield self._records(buf[:whole])
            carry = total - whole
            if carry:
                buf[:carry] = buf[whole:total]

    def _records(self, raw: np.ndarray) -> np.ndarray:
        rec = raw.view(MBP10_DTYPE)
        if self.check_records:
            bad = (rec["rtype"] != RTYPE_MBP10) | (rec["length"] != RECORD_SIZE // 4)
            if bad.any():
                raise bad_record(self.path, rec, int(np.argmax(bad)))
        return rec

    def _blocks_ahead(self) -> Iterator[np.ndarray]:
        """The blocks of `__iter__`, decompressed by a reader thread into a ring of `ahead` + 1 buffers while
        the caller works on the block before (zstd releases the GIL while it decompresses): the same blocks,
        at most `ahead` + 1 of them in memory. The block handed out is the caller's until it asks for the
        next; a caller that stops early (break, error, Ctrl-C) stops and joins the thread in `close`."""
        # Known to `close` before its thread starts: a Ctrl-C landing anywhere from here on still stops it.
        ring = self._ring = _Ring(self._reader, self.chunk_records * RECORD_SIZE, self.ahead + 1)
        walk = self._walk
        idle = (lambda: walk.step(WALK_STEP)) if walk is not None else None
        try:
            ring.thread.start()
            while True:
                kind, value = ring.next_block(None if walk is None or walk.done else idle)
                if kind == "block":
                    yield self._records(value)
                elif kind == "end":
                    self._finish_walk()
                    if value:
                        raise Mbp10Error(
                            f"{self.path}: truncated DBN file ({value} bytes of a partial record)"
                        )
                    return
                elif isinstance(value, zstandard.ZstdError):
                    self._frames_first(Mbp10Error(f"{self.path}: truncated or corrupt zstd stream ({value})"))
                else:
                    self._frames_first(value)
        finally:
            ring.stop()


#: Block headers the caller walks (`dbn.FrameWalk.step`) each time it finds no block ready: ~50 us.
WALK_STEP = 32


class _Ring:
    """A reader thread filling `n` reused buffers from `reader.readinto`, in order: whole records each, a
    partial record carried to the start of the next buffer. `next_block()` gives ("block", uint8 view) and
    takes back the buffer it gave before; ("end", bytes of a partial record left) or ("error", exception)
    come last."""

    def __init__(self, reader, size: int, n: int) -> None:
        self.reader = reader
        self.bufs = [np.empty(size, np.uint8) for _ in range(n)]
        self.free: queue.SimpleQueue = queue.SimpleQueue()  # buffers the thread may fill; None: stop
        self.full: queue.SimpleQueue = queue.SimpleQueue()  # (kind, buffer or value, bytes)
        for i in range(n):
            self.free.put(i)
        self.lent: int | None = None
        self.stopping = False
        self.thread = threading.Thread(
            target=self._fill, name="mbp10-zstd", daemon=True
        )  # started by the caller

    def _fill(self) -> None:
        try:
            i, carry = self.free.get(), 0
            while i is not None and not self.stopping:
                buf = self.bufs[i]
                got = self.reader.readinto(memoryview(buf)[carry:])
                if not got:
                    self.full.put(("end", carry, 0))
                    return
                total = carry + got
                whole = total - total % RECORD_SIZE
                carry = total - whole
                if not whole:
                    continue
                j = self.free.get()  # waits while every other buffer is full or lent: memory stays bounded
                if j is not None and carry:
                    self.bufs[j][:carry] = buf[whole:total]
                self.full.put(("block", i, whole))
                i = j
        except BaseException as e:  # handed to the caller's thread, which raises it
            self.full.put(("error", e, 0))

    def next_block(self, idle=None) -> tuple[str, object]:
        """`idle()`: work to do while no block is ready, in steps, until it returns True (done)."""
        if self.lent is not None:
            self.free.put(self.lent)
            self.lent = None
        if idle is not None:
            while self.full.empty() and not idle():
                pass
        kind, value, n = self.full.get()
        if kind != "block":
            return kind, value
        self.lent = value
        return kind, self.bufs[value][:n]

    def stop(self) -> None:
        """Stop the thread (it ends after at most one more `readinto`) and wait for it."""
        if not self.stopping:
            self.stopping = True
            self.free.put(None)
        if self.thread.ident is not None:  # started
            self.thread.join()


# -- bronze Parquet ----------------------------------------------------------------------------------------


def np_to_arrow(a: np.ndarray) -> pa.Array:
    """Wrap a 1-D numeric numpy array as an Arrow array without a copy (contiguous input) and without
    `pa.array`, whose pandas probe costs seconds on a cold import."""
    a = np.ascontiguousarray(a)
    return pa.Array.from_buffers(pa.from_numpy_dtype(a.dtype), len(a), [None, pa.py_buffer(a)])


def arrow_to_np(col: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A fixed-width numeric Arrow column without nulls as numpy (a view of one chunk, else one copy),
    without pyarrow's `to_numpy`, which imports pandas (0.7 CPU-s a process here): a `run` bars worker
    never needs pandas otherwise, and starts that much sooner."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    t = arr.type
    if arr.null_count or not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_timestamp(t)):
        raise TypeError(f"arrow_to_np: want numbers without nulls, got {t} with {arr.null_count} nulls")
    dtype = np.dtype(np.int64) if pa.types.is_timestamp(t) else np.dtype(t.to_pandas_dtype())
    if len(arr) == 0:
        return np.empty(0, dtype)
    return np.frombuffer(arr.buffers()[1], dtype, len(arr), arr.offset * dtype.itemsize)


def strings_to_arrow(values: list[str | None]) -> pa.Array:
    """Python strings (None: null) as an Arrow string array, built from buffers (`pa.array` probes for
    pandas, importing it: see `arrow_to_np`)."""
    data = [b"" if v is None else v.encode() for v in values]
    offsets = np.zeros(len(data) + 1, np.int32)
    np.cumsum([len(b) for b in data], out=offsets[1:])
    valid = np.array([v is not None for v in values], bool)
    bitmap = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(
        pa.string(), len(data), [bitmap, pa.py_buffer(offsets), pa.py_buffer(b"".join(data))]
    )


def chars_to_arrow(col: np.ndarray) -> pa.Array:
    """One-character strings (Databento's action/side characters) from an S1 column, built from buffers."""
    data = np.array(col, dtype="S1").view(np.uint8)  # a copy: `col` may view the stream buffer
    offsets = np.arange(len(data) + 1, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), len(data), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _bronze_type(name: str, dtype: str) -> pa.DataType:
    if name in TIME_COLUMNS:
        return UTC_NS
    if name in ("action", "side"):
        return pa.string()
    return pa.from_numpy_dtype(np.dtype(dtype))


def records_to_arrow(rec: np.ndarray) -> pa.RecordBatch:
    """A bronze batch from MBP10_DTYPE records (copies each field into its own column): times as
    timestamp[ns, UTC], action/side as Databento's characters, the rest as their integer types."""
    arrays = []
    for name, dtype in BRONZE_COLUMNS:
        if name in ("action", "side"):
            arrays.append(chars_to_arrow(rec[name]))
            continue
        # Always a copy: `rec` may be a view of the stream buffer that the next block overwrites.
        a = np_to_arrow(np.array(rec[name], dtype=dtype))
        arrays.append(a.view(UTC_NS) if name in TIME_COLUMNS else a)
    return pa.RecordBatch.from_arrays(arrays, names=[n for n, _ in BRONZE_COLUMNS])


BRONZE_SCHEMA = pa.schema(
    [(n, _bronze_type(n, t)) for n, t in BRONZE_COLUMNS], metadata={FORMAT_KEY: FORMAT_VERSION}
)
KERNEL_COLUMNS = (
    "ts_event",
    "ts_recv",
    "instrument_id",
    "sequence",
    "price",
    "size",
    "action",
    "side",
    "flags",
    *tuple(f"{k}_{i:02d}" for k in ("bid_px", "ask_px", "bid_sz", "ask_sz") for i in range(N_LEVELS)),
)


def _check_bronze_columns(p: Path, columns) -> None:
    try:
        schema = pq.read_schema(p)
    except (OSError, pa.ArrowException) as e:
        raise Mbp10Error(f"{p}: not a readable Parquet file ({e})") from None
    missing = [c for c in columns if c not in schema.names]
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise Mbp10Error(f"{p}: missing columns {shown} (not a bronze MBP-10 table)")


def read_bronze(path: str | os.PathLike, columns=KERNEL_COLUMNS) -> pa.Table:
    """Read (some columns of) a bronze Parquet file; missing columns raise Mbp10Error."""
    p = Path(path)
    _check_bronze_columns(p, columns)
    return pq.ParquetFile(p).read(columns=list(columns))  # not read_table: its dataset layer imports pandas


def read_metadata(path: str | os.PathLike) -> dbn.Metadata:
    """The DBN header of a file (nothing past it is decompressed)."""
    with DbnStream(Path(path)) as stream:
        return stream.metadata


def read_symbology(path: str | os.PathLike):
    """The instrument symbols of an input: a DBN header's mappings, or a bronze file's copy of them."""
    from mbp10.symbology import SymbolMap

    p = Path(path)
    if input_kind(p) == "parquet":
        return SymbolMap.from_parquet_metadata(pq.read_schema(p).metadata)
    return SymbolMap.from_metadata(read_metadata(p))


def file_identity(fd: int) -> tuple[int, int, int, int]:
    """(device, inode, size, mtime ns) of an open file: the same file, unchanged, while these are."""
    st = os.fstat(fd)
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


@dataclass(frozen=True)
class Probed:
    """What `probe` found: the input's `kind` ('dbn' or 'parquet') and, for a zstd DBN file, the
    `file_identity` of the file whose frames it walked whole (`frames`; pass it on to `day_bars` so that
    the file's frames are walked once)."""

    kind: str
    frames: tuple | None = None


def probe(path: str | os.PathLike) -> Probed:
    """The input's kind after checking what is cheap to check: a DBN file's header (schema, version, a cut
    or corrupt start) and its zstd frames (a stream cut after a flushed block), a Parquet file's columns.
    Refuses most bad input before any kernel is loaded; records cut or corrupt further in are found while
    the file is read."""
    p = Path(path)
    kind = input_kind(p)
    if kind == "parquet":
        _check_bronze_columns(p, KERNEL_COLUMNS)
        return Probed(kind)
    with DbnStream(p) as stream:
        walked = stream._walk is not None  # a zstd file, its frames walked at open (no reader thread)
        return Probed(kind, file_identity(stream._fh.fileno()) if walked else None)


def sorted_records_full(path: Path) -> tuple[np.ndarray, int]:
    """The whole DBN file, stably sorted by ts_event, and how many records were out of order within their
    instrument (instruments interleaved by ts_recv may disagree on ts_event order without being disordered)."""
    rec, _, n_bad = _sorted(read_dbn(path).records)
    return rec, n_bad


def _sorted(rec: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(records stably sorted by ts_event, the file-order records' block facts, records out of order within
    their instrument)."""
    from mbp10.bars import facts_of

    facts = facts_of(rec, np.iinfo(np.int64).min) if len(rec) else None
    ts = rec["ts_event"].astype(np.int64)
    ids = rec["instrument_id"]
    n_bad = sum(out_of_order_count(ts[ids == i]) for i in np.unique(ids)) if len(ids) else 0
    if out_of_order_count(ts):
        rec = rec[np.argsort(ts, kind="stable")]
    return rec, facts, n_bad


@dataclass
class ScanStats:
    records: int = 0
    out_of_order: int = 0
    streamed: bool = True
    symbols: tuple[str, ...] = ()
    integrity: dict = field(default_factory=dict)
    read_ahead: int = 0  # blocks decompressed ahead in a reader thread (`DbnStream.ahead`)


def _feed(consumers: list, rec: np.ndarray, facts, slots=None) -> None:
    for c in consumers:
        if getattr(c, "takes_facts", False):
            c.update(rec, facts, slots)
        else:
            c.update(rec)


def scan_dbn(
    path: str | os.PathLike, consumers: list, ahead: int = 0, frames: tuple | None = None
) -> ScanStats:
    """Feed the records of a DBN file to each consumer's `update(records)`, each instrument's records in
    ts_event order. Consumers with a `start(metadata)` get the header first; those with `takes_facts` get
    the block's `kernels.block_facts` and `bars.Slots` (each record's instrument) too, computed once a block.

    Streams block by block while every instrument is in order (the normal case), with `ahead` blocks
    decompressed ahead in a reader thread (`DbnStream.ahead`; `frames`: `DbnStream.frames`). At the first record out of
    order every consumer is `reset()` and the file is decoded whole, stably sorted and fed as one block.
    """
    from mbp10.bars import Instruments  # Numba: loaded once the input passed the cheap checks
    from mbp10.kernels import BF_BAD_RECORD, BF_LAST_RECV

    p = Path(path)
    stats = ScanStats(read_ahead=ahead)
    chunk = AHEAD_CHUNK_RECORDS if ahead else CHUNK_RECORDS
    with DbnStream(p, chunk, check_records=False, ahead=ahead, frames=frames) as stream:
        stats.symbols = tuple(stream.metadata.symbols)
        for c in consumers:
            if hasattr(c, "start"):
                c.start(stream.metadata)
        instruments = Instruments()
        last_recv = np.iinfo(np.int64).min
        for rec in stream:
            # one pass over the headers: record checks, integrity counts, each record's instrument (its
            # numbering serves the order check, the counters and the bars)
            slots = instruments.scan(rec, last_recv=last_recv)
            facts = slots.facts
            if facts[BF_BAD_RECORD] >= 0:
                raise bad_record(p, rec, int(facts[BF_BAD_RECORD]))
            if slots.out_of_order >= 0:
                break
            last_recv = int(facts[BF_LAST_RECV])
            _feed(consumers, rec, facts, slots)
            stats.records += len(rec)
        else:
            return stats
    for c in consumers:
        c.reset()
    rec, facts, stats.out_of_order = _sorted(read_dbn(p).records)
    stats.records, stats.streamed = len(rec), False
    _feed(consumers, rec, facts)
    return stats
