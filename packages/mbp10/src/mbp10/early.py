"""Level-dependent work done while a day is still being read: the features' share of the caller's waits.

A day's features need its final bars, and every instrument trades until the file ends; but each instrument's
bar rows become final as the file is decoded (`bars.MultiBars` moves them to their `InstrumentRows`), and each
stage below needs only a prefix of them. While the caller waits for the reader thread's next block
(`io.DbnStream(idle=...)`), `EarlyFeatures.step` does one piece (~0.1-0.3 ms) of this work per instrument:

- its dense 5-s grid of carried end-of-bar mids (the episodes' grid row, `episodes.DenseBars.carried`);
- its levels (`levels.compute_levels`), as soon as its final rows pass the opening range's end (10:00 New
  York) and hold a mid: each level is fixed by then (prior-day levels by the previous session, the overnight
  and opening-range extremes by the bars before 10:00, the round numbers by the first mid);
- the distance of each final bar to its nearest valid level (`levels.level_distance`, bar by bar);
- its touches (`episodes.find_touches`), a stretch of the grid at a time, each level's hysteresis state
  (its last far or near bar and side) carried into the next stretch.

`finish()` does what is left once the last rows are final; `mbp10.instruments` then takes these pieces
instead of computing them from the whole day. Each piece equals what the stage computes from the whole day
(tests/mbp10/test_early.py): after the last block only the last rows' share remains.
"""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pyarrow as pa

from mbp10.bar_columns import FLOAT_COLUMNS
from mbp10.episodes import MAX_BARS, EpisodeParams
from mbp10.io import CORES, LOADAVG, np_to_arrow
from mbp10.levels import compute_levels, et_ns, level_distance
from mbp10.schema import BAR_NS

MID = FLOAT_COLUMNS.index("bar5s_book_mid_px_eob")
#: The float columns `compute_levels` reads.
LEVEL_COLUMNS = ("bar5s_trade_high_px", "bar5s_trade_low_px", "bar5s_trade_last_px", "bar5s_book_mid_px_eob")
#: Rows (grid, distance) or grid cells (touches) a piece of work covers while the file is read: at least
#: PIECE, at most 4 x PIECE (0.1-0.5 ms, short enough for the reader thread's read-ahead to cover).
PIECE = 2048
NONE, NEAR, FAR = 0, 1, 2
#: Seconds between two looks at the machine's load (`_quiet`, ~13 us each).
CHECK_S = 0.002


