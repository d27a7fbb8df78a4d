"""Level episodes: touches of a level with hysteresis, their windows and outcomes -- vectorised masks.

The bars are laid on a dense 5-second grid (empty bars carry the last mid forward). For every level at
once (a levels x bars matrix) a bar is *far* when |mid - level| > reset_pts and *near* when
|mid - level| <= approach_pts; a touch begins at a near bar whose last non-neutral bar before it was far.
The outcome looks `horizon` bars ahead on the approach-signed distance: *break* when price gets
`break_pts` through the level first, *bounce* when it gets `bounce_pts` back on the approach side first,
*chop* otherwise.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from itertools import pairwise

import numpy as np
import pyarrow as pa

from mbp10.io import np_to_arrow
from mbp10.schema import BAR_NS

#: Longest horizon or window, in 5-s bars: one day. Longer ones are refused before any allocation (the
#: window arrays are touches x bars).
MAX_BARS = 86_400 * 1_000_000_000 // BAR_NS


@dataclass(frozen=True)
class EpisodeParams:
    approach_pts: float = 1.0
    reset_pts: float = 4.0
    break_pts: float = 2.0
    bounce_pts: float = 4.0
    horizon_bars: int = 120
    window_before: int = 36
    window_after: int = 36

    def __post_init__(self) -> None:
        from mbp10.errors import Mbp10Error

        for name in self.__dataclass_fields__:  # numpy numbers (np.arange, a parameter grid) as Python ones
            value = getattr(self, name)
            if isinstance(value, np.integer):
                object.__setattr__(self, name, int(value))
            elif isinstance(value, np.floating):
                object.__setattr__(self, name, float(value))
        for name in ("approach_pts", "reset_pts", "break_pts", "bounce_pts"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise Mbp10Error(
                    f"episode parameter {name}={value!r}: must be a positive, finite number of points"
                )
        if self.reset_pts < self.approach_pts:
            raise Mbp10Error(
                f"episode parameters reset_pts={self.reset_pts!r} < approach_pts={self.approach_pts!r}: "
                "a touch resets only once price is farther than it approached"
            )
        for name, low in (("horizon_bars", 1), ("window_before", 0), ("window_after", 0)):
            value = getattr(self, name)
            if not (isinstance(value, int) and low <= value <= MAX_BARS):
                raise Mbp10Error(
                    f"episode parameter {name}={value!r}: must be a whole number of 5-s bars "
                    f"in {low}..{MAX_BARS} (one day)"
                )

    def to_dict(self) -> dict:
        return asdict(self)


OUTCOMES = ("break", "bounce", "chop")


@dataclass
class DenseBars:
    """Bars on dense 5-s grids, one row per instrument: row i is instrument i's day from its first bar
    (`t0_ns[i]`), `n[i]` grid bars long (empty bars included), padded to the longest day (`width`). Several
    instruments' grids side by side let a stage work on all of them in one pass of array operations; the
    cells of a row up to its `n` are exactly those of that instrument's bars alone."""

    t0_ns: np.ndarray  # int64[k]
    n: np.ndarray  # int64[k]
    cell: (
        np.ndarray
    )  # int64: each bar row's flat index in the k x width grid (the instruments' rows in order)

    @classmethod
    def from_starts(cls, starts: list[np.ndarray]) -> DenseBars:
        """From each instrument's `bar_start_ns` (ascending, as the bar tables hold them)."""
        t = [(s - s[0]) // BAR_NS if len(s) else np.empty(0, np.int64) for s in starts]
        n = np.array([int(x[-1]) + 1 if len(x) else 0 for x in t], np.int64)
        width = int(n.max()) if len(n) else 0
        cell = np.concatenate([i * width + x for i, x in enumerate(t)]) if t else np.empty(0, np.int64)
        t0 = np.array([int(s[0]) if len(s) else 0 for s in starts], np.int64)
        return cls(t0, n, cell)

    @classmethod
    def from_bars(cls, bars: pa.Table) -> DenseBars:
        """One instrument's bars: a single row."""
        return cls.from_starts([bars.column("bar_start_ns").to_numpy()])

    @property
    def width(self) -> int:
        return int(self.n.max()) if len(self.n) else 0

    def start_ns(self) -> np.ndarray:
        return self.t0_ns[:, None] + np.arange(self.width, dtype=np.int64)[None, :] * BAR_NS

    def zero_filled(self, values: np.ndarray, dtype=np.float64) -> np.ndarray:
        """`values` (one per bar row) on the grids, 0 in empty bars."""
        out = np.zeros(len(self.n) * self.width, dtype)
        out[self.cell] = values
        return out.reshape(len(self.n), self.width)

    def row_of_cell(self) -> np.ndarray:
        """Each grid cell's bar row (the instruments' rows in order; -1 in empty bars and padding)."""
        out = np.full(len(self.n) * self.width, -1, np.int64)
        out[self.cell] = np.arange(len(self.cell))
        return out.reshape(len(self.n), self.width)

    def has_records(self) -> np.ndarray:
        """1.0 where a grid bar has a bar row, else 0.0."""
        return self.zero_filled(np.ones(len(self.cell)))

    def carried(self, values: np.ndarray) -> np.ndarray:
        """Last non-NaN value at or before each grid bar, per row (NaN before the row's first)."""
        v = np.full(len(self.n) * self.width, np.nan)
        v[self.cell] = values
        # flat positions: a row's running maximum never reaches another row's (earlier rows' are lower)
        idx = np.where(np.isnan(v), -1, np.arange(len(v))).reshape(len(self.n), self.width)
        idx = np.maximum.accumulate(idx, axis=1) if idx.size else idx
        return np.where(idx >= 0, v[np.maximum(idx, 0)], np.nan)


EPISODE_SCHEMA = pa.schema(
    [
        ("touch_id", pa.int64()),
        ("date", pa.string()),
        ("level_kind", pa.string()),
        ("level_price", pa.float64()),
        ("direction", pa.int8()),
        ("touch_bar", pa.int64()),
        ("touch_bar_start_ns", pa.int64()),
        ("window_start_ns", pa.int64()),
        ("window_end_ns", pa.int64()),
        ("outcome", pa.string()),
        ("outcome_bars", pa.int32()),
        ("decision_ns", pa.int64()),
        ("outcome_known_ns", pa.int64()),
    ]
)


def touch_id_base(date_iso: str) -> int:
    """touch_id = yyyymmdd * 100000 + the touch's index within the date (deterministic, worker-free)."""
    return int(date_iso.replace("-", "")) * 100_000


def find_touches(
    mid: np.ndarray,
    bar_end_ns: np.ndarray,
    levels: pa.Table,
    p: EpisodeParams,
    level_row: np.ndarray | None = None,
    n: np.ndarray | None = None,
):
    """(level index, grid bar, direction) of every touch, sorted by (instrument, bar, level price, level kind).

    `mid` and `bar_end_ns` (ascending) are one grid, or one row per instrument (`DenseBars`: row i `n[i]`
    bars long) with `level_row` each level's row. Per level, each grid bar is far (|mid - level| >
    reset_pts), near (<= approach_pts) or neither (also before the level exists and without a mid); a touch
    is a near bar whose previous far-or-near bar of the same level was far, coming from that bar's side. On
    the levels x bars matrix, but only its far and near cells are walked: in row-major order, consecutive
    ones of one row are a level's sequence. Levels that no mid of their day comes near are left out of the
    matrix first: they have no touch, and most round numbers are such.
    """
    price = levels.column("level_price").to_numpy()
    valid_from = levels.column("valid_from_ns").to_numpy()
    mid, bar_end_ns = np.atleast_2d(mid), np.atleast_2d(bar_end_ns)
    width = mid.shape[1]
    n = np.full(len(mid), width) if n is None else n
    level_row = np.zeros(len(price), np.int64) if level_row is None else level_row
    none = np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int8)
    if len(price) == 0 or width == 0:
        return none
    first = np.empty(len(price), np.int64)  # the first bar each level exists at (its bar end >= valid_from)
    for r in np.unique(level_row):
        mine = level_row == r
        first[mine] = np.searchsorted(bar_end_ns[r, : n[r]], valid_from[mine])
    # The highest and lowest mid from each level's first bar on (NaN-free): fl(mid - level) grows with mid,
    # so a level with fl(highest - level) < -approach_pts or fl(lowest - level) > approach_pts has no near
    # bar. Reduced once a stretch between the rows' distinct first bars, then from each stretch on.
    exists = np.flatnonzero(first < n[level_row])
    cell = level_row[exists] * width + first[exists]
    start = np.unique(np.r_[np.arange(len(mid)) * width, cell])  # no stretch crosses a row
    top, bottom = np.fmax.reduceat(mid.ravel(), start), np.fmin.reduceat(mid.ravel(), start)
    for a, b in pairwise(np.searchsorted(start, np.arange(len(mid) + 1) * width).tolist()):
        top[a:b] = np.fmax.accumulate(top[a:b][::-1])[::-1]
        bottom[a:b] = np.fmin.accumulate(bottom[a:b][::-1])[::-1]
    at = np.searchsorted(start, cell)
    near_some = (top[at] - price[exists] >= -p.approach_pts) & (bottom[at] - price[exists] <= p.approach_pts)
    keep = exists[near_some]
    if len(keep) == 0:
        return none
    dist = mid[level_row[keep]] - price[keep, None]  # kept levels x bars (NaN where there is no mid)
    for i, (a, b) in enumerate(zip(first[keep].tolist(), n[level_row[keep]].tolist(), strict=True)):
        dist[i, :a] = np.nan  # before the level exists
        dist[i, b:] = np.nan  # past the end of its instrument's grid
    absd = np.abs(dist)
    near = absd <= p.approach_pts  # NaN compares False: no mid (or no level yet), neither near nor far
    far = absd > p.reset_pts
    cells = np.flatnonzero(near | far)  # row-major: by level, then bar
    is_near = near.ravel()[cells]
    row = cells // width
    after = np.flatnonzero(is_near[1:] & ~is_near[:-1] & (row[1:] == row[:-1])) + 1
    lvl, bar = keep[row[after]], cells[after] % width
    prev_dist = dist.ravel()[cells[after - 1]]
    direction = np.where(prev_dist > 0, 1, -1).astype(np.int8)  # +1: came down from above
    kinds = np.asarray(levels.column("level_kind").to_pylist(), dtype=object)
    order = np.lexsort((kinds[lvl].astype(str), price[lvl], bar, level_row[lvl]))
    return lvl[order], bar[order], direction[order]


