"""Reference price levels of a date: prior-day high/low/close, overnight and opening-range extremes, round numbers.

Prior-day levels use the previous session's regular hours, 09:30 to 16:00 New York or its early close (CME_Equity
calendar), or that session's whole window when its regular hours hold no bars. Each level carries `valid_from_ns`: prior-day levels and round numbers hold from the start of the day, the
overnight high/low from the RTH open (09:30 New York), the opening range from 10:00. Features never see a
level before it exists.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from mbp10.bar_columns import DIST_COLUMN
from mbp10.io import np_to_arrow
from mbp10.schema import BAR_NS

ET = ZoneInfo("America/New_York")
ROUND_STEP_PTS = 50.0
#: Round numbers span the day's first mid +- 10% (ES has not moved 10% in a session since 2020): fixed at
#: the first bar, so the set of levels never depends on prices later in the day (point in time).
ROUND_SPAN = 0.10
LEVELS_SCHEMA = pa.schema(
    [
        ("date", pa.string()),
        ("level_kind", pa.string()),
        ("level_price", pa.float64()),
        ("valid_from_ns", pa.int64()),
    ]
)


def et_ns(date: dt.date, hh: int, mm: int) -> int:
    t = dt.datetime(date.year, date.month, date.day, hh, mm, tzinfo=ET)
    return int(t.timestamp()) * 1_000_000_000


def rth_close_ns(date: dt.date) -> int:
    """16:00 New York, or the session's earlier close on an early-close day (CME_Equity calendar)."""
    from mbp10.calendar import session_window_ns

    window = session_window_ns(date)
    close = et_ns(date, 16, 0)
    return min(close, window[1]) if window is not None else close


def _session_mask(start: np.ndarray, date: dt.date) -> np.ndarray:
    """The bars of the session labelled `date` (its whole window, overnight included): prior-day levels when
    its regular hours hold no bars (Good Friday 2024 closed at 09:15 New York, before the 09:30 open). Not
    the whole file: a UTC-day file of D also holds D+1's session open (22:00-23:59 UTC). Every bar when
    `date` has no session (a weekend or holiday file: the UTC-day rule of `calendar.check_bars_of`)."""
    from mbp10.calendar import session_window_ns

    window = session_window_ns(date)
    if window is None:
        return np.ones(len(start), bool)
    return (start >= window[0]) & (start < window[1])


def day_start_ns(date: dt.date) -> int:
    return int(dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC).timestamp()) * 1_000_000_000


def _col(bars: pa.Table, name: str) -> np.ndarray:
    return bars.column(name).to_numpy(zero_copy_only=False)


def _extremes(bars: pa.Table, mask: np.ndarray) -> tuple[float, float, float] | None:
    """(high, low, last) of trade prices in the masked bars; the end-of-bar mid where there are no trades."""
    if not mask.any():
        return None
    hi, lo, last = (
        _col(bars, "bar5s_trade_high_px")[mask],
        _col(bars, "bar5s_trade_low_px")[mask],
        _col(bars, "bar5s_trade_last_px")[mask],
    )
    if np.isnan(hi).all():
        mid = _col(bars, "bar5s_book_mid_px_eob")[mask]
        if np.isnan(mid).all():
            return None
        hi = lo = last = mid
    ok = ~np.isnan(last)
    return float(np.nanmax(hi)), float(np.nanmin(lo)), float(last[ok][-1])


def compute_levels(
    date: dt.date, bars: pa.Table, prev_bars: pa.Table | None, prev_date: dt.date | None
) -> pa.Table:
    """The levels of `date` from its own bars (overnight, opening range, round-number span) and the
    previous date's bars (prior-day high/low/close, RTH bars where present, else that session's bars)."""
    rows: list[tuple[str, float, int]] = []
    d0 = day_start_ns(date)
    if prev_bars is not None and prev_bars.num_rows and prev_date is not None:
        start = _col(prev_bars, "bar_start_ns")
        rth = (start >= et_ns(prev_date, 9, 30)) & (start < rth_close_ns(prev_date))
        ext = _extremes(prev_bars, rth) or _extremes(prev_bars, _session_mask(start, prev_date))
        if ext is not None:
            rows += [("pdh", ext[0], d0), ("pdl", ext[1], d0), ("pdc", ext[2], d0)]
    if bars.num_rows:
        start = _col(bars, "bar_start_ns")
        t_open, t_or = et_ns(date, 9, 30), et_ns(date, 10, 0)
        on = _extremes(bars, start + BAR_NS <= t_open)
        if on is not None:
            rows += [("onh", on[0], t_open), ("onl", on[1], t_open)]
        orng = _extremes(bars, (start >= t_open) & (start + BAR_NS <= t_or))
        if orng is not None:
            rows += [("orh", orng[0], t_or), ("orl", orng[1], t_or)]
        rows += [("round", float(p), d0) for p in _round_prices(_col(bars, "bar5s_book_mid_px_eob"))]
    rows.sort(key=lambda r: (r[1], r[0]))
    return pa.table(
        {
            "date": [date.isoformat()] * len(rows),
            "level_kind": [r[0] for r in rows],
            "level_price": np.array([r[1] for r in rows], dtype=np.float64),
            "valid_from_ns": np.array([r[2] for r in rows], dtype=np.int64),
        },
        schema=LEVELS_SCHEMA,
    )