class _Instrument:
    """One instrument's early work, on its final rows (`rows`: its `bars.InstrumentRows`)."""

    def __init__(self, rows, prev: pa.Table | None) -> None:
        self.rows = rows
        self.prev = prev
        self.laid = 0  # rows laid on the grid
        self.t0 = 0  # the grid's first bar start (the instrument's first bar)
        self.cells = 0  # grid cells final
        self.mid = np.empty(0)  # carried mid per grid cell
        self.has_mid = False  # a laid row has a mid (the round numbers' first mid)
        self.levels: pa.Table | None = None  # compute_levels of the instrument, without instrument/symbol
        self.dist = np.empty(0)  # distance to the nearest level, per row
        self.measured = 0  # rows with a distance
        self.scanned = 0  # grid cells searched for touches
        self.found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (level, bar, direction) pieces

    def pieces(self, early: EarlyFeatures, final: bool):
        """Do the work the final rows allow, a piece at a time (a generator: one item a piece). While the
        file is read, only once PIECE rows or cells have come (each piece has a fixed cost of ~30-100 us);
        `final`: all that is left, in one piece each."""
        least, most = (1, 1 << 62) if final else (PIECE, 4 * PIECE)
        while self.rows.n - self.laid >= least or (self.rows.n > self.laid and self._later(least)):
            self._lay(min(self.rows.n, self.laid + most))
            yield
        if self.levels is None and self.laid and (final or self._levels_fixed(early)):
            self._set_levels(early)
            yield
        if self.levels is None:
            return
        while self.laid - self.measured >= least:
            self._measure(min(self.laid, self.measured + most))
            yield
        while self.cells - self.scanned >= least:
            self._touches(min(self.cells, self.scanned + most), early.params)
            yield

    def _later(self, cells: int) -> bool:
        """Whether the last final row is `cells` or more grid cells past those laid (an instrument with few
        rows is laid as time goes on, not only once PIECE rows have come)."""
        last = int(self.rows.bar_start[self.rows.n - 1])
        return self.laid == 0 or (last - self.t0) // BAR_NS >= self.cells + cells

    def _lay(self, b: int) -> None:
        """Rows laid..b onto the grid: the cells up to row b-1's bar carry the last mid at or before them."""
        a, rows = self.laid, self.rows
        start = rows.bar_start[a:b]
        if a == 0:
            self.t0 = int(start[0])
        g = (start - self.t0) // BAR_NS
        end = int(g[-1]) + 1
        if end > len(self.mid):
            grown = np.empty(max(end, 2 * len(self.mid), MAX_BARS + 1))  # a day's cells at once
            grown[: self.cells] = self.mid[: self.cells]
            self.mid = grown
        mid = rows.cf[MID, a:b]
        seg = np.full(end - self.cells, np.nan)
        seg[g - self.cells] = mid
        idx = np.where(np.isnan(seg), -1, np.arange(len(seg)))
        np.maximum.accumulate(idx, out=idx)
        carry = self.mid[self.cells - 1] if self.cells else np.nan
        self.mid[self.cells : end] = np.where(idx >= 0, seg[np.maximum(idx, 0)], carry)
        self.has_mid = self.has_mid or not np.isnan(mid).all()
        self.cells, self.laid = end, b

    def _levels_fixed(self, early: EarlyFeatures) -> bool:
        """Whether the final rows fix every level: they hold a mid and pass the opening range's end."""
        return self.has_mid and int(self.rows.bar_start[self.laid - 1]) >= early.t_or

    def _set_levels(self, early: EarlyFeatures) -> None:
        rows, n = self.rows, self.laid
        cols = {"bar_start_ns": np_to_arrow(rows.bar_start[:n])}
        cols.update({c: np_to_arrow(rows.cf[FLOAT_COLUMNS.index(c), :n]) for c in LEVEL_COLUMNS})
        self.use_levels(compute_levels(early.date, pa.table(cols), self.prev, early.prev_date))

    def use_levels(self, levels: pa.Table) -> None:
        """The instrument's levels (`compute_levels`), each level's state before its first cell."""
        self.levels = levels
        self.price = self.levels.column("level_price").to_numpy()
        self.valid = self.levels.column("valid_from_ns").to_numpy()
        # the first grid cell each level exists at: the first bar whose end is at or after valid_from
        self.first = np.maximum(-((self.t0 - self.valid) // BAR_NS) - 1, 0)
        self.state = np.zeros(len(self.price), np.int8)  # NONE, NEAR or FAR: the level's last such cell
        self.above = np.zeros(len(self.price), bool)  # ... and whether its mid was above the level
        self.dist = np.empty(0)

    def _measure(self, b: int) -> None:
        a, rows = self.measured, self.rows
        if b > len(self.dist):
            grown = np.empty(max(b, len(rows.bar_start), 2 * a))
            grown[:a] = self.dist[:a]
            self.dist = grown
        end = rows.bar_start[a:b] + BAR_NS
        self.dist[a:b] = level_distance(rows.cf[MID, a:b], end, self.price, self.valid)
        self.measured = b

    def _touches(self, c1: int, p: EpisodeParams) -> None:
        """`episodes.find_touches` on cells scanned..c1 of the grid, each level's state carried in: a touch
        is a near cell whose level's previous far-or-near cell (here, or as carried in) was far."""
        c0 = self.scanned
        mid = self.mid[c0:c1]
        exists = self.first < c1
        whole = exists & (self.first <= c0)
        top, bottom = np.fmax.reduce(mid), np.fmin.reduce(mid)
        # fl(mid - level) grows with mid: a level existing over the whole stretch with fl(top - level) below
        # -approach_pts or fl(bottom - level) above it has no near cell here; its last far cell (if any) is
        # on the side of all its mids: only its state changes.
        near_some = (top - self.price >= -p.approach_pts) & (bottom - self.price <= p.approach_pts)
        below = whole & ~near_some & (bottom - self.price < -p.reset_pts)
        above = whole & ~near_some & (top - self.price > p.reset_pts)
        self.state[below | above] = FAR
        self.above[below] = False
        self.above[above] = True
        look = np.flatnonzero(exists & (near_some | ~whole))
        if len(look):
            self._search(look, c0, mid, p)
        self.scanned = c1

    def _search(self, look: np.ndarray, c0: int, mid: np.ndarray, p: EpisodeParams) -> None:
        w = len(mid)
        dist = np.empty((len(look), w + 1))
        dist[:, 1:] = mid[None, :] - self.price[look, None]
        for i in np.flatnonzero(self.first[look] > c0).tolist():
            dist[i, 1 : 1 + int(self.first[look[i]]) - c0] = np.nan  # before the level exists
        absd = np.abs(dist[:, 1:])
        near = np.zeros(dist.shape, bool)
        far = np.zeros(dist.shape, bool)
        near[:, 1:] = absd <= p.approach_pts
        far[:, 1:] = absd > p.reset_pts
        # column 0: each level's state carried in, standing for its last far-or-near cell before c0
        state = self.state[look]
        near[:, 0] = state == NEAR
        far[:, 0] = state == FAR
        dist[:, 0] = np.where(self.above[look], 1.0, -1.0)
        cells = np.flatnonzero(near | far)  # row-major: by level, then cell
        if len(cells) == 0:
            return
        is_near = near.ravel()[cells]
        row = cells // (w + 1)
        same = row[1:] == row[:-1]
        after = np.flatnonzero(is_near[1:] & ~is_near[:-1] & same) + 1
        if len(after):
            prev_dist = dist.ravel()[cells[after - 1]]
            self.found.append(
                (
                    look[row[after]],
                    c0 + cells[after] % (w + 1) - 1,
                    np.where(prev_dist > 0, 1, -1).astype(np.int8),
                )
            )
        last = np.flatnonzero(np.r_[~same, True])  # each level's last far-or-near cell
        lv = look[row[last]]
        self.state[lv] = np.where(is_near[last], NEAR, FAR)
        self.above[lv] = dist.ravel()[cells[last]] > 0

    def touches(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(level, grid bar, direction) of every touch found, by level then bar (`find_touches`' order
        before its sort)."""
        if not self.found:
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int8)
        lvl, bar, direction = (np.concatenate(x) for x in zip(*self.found, strict=True))
        order = np.lexsort((bar, lvl))
        return lvl[order], bar[order], direction[order]


def _quiet() -> bool:
    """Whether no thread beyond the caller's and its reader thread's runs or waits for a core now (the
    kernel's count in /proc/loadavg; False where it cannot be read). Otherwise the work here would take its
    time from the reader thread, the day's critical path, rather than from the caller's waits."""
    try:
        with open(LOADAVG) as fh:
            running = int(fh.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return False
    return running <= CORES


class EarlyFeatures:
    """The level-dependent work of one date (`date`, its previous session's bars `prev_bars` of `prev_date`,
    episode parameters `params`) on a `bars.BarsConsumer`'s final rows: `watch(consumer)`, then `step()` in the
    caller's waits (True when there is nothing to do for now), `finish()` after the consumer's."""

    def __init__(
        self,
        date: dt.date,
        prev_bars: pa.Table | None,
        prev_date: dt.date | None,
        params: EpisodeParams,
    ) -> None:
        from mbp10.instruments import split

        self.date, self.prev_date, self.params = date, prev_date, params
        self.prev = split(prev_bars) if prev_date is not None else {}
        self.t_or = et_ns(date, 10, 0)
        self.consumer = None
        self.bars = None
        self.done = False
        self.pieces = 0  # done while the file was read
        self.checked, self.quiet = -CHECK_S, False

    def watch(self, consumer) -> None:
        self.consumer = consumer
        self._steps = self._work()

    def _work(self):
        """Pieces of work, forever: yields False after each, True when the final rows allow no more."""
        while True:
            worked = False
            for inst in self._instruments():
                for _ in inst.pieces(self, self.done):
                    worked = True
                    yield False
            if not worked:
                yield True

    def _instruments(self):
        bars = self.consumer.bars
        if bars is not self.bars:  # a new MultiBars (the file was out of order and is fed again): start over
            self.bars, self.by_index = bars, []
        for k in range(len(bars.rows)):
            if k == len(self.by_index):
                self.by_index.append(_Instrument(bars.rows[k], self.prev.get(bars.iids[k])))
            yield self.by_index[k]

    def step(self) -> bool:
        """One piece of work; True when there is none for now, or when another process wants a core."""
        now = time.monotonic()
        if now >= self.checked + CHECK_S:
            self.checked, self.quiet = now, _quiet()
        if not self.quiet:
            return True
        idle = next(self._steps)
        self.pieces += not idle
        return idle

    def finish(self) -> dict[int, _Instrument]:
        """Every instrument's work to the end of its rows (after `BarsConsumer.finish`: all are final), by
        instrument_id; {} when none was done while the file was read (no reader thread, or a busy machine):
        the stages then compute from the whole day, in one pass each, which costs less than the pieces."""
        if not self.pieces:
            return {}
        self.done = True
        while not next(self._steps):
            pass
        return {iid: inst for iid, inst in zip(self.bars.iids, self.by_index, strict=True)}
