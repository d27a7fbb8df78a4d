"""bar5s orchestration: feed record chunks through the kernel and assemble the silver table."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from mbp10.bar_columns import FLOAT_COLUMNS, INT_COLUMNS
from mbp10.io import arrow_to_np, np_to_arrow, strings_to_arrow
from mbp10.kernels import (
    BF_BAD_TS_RECV,
    BF_COUNT,
    BF_LAST_RECV,
    BF_MAYBE_BAD_BOOK,
    BF_OUT_OF_ORDER,
    BF_RECV_BACK,
    BF_SEQ_BACK,
    BF_SPAN_FIRST,
    BF_SPAN_LAST,
    bar5s_multi,
    bar5s_multi_finish,
    block_facts,
    closed_rows,
    keep_open_rows,
    new_output,
    new_slot_state,
    take_rows,
)
from mbp10.records import record_words
from mbp10.schema import BAR_NS
from mbp10.symbology import Selection, SymbolMap, is_spread

# Bytes of one output row: bar start + the integer and float columns.
ROW_BYTES = 8 * (1 + len(INT_COLUMNS) + len(FLOAT_COLUMNS))
MEMORY_CHECK_ROWS = 100_000  # ~6 days of 5-s bars; below this the rows always fit
DAY_BARS = 86_400 * 1_000_000_000 // BAR_NS  # 5-s bars in a day


def _utc(ns: int) -> str:
    return dt.datetime.fromtimestamp(ns / 1e9, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_rows_fit(rows: int, n_rows: int, ts_first: int, ts_last: int) -> None:
    """Refuse records whose ts_event span needs more bar rows than memory holds (InputError)."""
    from perfkit.limits import check_memory

    check_memory(
        (rows + n_rows) * ROW_BYTES,  # the grown arrays and the rows copied into them
        f"ts_event from {_utc(ts_first)} to {_utc(ts_last)} ({rows:,} 5-s bars)",
    )


def warm_up() -> None:
    """Compile the bar5s kernels, or load them from Numba's cache, on a two-record block as a file's blocks
    are read (`compute_bars` runs the same kernels): a command times this as its own stage, so a first run's
    compile time stays out of its records rate."""
    from mbp10.schema import MBP10_DTYPE

    rec = np.zeros(2, MBP10_DTYPE)
    rec["ts_event"] = [BAR_NS, BAR_NS + 1]
    consumer = BarsConsumer(selection=Selection(instrument_ids=(0,)))
    consumer.update(rec)
    consumer.finish()


def facts_of(rec: np.ndarray, last_recv: int) -> np.ndarray:
    """`kernels.block_facts` of a block of records on its own (its instruments numbered from 0)."""
    return Instruments().scan(rec, last_recv=last_recv).facts


@dataclass
class Integrity:
    """What the decode pass counted about the feed (docs/mbp10.md, "Integrity"): reported, not refused."""

    ts_recv_backwards: int = 0  # records whose ts_recv is earlier than the record before them in the file
    sequence_backwards: int = 0  # records whose sequence is below their instrument's previous record's
    maybe_bad_book: int = 0  # records flagged F_MAYBE_BAD_BOOK by the publisher
    bad_ts_recv: int = 0  # records flagged F_BAD_TS_RECV
    last_recv: int = np.iinfo(np.int64).min

    def update(self, facts: np.ndarray) -> None:
        """`facts`: the block's `block_facts`, of its records in file order (also when the file was sorted
        before its bars: every count is of the file as written)."""
        self.ts_recv_backwards += int(facts[BF_RECV_BACK])
        self.maybe_bad_book += int(facts[BF_MAYBE_BAD_BOOK])
        self.bad_ts_recv += int(facts[BF_BAD_TS_RECV])
        self.last_recv = int(facts[BF_LAST_RECV])
        self.sequence_backwards += int(facts[BF_SEQ_BACK])

    def counters(self) -> dict[str, int]:
        return {
            "ts_recv_backwards_records": self.ts_recv_backwards,
            "sequence_backwards_records": self.sequence_backwards,
            "maybe_bad_book_records": self.maybe_bad_book,
            "bad_ts_recv_records": self.bad_ts_recv,
        }


@dataclass
class Slots:
    """A block's records by instrument, with its `kernels.block_facts` (`Instruments.scan`), valid until the
    next scan."""

    words: tuple  # the block's `record_words`
    slot: np.ndarray  # int64 (n,): the record's instrument slot in the file
    ids: np.ndarray  # uint32: instrument_id per slot
    facts: np.ndarray  # int64[BF_SIZE]

    @property
    def count(self) -> int:  # instruments known so far (this block's included)
        return int(self.facts[BF_COUNT])

    @property
    def out_of_order(self) -> int:  # first record below its instrument's ts_event before it, or -1
        return int(self.facts[BF_OUT_OF_ORDER])

    @property
    def span(self) -> tuple[int, int]:  # first and last ts_event of the instrument spanning the most time
        return int(self.facts[BF_SPAN_FIRST]), int(self.facts[BF_SPAN_LAST])


class Instruments:
    """The instruments of a file in order of first appearance, one dense slot each, with each one's last
    ts_event and sequence: `scan` gives every record of a block its slot in the one pass over the block's
    headers (`kernels.block_facts`), which serves the record checks, the order check, the integrity counters
    and the bars."""

    def __init__(self) -> None:
        self.ids = np.zeros(0, np.uint32)
        self.last_ts = np.zeros(0, np.int64)
        self.last_seq = np.zeros(0, np.int64)
        self.count = 0
        self._slot = np.zeros(0, np.int64)

    def scan(
        self, rec: np.ndarray, words: tuple | None = None, last_recv: int = np.iinfo(np.int64).min
    ) -> Slots:
        """The block's facts and each record's slot; `words`: its `record_words`, when the caller has them;
        `last_recv`: the previous block's last ts_recv."""
        w64, w32, b8 = words if words is not None else record_words(rec)
        n = len(rec)
        if len(self._slot) < n:
            self._slot = np.zeros(n, np.int64)
        if len(self.ids) < self.count + n:  # room for every record to be a new instrument
            cap, m = max(2 * len(self.ids), self.count + n), self.count
            self.ids, self.last_ts, self.last_seq = (
                np.concatenate([a[:m], np.zeros(cap - m, a.dtype)])
                for a in (self.ids, self.last_ts, self.last_seq)
            )
        slot = self._slot[:n]
        facts = block_facts(w64, w32, b8, last_recv, self.ids, self.last_ts, self.last_seq, self.count, slot)
        self.count = int(facts[BF_COUNT])
        return Slots((w64, w32, b8), slot, self.ids, facts)


