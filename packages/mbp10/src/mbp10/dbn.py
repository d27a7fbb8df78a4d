"""DBN files <-> numpy: the metadata header through `databento_dbn`, the records as a zero-copy view.

A DBN stream is `b"DBN" + version + u32 metadata length + metadata + records`; MBP-10 records are fixed
368-byte structs, so after one zstd decompression the whole body is viewed as a structured numpy array
(`schema.MBP10_DTYPE`) without touching a record in Python. `databento_dbn.Metadata` parses and writes the
header, so the files are what `databento.DBNStore` reads.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import databento_dbn as dbn
import numpy as np
import zstandard

from mbp10.errors import Mbp10Error
from mbp10.schema import MBP10_DTYPE, RECORD_SIZE, RTYPE_MBP10

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
DBN_MAGIC = b"DBN"


@dataclass(frozen=True)
class DbnFile:
    """A decoded MBP-10 DBN file: its header and its records (a read-only view over the decompressed bytes)."""

    metadata: dbn.Metadata
    records: np.ndarray  # MBP10_DTYPE, shape (n,)

    @property
    def symbols(self) -> list[str]:
        return list(self.metadata.symbols)


def _decompress(raw: bytes, path: Path) -> bytes:
    """Decompress every zstd frame of a file; a single frame with a known size decodes in one allocation."""
    dctx = zstandard.ZstdDecompressor()
    try:
        size = zstandard.frame_content_size(raw)
        if size > 0:
            out = dctx.decompress(raw, max_output_size=size)
            if _first_frame_len(raw) == len(raw):
                return out
        return dctx.stream_reader(raw, read_across_frames=True).readall()
    except zstandard.ZstdError as e:
        raise Mbp10Error(f"{path}: truncated or corrupt zstd stream ({e})") from None


def _first_frame_len(raw: bytes) -> int:
    """Compressed length of the first zstd frame (walks block headers; no decompression)."""
    pos = zstandard.frame_header_size(raw)
    params = zstandard.get_frame_parameters(raw)
    while True:
        if pos + 3 > len(raw):
            raise zstandard.ZstdError("frame cut short")
        bh = int.from_bytes(raw[pos : pos + 3], "little")
        last, btype, bsize = bh & 1, (bh >> 1) & 3, bh >> 3
        pos += 3 + (1 if btype == 1 else bsize)
        if last:
            break
    return pos + (4 if params.has_checksum else 0)


SKIPPABLE_MAGIC_MASK = 0xFFFFFFF0
SKIPPABLE_MAGIC = 0x184D2A50


def check_zstd_frames(path: str | os.PathLike) -> int:
    """Walk every zstd frame's block headers (one `pread` a block, no decompression) and return the frame
    count.

    A stream cut after a flushed block decodes without any error from `zstandard` (the decoder just runs out
    of input): only the frame structure shows that the last block or the checksum is missing. Refuses a
    frame cut short, and bytes after the last frame that are not another frame (Mbp10Error)."""
    walk = FrameWalk(path)
    while not walk.step():
        pass
    return walk.frames


class FrameWalk:
    """`check_zstd_frames` in steps: `step(n)` walks at most `n` more block headers and says whether the
    walk is over, raising its Mbp10Error when it finds one. A reader thread's caller takes steps while it
    waits for blocks (`io.DbnStream`), so the walk costs the day no time of its own. The file is open from
    construction until the walk is over or `close()`."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.size = self.path.stat().st_size
        self.frames = 0
        self._pos = 0
        self._params = None  # the frame being walked (None: at a frame's start)
        self._fh = open(self.path, "rb", buffering=0)  # noqa: SIM115 -- closed when done or by close()
        self._fd = self._fh.fileno()
        self.done = False
        self.error: Mbp10Error | None = None  # raised again by every later step

    def close(self) -> None:
        self._fh.close()

    def step(self, n: int = 1 << 62) -> bool:
        if self.error is not None:
            raise self.error
        try:
            self._walk(n)
        except Mbp10Error as e:
            self.error = e
            self.close()
            raise
        except BaseException:
            self.close()
            raise
        if self.done:
            self.close()
        return self.done

    def _walk(self, n: int) -> None:
        p, size, fd, pos, params = self.path, self.size, self._fd, self._pos, self._params
        while n > 0:
            n -= 1
            if params is None:  # a frame's start
                if pos >= size:
                    self.done = True
                    break
                head = os.pread(fd, 18, pos)  # the longest frame header
                magic = int.from_bytes(head[:4], "little") if len(head) >= 4 else -1
                if magic & SKIPPABLE_MAGIC_MASK == SKIPPABLE_MAGIC and len(head) >= 8:
                    pos += 8 + int.from_bytes(head[4:8], "little")
                    continue
                if head[:4] != ZSTD_MAGIC:
                    where = "after the last zstd frame" if self.frames else "at the start"
                    raise Mbp10Error(
                        f"{p}: truncated or corrupt zstd stream (no zstd frame at byte {pos:,}, {where})"
                    )
                try:
                    params = zstandard.get_frame_parameters(head)
                    pos += zstandard.frame_header_size(head)
                except zstandard.ZstdError as e:
                    raise Mbp10Error(
                        f"{p}: truncated or corrupt zstd stream (frame header at byte {pos:,}: {e})"
                    ) from None
                continue
            bh = os.pread(fd, 3, pos)
            if len(bh) < 3:
                raise Mbp10Error(
                    f"{p}: truncated or corrupt zstd stream (frame {self.frames + 1} ends at byte {size:,} "
                    "without a last block: cut short or corrupt)"
                )
            word = int.from_bytes(bh, "little")
            last, btype, bsize = word & 1, (word >> 1) & 3, word >> 3
            pos += 3 + (1 if btype == 1 else bsize)
            if last:
                pos += 4 if params.has_checksum else 0
                if pos > size:
                    raise Mbp10Error(
                        f"{p}: truncated or corrupt zstd stream (frame {self.frames + 1} cut inside its last "
                        "block)"
                    )
                self.frames += 1
                params = None
        self._pos, self._params = pos, params


