"""bar5s orchestration: feed record chunks through the kernel and assemble the silver table."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from mbp10.bar_columns import DIST_COLUMN, FLOAT_COLUMNS, INT_COLUMNS
from mbp10.io import np_to_arrow
from mbp10.kernels import bar5s_chunk, bar5s_finish, new_output, new_state
from mbp10.records import record_words
from mbp10.schema import BAR_NS

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

    def update(self, rec: np.ndarray) -> None:
        """Fold a contiguous block of ts-sorted MBP10_DTYPE records (e.g. a view of the decode buffer)."""
        if len(rec) == 0:
            return
        w64, w32, b8 = record_words(rec)
        self._ensure(int(w64[0, 1]), int(w64[-1, 1]))
        bar5s_chunk(w64, w32, b8, *self.state, self.bar_start, self.oi, self.of)
        self.records += len(rec)

    def finish(self) -> pa.Table:
        st, lb, _, _, _ = self.state
        n = bar5s_finish(st, lb, self.oi, self.of)
        cols = {"bar_start_ns": np_to_arrow(self.bar_start[:n])}
        for j, name in enumerate(INT_COLUMNS):
            cols[name] = np_to_arrow(self.oi[:n, j])
        for j, name in enumerate(FLOAT_COLUMNS):
            cols[name] = np_to_arrow(self.of[:n, j])
        return pa.table(cols)


def compute_bars(rec: np.ndarray) -> pa.Table:
    """bar5s of ts-sorted MBP10_DTYPE records in memory (without the level-distance column)."""
    acc = BarAccumulator()
    acc.update(rec)
    return acc.finish()


def warm_up() -> None:
    """Compile the bar5s kernels, or load them from Numba's cache, on a two-record block: a command times
    this as its own stage, so a first run's compile time stays out of its records rate."""
    from mbp10.schema import MBP10_DTYPE

    rec = np.zeros(2, MBP10_DTYPE)
    rec["ts_event"] = [BAR_NS, BAR_NS + 1]
    compute_bars(rec)


def add_level_distance(bars: pa.Table, level_prices: np.ndarray, valid_from_ns: np.ndarray) -> pa.Table:
    """Append the signed distance (points) from end-of-bar mid to the nearest level valid at bar end.

    A level counts once `bar_end >= valid_from_ns` (levels that form intraday, like the opening range, do
    not leak into earlier bars). Ties go to the lower level. NaN without a mid or without a valid level.
    """
    mid = bars.column("bar5s_book_mid_px_eob").to_numpy(zero_copy_only=False)
    bar_end = bars.column("bar_start_ns").to_numpy() + BAR_NS
    dist = np.full(len(mid), np.nan)
    if len(level_prices):
        order = np.lexsort((valid_from_ns, level_prices))
        lv, vf = np.asarray(level_prices, np.float64)[order], np.asarray(valid_from_ns)[order]
        delta = mid[:, None] - lv[None, :]  # bars x levels (a day has ~17k bars and tens of levels)
        valid = bar_end[:, None] >= vf[None, :]
        absd = np.where(valid, np.abs(delta), np.inf)
        best = np.argmin(absd, axis=1)
        ok = np.isfinite(absd[np.arange(len(mid)), best]) & ~np.isnan(mid)
        dist[ok] = delta[np.arange(len(mid)), best][ok]
    return bars.append_column(DIST_COLUMN, np_to_arrow(dist))


class BarsConsumer:
    """`scan_dbn` consumer computing bar5s from record blocks."""

    def __init__(self) -> None:
        self.acc = BarAccumulator()

    def update(self, rec: np.ndarray) -> None:
        self.acc.update(rec)

    def reset(self) -> None:
        self.acc = BarAccumulator()

    def finish(self) -> pa.Table:
        return self.acc.finish()