class InstrumentRows:
    """One instrument's final bar rows as columns (a row per feature, as Arrow wraps them without a copy),
    appended as `MultiBars` takes them out of its output."""

    def __init__(self, capacity: int = 1024) -> None:
        self.n = 0
        self.bar_start, self.ci, self.cf = _columns(capacity)

    def append(self, rows: np.ndarray, bar_start, oi, of) -> None:
        """Rows `rows` of `bar5s_multi`'s output (`bar_start`, `oi`, `of`), in time order."""
        need = self.n + len(rows)
        if need > len(self.bar_start):
            cap = self._capacity(need, int(bar_start[rows[-1]]))
            if cap > MEMORY_CHECK_ROWS:  # more bars than records is impossible: each record opens one at most
                from perfkit.limits import check_memory

                check_memory((cap + self.n) * ROW_BYTES, f"{cap:,} 5-s bars")
            bs, ci, cf = _columns(cap)
            bs[: self.n], ci[:, : self.n], cf[:, : self.n] = (
                self.bar_start[: self.n],
                self.ci[:, : self.n],
                self.cf[:, : self.n],
            )
            self.bar_start, self.ci, self.cf = bs, ci, cf
        take_rows(rows, bar_start, oi, of, self.bar_start, self.ci, self.cf, self.n)
        self.n = need

    def _capacity(self, need: int, last_start_ns: int) -> int:
        """Twice the rows, or within a day of the first row (a daily file), this instrument's pace over the
        rest of the day (+10 %, at most a row a 5-s bar): grown once early, rather than doubled again (a copy)
        as the day ends, after its last block."""
        cap = max(need, 2 * len(self.bar_start))
        elapsed = (last_start_ns - int(self.bar_start[0])) // BAR_NS + 1 if self.n else DAY_BARS
        if elapsed < DAY_BARS:
            cap = max(need, min(need + DAY_BARS - elapsed, max(cap, need * DAY_BARS * 11 // (10 * elapsed))))
        return cap

    def table(self) -> pa.Table:
        """The rows as a table (`BAR_SCHEMA`), each column wrapping its row of the column arrays (no copy)."""
        n = self.n
        i64, f64 = pa.int64(), pa.float64()
        cols = [pa.Array.from_buffers(i64, n, [None, pa.py_buffer(self.bar_start[:n])])]
        cols += [pa.Array.from_buffers(i64, n, [None, pa.py_buffer(c[:n])]) for c in self.ci]
        cols += [pa.Array.from_buffers(f64, n, [None, pa.py_buffer(c[:n])]) for c in self.cf]
        return pa.Table.from_arrays(cols, schema=BAR_SCHEMA)


#: The columns of `InstrumentRows.table` (as `pa.table` of the numpy columns names and types them).
BAR_SCHEMA = pa.schema(
    [("bar_start_ns", pa.int64())]
    + [(name, pa.int64()) for name in INT_COLUMNS]
    + [(name, pa.float64()) for name in FLOAT_COLUMNS]
)


def _columns(capacity: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.empty(capacity, np.int64),
        np.empty((len(INT_COLUMNS), capacity), np.int64),
        np.empty((len(FLOAT_COLUMNS), capacity), np.float64),
    )


#: Rows of `MultiBars`' output (~1.6 MB: stays in cache). When it is full, its final rows move to their
#: instrument's columns: the per-instrument split happens while the day is read, not after its last block.
OUTPUT_ROWS = 4096
#: ... as a file is streamed (`BarsConsumer`): half as many rows (~0.8 MB), so each move is short enough for
#: a reader thread's read-ahead to cover it: with 4,096 rows the reader waited 11-62 ms a 15-instrument day
#: for the caller to hand a block back, with 2,048 rows 4-51 ms (docs/perf/mbp10.md, "output rows").
STREAM_OUTPUT_ROWS = 2048


class MultiBars:
    """Streaming bar5s of several instruments at once (`kernels.bar5s_multi`: one pass a block, in record
    order): the rows of all instruments in one small output; whenever it is full, its final rows (all but
    each instrument's open one) move to that instrument's `InstrumentRows`, so `tables()` has only the
    last ones left to split."""

    def __init__(self, capacity: int = OUTPUT_ROWS) -> None:
        self.iids: list[int] = []  # instrument_id per state index
        self.rows: list[InstrumentRows] = []  # final rows per state index
        self.state = new_slot_state(0)
        self.nout = np.zeros(1, np.int64)
        self.bar_start, self.oi, self.of = new_output(capacity)
        self.row_slot = np.zeros(capacity, np.int64)

    def add(self, iid: int) -> int:
        """A new instrument: its index in the state arrays."""
        old, k = self.state, len(self.iids)
        self.state = new_slot_state(k + 1)
        for a, b in zip(self.state, old, strict=True):
            a[:k] = b
        self.iids.append(iid)
        self.rows.append(InstrumentRows())
        return k

    def _take_final(self, final: bool = False) -> None:
        """Move the final rows of the output to their instruments' columns; the open rows to its front."""
        order, counts = closed_rows(self.state[0], self.nout, self.row_slot, self.oi, self.of, final)
        lo = 0
        for k, c in enumerate(counts.tolist()):
            if c:
                self.rows[k].append(order[lo : lo + c], self.bar_start, self.oi, self.of)
                lo += c
        if not final:
            keep_open_rows(self.state[0], self.nout, self.bar_start, self.row_slot, self.oi, self.of)

    def _make_room(self) -> None:
        self._take_final()
        n, cap = int(self.nout[0]), len(self.bar_start)
        if 2 * n > cap:  # mostly open rows (many instruments): a larger output
            if 2 * cap > MEMORY_CHECK_ROWS:
                from perfkit.limits import check_memory

                check_memory((2 * cap + n) * (ROW_BYTES + 8), f"{2 * cap:,} 5-s bars")
            bs, oi, of = new_output(2 * cap)
            rs = np.zeros(2 * cap, np.int64)
            bs[:n], oi[:n], of[:n], rs[:n] = self.bar_start[:n], self.oi[:n], self.of[:n], self.row_slot[:n]
            self.bar_start, self.oi, self.of, self.row_slot = bs, oi, of, rs

    def update(self, words: tuple, slot: np.ndarray, keep: np.ndarray) -> None:
        """Fold a block: `slot` (per record, its instrument slot in the file), `keep` (per file slot, the
        state index, or -1 to skip its records)."""
        if not self.iids:
            return
        w64, w32, b8 = words
        n = len(w64)
        ip = np.full(len(self.iids), -1, np.int64)
        i = 0
        while True:
            i = bar5s_multi(
                w64, w32, b8, i, slot, keep, ip, *self.state, self.nout,
                self.bar_start, self.row_slot, self.oi, self.of,
            )  # fmt: skip
            if i == n:
                return
            self._make_room()

    def tables(self) -> dict[int, pa.Table]:
        """The bars of each instrument (by instrument_id), rows in time order (call once, at the end)."""
        st, lbw, _, _ = self.state
        bar5s_multi_finish(st, lbw, self.nout, self.oi, self.of)
        self._take_final(final=True)
        return {iid: rows.table() for iid, rows in zip(self.iids, self.rows, strict=True)}


class BarAccumulator:
    """Streaming bar5s of one instrument: `update(chunk)` for each chunk of its ts-sorted records, then
    `finish()` (`MultiBars` with one instrument). `rows`: the bar rows expected, when known."""

    def __init__(self, capacity: int = OUTPUT_ROWS, rows: int | None = None) -> None:
        self.bars = MultiBars(capacity)
        self.bars.add(0)
        if rows is not None:
            self.bars.rows[0] = InstrumentRows(rows)
        self.keep = np.zeros(1, np.int64)  # the one slot, state index 0
        self.slot = np.zeros(0, np.int64)
        self.records = 0

    def update(self, rec: np.ndarray) -> None:
        """Fold a contiguous block of MBP10_DTYPE records of one instrument (e.g. a view of the decode buffer),
        ts-sorted."""
        if len(rec) == 0:
            return
        if len(self.slot) < len(rec):
            self.slot = np.zeros(len(rec), np.int64)
        self.bars.update(record_words(rec), self.slot[: len(rec)], self.keep)
        self.records += len(rec)

    def finish(self) -> pa.Table:
        return self.bars.tables()[0]


def compute_bars(rec: np.ndarray) -> pa.Table:
    """bar5s of ts-sorted MBP10_DTYPE records of one instrument in memory (without the level-distance
    column). Neither is checked here (the kernel as benchmarks and `perfkit gate` time it): records out of
    `ts_event` order or of several instruments give wrong bars without an error. Files go through
    `pipeline.day_bars` / `mbp10.api.bars`, which sort a disordered file and keep instruments apart."""
    n = len(rec)
    span = (int(rec["ts_event"][-1]) - int(rec["ts_event"][0])) // BAR_NS + 1 if n else 0
    acc = BarAccumulator(rows=max(1, min(n, span)))  # each record opens a row at most; one a 5-s bar
    acc.update(rec)
    return acc.finish()


class BarsConsumer:
    """`scan_dbn` consumer computing bar5s per instrument_id from record blocks (books never mix)."""

    takes_facts = True  # scan_dbn hands over the block's `block_facts` and `Slots`, computed once a block

    def __init__(self, symmap: SymbolMap | None = None, selection: Selection | None = None) -> None:
        self.symmap = symmap or SymbolMap()
        self.selection = selection or Selection()
        self.reset()

    def start(self, metadata) -> None:
        """The DBN header, before the first block: instrument symbols come from its mappings."""
        self.symmap = SymbolMap.from_metadata(metadata)

    def update(self, rec: np.ndarray, facts: np.ndarray | None = None, slots: Slots | None = None) -> None:
        """Fold a block; `facts` and `slots` (from `scan_dbn`, computed once a block, its `Instruments`
        numbering the slots) are found here if absent (then numbered by this consumer's own `Instruments`)."""
        if len(rec) == 0:
            return
        if slots is None:
            slots = self.instruments.scan(rec, last_recv=self.integrity.last_recv)
        if facts is None:
            facts = slots.facts
        words = slots.words
        self.integrity.update(facts)
        first, last = slots.span
        if (last - first) // BAR_NS > MEMORY_CHECK_ROWS:  # a hostile or mislabelled timestamp, or a real week
            _check_rows_fit((last - first) // BAR_NS + 2, int(self.bars.nout[0]), first, last)
        if slots.count > len(self.keep):  # instruments seen for the first time: computed or skipped
            for s in range(len(self.keep), slots.count):
                iid = int(slots.ids[s])
                self.seen.add(iid)
                self.keep.append(self.bars.add(iid) if self.selection.keeps(self.symmap, iid) else -1)
            self.keep_arr = np.array(self.keep, np.int64)
        self.bars.update(words, slots.slot, self.keep_arr)

    def reset(self) -> None:
        self.bars = MultiBars(STREAM_OUTPUT_ROWS)
        self.instruments = Instruments()  # numbers the slots of blocks handed over without them
        self.keep: list[int] = []  # per slot: index in `bars`, or -1 (not computed)
        self.keep_arr = np.zeros(0, np.int64)
        self.seen: set[int] = set()
        self.integrity = Integrity()

    def finish(self, source: str = "<records>") -> pa.Table:
        """One table: the bars of every kept instrument, sorted by (instrument_id, bar_start_ns), with
        `instrument_id` and `symbol` first; with front-month, only the most traded outright."""
        self.selection.check_found(self.symmap, self.seen, source)
        bars = self.bars.tables()
        tables = {iid: bars[iid] for iid in sorted(bars)}
        if self.selection.front_month and tables:
            chosen = front_month(self.symmap, tables)
            tables = {chosen: tables[chosen]}
        return concat_instruments(
            [
                with_instrument(t, iid, self.symmap.symbols_for(iid, arrow_to_np(t.column("bar_start_ns"))))
                for iid, t in tables.items()
            ]
        )


def front_month(symmap: SymbolMap, tables: dict[int, pa.Table]) -> int:
    """The outright with the largest traded volume in these bars (ties: the lower instrument id)."""
    best = None
    for iid, t in tables.items():
        if any(is_spread(s) for s in symmap.symbols_of(iid)):
            continue
        vol = int(np.sum(arrow_to_np(t.column("bar5s_trade_vol_sum"))))
        if best is None or vol > best[0]:
            best = (vol, iid)
    return best[1] if best else min(tables)


def with_instrument(table: pa.Table, instrument_id: int, symbols: pa.Array | list[str | None]) -> pa.Table:
    """`table` with `instrument_id` (uint32) and `symbol` (string, null where the header has no mapping)
    as its first two columns."""
    n = table.num_rows
    if not isinstance(symbols, pa.Array):
        symbols = strings_to_arrow(symbols)
    table = table.add_column(0, "symbol", symbols)
    return table.add_column(0, "instrument_id", np_to_arrow(np.full(n, instrument_id, np.uint32)))


def concat_instruments(tables: list[pa.Table]) -> pa.Table:
    if not tables:
        empty = InstrumentRows(0).table()
        return with_instrument(empty, 0, [])
    return pa.concat_tables(tables) if len(tables) > 1 else tables[0]