def read_dbn_bytes(path: str | os.PathLike) -> bytes:
    """The uncompressed DBN stream of a `.dbn` or `.dbn.zst` file."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise Mbp10Error(f"{p}: cannot read ({e.strerror})") from None
    if raw[:4] == ZSTD_MAGIC:
        check_zstd_frames(p)
        raw = _decompress(raw, p)
    return raw


def decode(raw: bytes, source: str = "<bytes>") -> DbnFile:
    """Decode an uncompressed DBN stream of MBP-10 records; anything else raises Mbp10Error."""
    if raw[:3] != DBN_MAGIC or len(raw) < 8:
        raise Mbp10Error(f"{source}: not a DBN file (no DBN header)")
    version = raw[3]
    if version not in (1, 2, 3):
        raise Mbp10Error(f"{source}: unsupported DBN version {version}")
    meta_len = int.from_bytes(raw[4:8], "little")
    body_start = 8 + meta_len
    if len(raw) < body_start:
        raise Mbp10Error(f"{source}: truncated DBN file (metadata cut short)")
    try:
        metadata = dbn.Metadata.decode(raw[:body_start])
    except Exception as e:  # databento_dbn raises its own error types for a bad header
        raise Mbp10Error(f"{source}: corrupt DBN metadata ({e})") from None
    schema = metadata.schema
    if schema is not None and str(schema) != "mbp-10":
        raise Mbp10Error(f"{source}: schema is {schema}, expected mbp-10")
    if metadata.ts_out:
        raise Mbp10Error(f"{source}: records with ts_out are not supported")
    body = len(raw) - body_start
    if body % RECORD_SIZE:
        raise Mbp10Error(
            f"{source}: truncated DBN file ({body} record bytes is not a multiple of {RECORD_SIZE})"
        )
    records = np.frombuffer(raw, dtype=MBP10_DTYPE, offset=body_start, count=body // RECORD_SIZE)
    if len(records):
        bad = (records["rtype"] != RTYPE_MBP10) | (records["length"] != RECORD_SIZE // 4)
        if bad.any():
            i = int(np.argmax(bad))
            raise Mbp10Error(
                f"{source}: record {i} has rtype {int(records['rtype'][i]):#04x}, expected MBP-10 (0x0a)"
            )
    return DbnFile(metadata, records)


def read_dbn(path: str | os.PathLike) -> DbnFile:
    """Read a `.dbn` / `.dbn.zst` MBP-10 file into a zero-copy record view."""
    return decode(read_dbn_bytes(path), str(path))


def encode_metadata(
    *,
    dataset: str,
    symbol: str | None = None,
    start_ns: int,
    end_ns: int,
    instrument_id: int | None = None,
    instruments: list[tuple[str, int]] | None = None,
    parent: str | None = None,
) -> bytes:
    """A DBN v3 metadata header for MBP-10 records of one instrument (`symbol`, `instrument_id`) or several
    (`instruments`: (raw symbol, id) pairs). With `parent` (e.g. "ES.FUT") the header is that of a parent
    pull: `stype_in` parent, the parent as the requested symbol, and one mapping per contract (raw symbol ->
    instrument id over the covered UTC dates), which is how the symbol of each instrument is found."""
    start_date = dt.datetime.fromtimestamp(start_ns // 1_000_000_000, dt.UTC).date()
    # mapping intervals end exclusive: the day after the last covered nanosecond
    end_date = dt.datetime.fromtimestamp((end_ns - 1) // 1_000_000_000, dt.UTC).date() + dt.timedelta(days=1)
    pairs = instruments if instruments is not None else [(symbol, instrument_id)]
    mappings = [_Mapping(sym, [_Interval(start_date, end_date, str(iid))]) for sym, iid in pairs]
    meta = dbn.Metadata(
        dataset=dataset,
        start=int(start_ns),
        stype_in=dbn.SType.PARENT if parent else dbn.SType.RAW_SYMBOL,
        stype_out=dbn.SType.INSTRUMENT_ID,
        schema=dbn.Schema.MBP_10,
        symbols=[parent] if parent else [sym for sym, _ in pairs],
        mappings=mappings,
        end=int(end_ns),
    )
    return bytes(meta)


@dataclass
class _Interval:
    start_date: object
    end_date: object
    symbol: str


@dataclass
class _Mapping:
    raw_symbol: str
    intervals: list


def write_dbn(path: str | os.PathLike, header: bytes, records: np.ndarray, *, level: int = 3) -> None:
    """Write header + records as one zstd frame (with its content size) to `path` (not atomic: callers are).
    `records` must be MBP-10 records (`schema.MBP10_DTYPE`) and `header` a DBN header (`encode_metadata`):
    anything else made a file that `read_dbn` and every command refuse."""
    if not isinstance(records, np.ndarray) or records.dtype != MBP10_DTYPE:
        what = records.dtype if isinstance(records, np.ndarray) else type(records).__name__
        raise Mbp10Error(f"write_dbn: records must be an array of MBP10_DTYPE records, not {what}")
    if not isinstance(header, bytes) or not header.startswith(b"DBN"):
        raise Mbp10Error(
            "write_dbn: header must be a DBN header (bytes from synth_header or encode_metadata)"
        )
    body = memoryview(np.ascontiguousarray(records).view(np.uint8).reshape(-1))
    total = len(header) + len(body)
    cctx = zstandard.ZstdCompressor(level=level, write_content_size=True)
    with open(path, "wb") as fh:
        # Not `with stream_writer(...)`: on an interrupt its exit would end the frame early and raise
        # "Src size is incorrect" over the KeyboardInterrupt. The frame is finished only when whole.
        w = cctx.stream_writer(fh, size=total, closefd=False)
        w.write(header)
        chunk = 1 << 24  # 16 MiB a call: Ctrl-C is acted on between calls
        for off in range(0, len(body), chunk):
            w.write(body[off : off + chunk])
        w.close()