def outcomes(signed: np.ndarray, p: EpisodeParams) -> tuple[np.ndarray, np.ndarray]:
    """Outcome code (0 break, 1 bounce, 2 chop) and bars to it (-1 for chop) from approach-signed
    distances of the horizon bars (touches x horizon, NaN past the end of the day)."""
    brk = signed <= -p.break_pts
    bnc = signed >= p.bounce_pts
    h = signed.shape[1]
    first_brk = np.where(brk.any(axis=1), brk.argmax(axis=1), h)
    first_bnc = np.where(bnc.any(axis=1), bnc.argmax(axis=1), h)
    code = np.where((first_brk < first_bnc), 0, np.where(first_bnc < first_brk, 1, 2))
    bars_to = np.where(code == 0, first_brk + 1, np.where(code == 1, first_bnc + 1, -1))
    return code.astype(np.int8), bars_to.astype(np.int32)


def gather_rows(series: np.ndarray, n: np.ndarray, row: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """series[row, idx] (`series`: one grid row per instrument, row i `n[i]` bars long) with NaN where idx
    falls outside its row's grid; `row` broadcasts against `idx`."""
    ok = (idx >= 0) & (idx < n[row])
    if series.size == 0:
        return np.full(ok.shape, np.nan)
    return np.where(ok, series[row, np.clip(idx, 0, series.shape[1] - 1)], np.nan)


def compute_episodes(date_iso: str, bars: pa.Table, levels: pa.Table, p: EpisodeParams):
    """(episodes table, episode-bars table) of one date and one instrument."""
    dense = DenseBars.from_bars(bars)
    mid = dense.carried(bars.column("bar5s_book_mid_px_eob").to_numpy(zero_copy_only=False))
    episodes, windows, _, _ = touch_episodes(
        date_iso, dense, mid, levels, np.zeros(levels.num_rows, np.int64), p
    )
    return episodes, windows


def touch_episodes(
    date_iso: str,
    dense: DenseBars,
    mid: np.ndarray,
    levels: pa.Table,
    level_row: np.ndarray,
    p: EpisodeParams,
):
    """(episodes, episode bars, each episode's row in `dense`, each episode bar's) of one date, every
    instrument of `dense` at once: `mid` its carried mids, `level_row` each level's row. Touches are
    numbered in (instrument, bar, level price, level kind) order."""
    start = dense.start_ns()
    lvl, bar, direction = find_touches(mid, start + BAR_NS, levels, p, level_row, dense.n)
    n = len(lvl)
    row = level_row[lvl]
    price = levels.column("level_price").to_numpy()[lvl] if n else np.empty(0)
    ahead = bar[:, None] + 1 + np.arange(p.horizon_bars)[None, :]
    signed = (gather_rows(mid, dense.n, row[:, None], ahead) - price[:, None]) * direction[:, None]
    code, bars_to = outcomes(signed, p)
    touch_ids = touch_id_base(date_iso) + np.arange(n, dtype=np.int64)
    t0 = dense.t0_ns[row]
    decision = (t0 + bar * BAR_NS + BAR_NS) if n else np.empty(0, np.int64)
    episodes = pa.table(
        {
            "touch_id": touch_ids,
            "date": [date_iso] * n,
            "level_kind": levels.column("level_kind").take(np_to_arrow(lvl)),
            "level_price": price,
            "direction": direction,
            "touch_bar": bar.astype(np.int64),
            "touch_bar_start_ns": (t0 + bar * BAR_NS) if n else np.empty(0, np.int64),
            "window_start_ns": t0 + (bar - p.window_before) * BAR_NS,
            "window_end_ns": t0 + (bar + p.window_after) * BAR_NS,
            "outcome": [OUTCOMES[c] for c in code],
            "outcome_bars": bars_to,
            # Point in time: the touch is known when its bar ends; its outcome once the break/bounce bar
            # ends, a chop once the whole horizon has passed.
            "decision_ns": decision,
            "outcome_known_ns": decision
            + np.where(bars_to > 0, bars_to, p.horizon_bars).astype(np.int64) * BAR_NS,
        },
        schema=EPISODE_SCHEMA,
    )
    rel = np.arange(-p.window_before, p.window_after + 1)
    idx = bar[:, None] + rel[None, :]
    dist = (gather_rows(mid, dense.n, row[:, None], idx) - price[:, None]) * direction[:, None]
    inside = ((idx >= 0) & (idx < dense.n[row][:, None])).ravel()
    windows = pa.table(
        {
            "touch_id": np.repeat(touch_ids, len(rel))[inside],
            "rel_bar": np.tile(rel, n).astype(np.int32)[inside],
            "bar_start_ns": (t0[:, None] + idx * BAR_NS).ravel()[inside],
            "has_records": (gather_rows(dense.has_records(), dense.n, row[:, None], idx) > 0).ravel()[inside],
            "dist_pts": dist.ravel()[inside],
        }
    )
    return episodes, windows, row, np.repeat(row, len(rel))[inside]