def _round_prices(mid: np.ndarray) -> np.ndarray:
    """Multiples of ROUND_STEP_PTS within ROUND_SPAN of the first defined mid (none without a mid)."""
    ok = np.flatnonzero(~np.isnan(mid))
    if len(ok) == 0:
        return np.empty(0)
    first = float(mid[ok[0]])
    lo = np.ceil(first * (1 - ROUND_SPAN) / ROUND_STEP_PTS) * ROUND_STEP_PTS
    prices = np.arange(lo, first * (1 + ROUND_SPAN) + 1e-9, ROUND_STEP_PTS)
    return prices[prices > 0]


def round_number_levels(bars: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Round numbers only (what `mbp10 bars` uses without a levels file): prices and valid_from (0)."""
    prices = _round_prices(_col(bars, "bar5s_book_mid_px_eob") if bars.num_rows else np.array([np.nan]))
    return prices, np.zeros(len(prices), np.int64)


def add_level_distance(bars: pa.Table, level_prices: np.ndarray, valid_from_ns: np.ndarray) -> pa.Table:
    """Append the signed distance (points) from end-of-bar mid to the nearest level valid at bar end.

    A level counts once `bar_end >= valid_from_ns` (levels that form intraday, like the opening range, do
    not leak into earlier bars). Ties go to the lower level. NaN without a mid or without a valid level,
    and wherever a NaN level is valid. The twin that compares every level with every bar, one level at a
    time, is `mbp10.reference.level_distance_reference`.
    """
    mid = bars.column("bar5s_book_mid_px_eob").to_numpy(zero_copy_only=False)
    bar_end = bars.column("bar_start_ns").to_numpy() + BAR_NS
    return bars.append_column(
        DIST_COLUMN, np_to_arrow(level_distance(mid, bar_end, level_prices, valid_from_ns))
    )


def level_distance(
    mid: np.ndarray, bar_end: np.ndarray, prices: np.ndarray, valid_from: np.ndarray
) -> np.ndarray:
    """`add_level_distance`'s values: per set of valid levels (one per distinct valid_from, a few a day),
    a binary search of each bar's mid among their sorted prices. fl(mid - level) is monotone in the level,
    so the nearest level is the one just below or just above the mid, and levels of equal distance below
    it give the same value: the lower neighbour wins ties, as "ties go to the lower level" asks."""
    prices = np.asarray(prices, np.float64)
    valid_from = np.asarray(valid_from)
    dist = np.full(len(mid), np.nan)
    finite = np.isfinite(prices)  # an infinite level is never nearer than a finite one, nor NaN
    since = np.unique(valid_from[finite])
    epoch = np.searchsorted(since, bar_end, side="right") - 1  # the valid set of each bar (-1: none yet)
    has_mid = np.isfinite(mid)  # an infinite mid is infinitely far from every level: NaN
    for k, s in enumerate(since.tolist()):
        lv = np.sort(prices[finite & (valid_from <= s)])
        at = np.flatnonzero((epoch == k) & has_mid)
        m = mid[at]
        j = np.searchsorted(lv, m, side="left")  # lv[j - 1] < m <= lv[j]
        below = m - lv[np.maximum(j - 1, 0)]
        above = m - lv[np.minimum(j, len(lv) - 1)]
        lower = (j > 0) & ((j == len(lv)) | (below <= -above))
        dist[at] = np.where(lower, below, above)
    dist[np.isinf(dist)] = np.nan  # a distance past the float range: no level is nearer than infinity
    nan_level = np.isnan(prices)
    if nan_level.any():
        dist[bar_end >= valid_from[nan_level].min()] = np.nan
    return dist
