"""bar5s orchestration: feed record chunks through the kernel and assemble the silver table."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from mbp10.bar_columns import FLOAT_COLUMNS, INT_COLUMNS
from mbp10.io import arrow_to_np, np_to_arrow, strings_to_arrow
from mbp10.kernels import (
    BF_BAD_TS_RECV,
    BF_FIRST_ID,
    BF_LAST_RECV,
    BF_MAYBE_BAD_BOOK,
    BF_MIXED,
    BF_RECV_BACK,
    BF_SEQ_BACK,
    BF_SORTED,
    G_SEQ_BACK,
    G_SEQ_FIRST,
    G_SEQ_LAST,
    G_SORTED,
    G_TS_FIRST,
    G_TS_LAST,
    bar5s_chunk,
    bar5s_finish,
    block_facts,
    group_index,
    new_output,
    new_state,
)
from mbp10.records import record_words
from mbp10.schema import BAR_NS
from mbp10.symbology import Selection, SymbolMap, is_spread

# Bytes of one output row: bar start + the integer and float columns.
ROW_BYTES = 8 * (1 + len(INT_COLUMNS) + len(FLOAT_COLUMNS))
MEMORY_CHECK_ROWS = 100_000  # ~6 days of 5-s bars; below this the rows always fit


def _utc(ns: int) -> str:
    return dt.datetime.fromtimestamp(ns / 1e9, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_rows_fit(rows: int, n_rows: int, ts_first: int, ts_last: int) -> None:
    """Refuse records whose ts_event span needs more bar rows than memory holds (InputError)."""
    from perfkit.limits import check_memory

    check_memory(
        (rows + n_rows) * ROW_BYTES,  # the grown arrays and the rows copied into them
        f"ts_event from {_utc(ts_first)} to {_utc(ts_last)} ({rows:,} 5-s bars)",
    )


class BarAccumulator:
    """Streaming bar5s: `update(chunk)` for each chunk of ts-sorted records, then `finish()`."""

    def __init__(self, capacity: int = 64):
        self.state = new_state()
        self.bar_start, self.oi, self.of = new_output(capacity)
        self.records = 0

    def _ensure(self, ts_first: int, ts_last: int) -> None:
        # Rows this chunk can open: bars spanned by its timestamps (sorted), plus the open row.
        n_rows = int(self.state[0][1])
        need = n_rows + (ts_last - ts_first) // BAR_NS + 2
        cap = len(self.bar_start)
        if need > cap:
            new_cap = max(need, 2 * cap)
            if need > MEMORY_CHECK_ROWS:  # a span of days: a hostile or mislabelled timestamp, or a real week
                _check_rows_fit(new_cap, n_rows, ts_first, ts_last)
            bs, oi, of = new_output(new_cap)
            bs[:n_rows], oi[:n_rows], of[:n_rows] = (
                self.bar_start[:n_rows],
                self.oi[:n_rows],
                self.of[:n_rows],
            )
            self.bar_start, self.oi, self.of = bs, oi, of

    def update(self, rec: np.ndarray, rows: np.ndarray | None = None, words: tuple | None = None) -> None:
        """Fold a contiguous block of MBP10_DTYPE records (e.g. a view of the decode buffer), ts-sorted, or
        only its `rows` (int64, ts-sorted: one instrument's records of a mixed block, read in place).
        `words`: the block's `record_words`, when the caller has them (once a block, not per instrument)."""
        if len(rec) == 0 or (rows is not None and len(rows) == 0):
            return
        w64, w32, b8 = words if words is not None else record_words(rec)
        first, last = (0, len(rec) - 1) if rows is None else (rows[0], rows[-1])
        self._ensure(int(w64[first, 1]), int(w64[last, 1]))
        bar5s_chunk(w64, w32, b8, rows, *self.state, self.bar_start, self.oi, self.of)
        self.records += len(rec) if rows is None else len(rows)

    def finish(self) -> pa.Table:
        st, lb, _, _, _ = self.state
        n = bar5s_finish(st, lb, self.oi, self.of)
        # One transposing copy each, so every column below is a contiguous row (no copy per column).
        oi, of = np.ascontiguousarray(self.oi[:n].T), np.ascontiguousarray(self.of[:n].T)
        cols = {"bar_start_ns": np_to_arrow(self.bar_start[:n])}
        for j, name in enumerate(INT_COLUMNS):
            cols[name] = np_to_arrow(oi[j])
        for j, name in enumerate(FLOAT_COLUMNS):
            cols[name] = np_to_arrow(of[j])
        return pa.table(cols)


def compute_bars(rec: np.ndarray) -> pa.Table:
    """bar5s of ts-sorted MBP10_DTYPE records in memory (without the level-distance column)."""
    acc = BarAccumulator()
    acc.update(rec)
    return acc.finish()


def warm_up() -> None:
    """Compile the bar5s kernels, or load them from Numba's cache, on a two-record block, both ways the
    kernel reads a block (every row; some rows): a command times this as its own stage, so a first run's
    compile time stays out of its records rate."""
    from mbp10.schema import MBP10_DTYPE

    rec = np.zeros(2, MBP10_DTYPE)
    rec["ts_event"] = [BAR_NS, BAR_NS + 1]
    compute_bars(rec)
    acc = BarAccumulator()
    acc.update(rec, np.arange(2, dtype=np.int64))
    acc.finish()


def facts_of(rec: np.ndarray, last_recv: int) -> np.ndarray:
    """`kernels.block_facts` of a block of records (one pass over their headers)."""
    w64, w32, b8 = record_words(rec)
    return block_facts(w64, w32, b8, last_recv)


@dataclass
class Integrity:
    """What the decode pass counted about the feed (docs/mbp10.md, "Integrity"): reported, not refused."""

    ts_recv_backwards: int = 0  # records whose ts_recv is earlier than the record before them in the file
    sequence_backwards: int = 0  # records whose sequence is below their instrument's previous record's
    maybe_bad_book: int = 0  # records flagged F_MAYBE_BAD_BOOK by the publisher
    bad_ts_recv: int = 0  # records flagged F_BAD_TS_RECV
    last_recv: int = np.iinfo(np.int64).min
    last_seq: dict = field(default_factory=dict)

    def update(self, facts: np.ndarray, groups: list[Group]) -> None:
        self.ts_recv_backwards += int(facts[BF_RECV_BACK])
        self.maybe_bad_book += int(facts[BF_MAYBE_BAD_BOOK])
        self.bad_ts_recv += int(facts[BF_BAD_TS_RECV])
        self.last_recv = int(facts[BF_LAST_RECV])
        for g in groups:
            self.sequence_backwards += g.seq_back + (g.seq_first < self.last_seq.get(g.iid, -1))
            self.last_seq[g.iid] = g.seq_last

    def counters(self) -> dict[str, int]:
        return {
            "ts_recv_backwards_records": self.ts_recv_backwards,
            "sequence_backwards_records": self.sequence_backwards,
            "maybe_bad_book_records": self.maybe_bad_book,
            "bad_ts_recv_records": self.bad_ts_recv,
        }


class Group(NamedTuple):
    """One instrument's records in a block: which rows (None: all of them), and what the order and
    integrity checks need of them."""

    iid: int
    rows: np.ndarray | None
    ts_sorted: bool  # ts_event never decreases inside the block
    ts_first: int
    ts_last: int
    seq_back: int  # records whose sequence is below the record before them (same instrument, this block)
    seq_first: int
    seq_last: int


def split_instruments(rec: np.ndarray, facts: np.ndarray) -> list[Group]:
    """The instruments of a block, by instrument_id: the whole block when it holds one (the usual case),
    else each instrument's row numbers from a counting sort (`kernels.group_index`; no record is copied)."""
    w64, w32, _ = record_words(rec)
    if not facts[BF_MIXED]:
        return [
            Group(
                int(facts[BF_FIRST_ID]), None, bool(facts[BF_SORTED]), int(w64[0, 1]), int(w64[-1, 1]),
                int(facts[BF_SEQ_BACK]), int(w32[0, 11]), int(w32[-1, 11]),
            )
        ]  # fmt: skip
    uniq, rows, bounds, gf = group_index(w64, w32)
    return [
        Group(
            int(uniq[j]), rows[bounds[j] : bounds[j + 1]], bool(gf[j, G_SORTED]), int(gf[j, G_TS_FIRST]),
            int(gf[j, G_TS_LAST]), int(gf[j, G_SEQ_BACK]), int(gf[j, G_SEQ_FIRST]), int(gf[j, G_SEQ_LAST]),
        )
        for j in range(len(uniq))
    ]  # fmt: skip


class BarsConsumer:
    """`scan_dbn` consumer computing bar5s per instrument_id from record blocks (books never mix)."""

    takes_facts = True  # scan_dbn hands over the block's `block_facts`, computed once for every check

    def __init__(self, symmap: SymbolMap | None = None, selection: Selection | None = None) -> None:
        self.symmap = symmap or SymbolMap()
        self.selection = selection or Selection()
        self.reset()

    def start(self, metadata) -> None:
        """The DBN header, before the first block: instrument symbols come from its mappings."""
        self.symmap = SymbolMap.from_metadata(metadata)

    def update(self, rec: np.ndarray, facts: np.ndarray | None = None, groups: list | None = None) -> None:
        """Fold a block; `facts` and `groups` (from `scan_dbn`, computed once a block) are found if absent."""
        if len(rec) == 0:
            return
        if facts is None:
            facts = facts_of(rec, self.integrity.last_recv)
        if groups is None:
            groups = split_instruments(rec, facts)
        self.integrity.update(facts, groups)
        words = record_words(rec)
        for g in groups:
            iid = g.iid
            self.seen.add(iid)
            acc = self.acc.get(iid)
            if acc is None:
                if iid in self.skipped or not self.selection.keeps(self.symmap, iid):
                    self.skipped.add(iid)
                    continue
                acc = self.acc[iid] = BarAccumulator()
            acc.update(rec, g.rows, words)

    def reset(self) -> None:
        self.acc: dict[int, BarAccumulator] = {}
        self.skipped: set[int] = set()
        self.seen: set[int] = set()
        self.integrity = Integrity()

    def finish(self, source: str = "<records>") -> pa.Table:
        """One table: the bars of every kept instrument, sorted by (instrument_id, bar_start_ns), with
        `instrument_id` and `symbol` first; with front-month, only the most traded outright."""
        self.selection.check_found(self.symmap, self.seen, source)
        tables = {iid: self.acc[iid].finish() for iid in sorted(self.acc)}
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
        empty = BarAccumulator().finish()
        return with_instrument(empty, 0, [])
    return pa.concat_tables(tables) if len(tables) > 1 else tables[0]
