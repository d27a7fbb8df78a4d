"""Every level-dependent stage, one instrument at a time: split the tables by `instrument_id`, run the
single-book stage on each part, tag its output with `instrument_id` and `symbol`, concatenate.

Books never mix: levels, touches, approach features and vectors of an instrument are computed from that
instrument's bars only (and its own bars of the previous date). Parts are in ascending instrument id, so the
output does not depend on the input's row order; touch ids of a date count across instruments in that order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from mbp10.approach import WINDOW, compute_approach, day_series
from mbp10.episodes import DenseBars, EpisodeParams, touch_episodes
from mbp10.io import np_to_arrow, strings_to_arrow
from mbp10.levels import add_level_distance, compute_levels, round_number_levels
from mbp10.vectors import compute_vectors

ID, SYMBOL = "instrument_id", "symbol"


def split(table: pa.Table | None) -> dict[int, pa.Table]:
    """instrument_id -> that instrument's rows (in their order), ascending ids; {} for None."""
    if table is None or table.num_rows == 0:
        return {}
    ids = table.column(ID).to_numpy()
    if np.all(ids[1:] >= ids[:-1]):  # sorted (every stage's output): one slice per run of an id
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        ends = np.r_[starts[1:], len(ids)]
        return {int(ids[a]): table.slice(int(a), int(b - a)) for a, b in zip(starts, ends, strict=True)}
    out = {}
    for iid in np.unique(ids):
        rows = np.flatnonzero(ids == iid)
        if rows[-1] - rows[0] + 1 == len(rows):  # contiguous: a slice
            out[int(iid)] = table.slice(int(rows[0]), len(rows))
        else:
            out[int(iid)] = table.take(pa.array(rows))
    return out


def symbol_of(bars: pa.Table) -> str | None:
    """The instrument's symbol in these bars (its last one, if it changed within them)."""
    i = bars.schema.get_field_index(SYMBOL)  # not `column_names`: a list of every name
    if i < 0 or bars.num_rows == 0:
        return None
    last = next(c for c in reversed(bars.column(i).chunks) if len(c))  # indexing a chunk, not the
    return last[len(last) - 1].as_py()  # chunked column: 1 us instead of 50


def tag(table: pa.Table, instrument_id: int, symbol: str | None) -> pa.Table:
    """`table` with `instrument_id` (uint32) and `symbol` (string) as its first two columns."""
    for name in (ID, SYMBOL):
        if table.schema.get_field_index(name) >= 0:
            table = table.drop_columns([name])
    n = table.num_rows
    table = table.add_column(0, SYMBOL, pa.repeat(pa.scalar(symbol, pa.string()), n))
    return table.add_column(0, ID, pa.array(np.full(n, instrument_id, np.uint32)))


def _concat(parts: list[pa.Table], empty: pa.Table) -> pa.Table:
    parts = [p for p in parts if p.num_rows] or [empty]
    return pa.concat_tables(parts) if len(parts) > 1 else parts[0]


def levels_all(date: dt.date, bars: pa.Table, prev_bars: pa.Table | None, prev_date: dt.date | None):
    """`compute_levels` per instrument (prior-day levels from the same instrument's previous bars)."""
    prev = split(prev_bars)
    parts = [
        tag(compute_levels(date, b, prev.get(iid), prev_date), iid, symbol_of(b))
        for iid, b in split(bars).items()
    ]
    empty = tag(compute_levels(date, bars.slice(0, 0), None, None), 0, None)
    return _concat(parts, empty)


def level_distance_all(bars: pa.Table, levels: pa.Table | None) -> pa.Table:
    """`add_level_distance` per instrument, from its own levels (round numbers only when `levels` is None)."""
    lv = split(levels)
    parts = []
    for iid, b in split(bars).items():
        if levels is None:
            prices, valid = round_number_levels(b)
        else:
            mine = lv.get(iid)
            prices = mine.column("level_price").to_numpy() if mine is not None else np.empty(0)
            valid = mine.column("valid_from_ns").to_numpy() if mine is not None else np.empty(0, np.int64)
        parts.append(add_level_distance(b, prices, valid))
    return _concat(parts, add_level_distance(bars.slice(0, 0), np.empty(0), np.empty(0, np.int64)))


def episodes_all(date_iso: str, bars: pa.Table, levels: pa.Table, p: EpisodeParams):
    """(episodes, episode bars) of every instrument in one pass (each on its own grid, from its own levels);
    touch ids of the date run on across instruments in ascending id."""
    parts = split(bars)
    ids = list(parts)
    dense = DenseBars.from_starts([b.column("bar_start_ns").to_numpy() for b in parts.values()])
    mids = [b.column("bar5s_book_mid_px_eob").to_numpy(zero_copy_only=False) for b in parts.values()]
    mid = dense.carried(np.concatenate(mids) if mids else np.empty(0))
    mine = _theirs(levels, ids)
    level_row = np.searchsorted(np.asarray(ids, np.int64), mine.column(ID).to_numpy().astype(np.int64))
    ep, win, row, win_row = touch_episodes(date_iso, dense, mid, mine, level_row, p)
    symbols = [symbol_of(b) for b in parts.values()]
    return tag_rows(ep, row, ids, symbols), tag_rows(win, win_row, ids, symbols)


def tag_rows(table: pa.Table, row: np.ndarray, ids: list[int], symbols: list[str | None]) -> pa.Table:
    """`tag` for rows of several instruments: row r of `table` belongs to instrument `ids[row[r]]`."""
    for name in (ID, SYMBOL):
        if table.schema.get_field_index(name) >= 0:
            table = table.drop_columns([name])
    table = table.add_column(0, SYMBOL, strings_to_arrow(symbols).take(np_to_arrow(row)))
    return table.add_column(0, ID, pa.array(np.asarray(ids, np.uint32)[row]))


@dataclass
class Touched:
    """The instruments of a date that have touches, ascending, and their bars' `approach.day_series` (one
    grid row each): the approach features and the vectors gather all their touches in one pass."""

    ids: list[int]
    symbols: list[str | None]
    series: tuple

    def rows(self, table: pa.Table) -> np.ndarray:
        """Each row's instrument as a row of `series` (a table of these instruments, in their order)."""
        return np.searchsorted(np.asarray(self.ids, np.int64), table.column(ID).to_numpy().astype(np.int64))


def series_all(bars: pa.Table, episodes: pa.Table) -> Touched:
    """`approach.day_series` of every instrument with touches (the approach features and the vectors both
    read them: computed once)."""
    ep = split(episodes)
    parts = {iid: b for iid, b in split(bars).items() if iid in ep}
    return Touched(list(parts), [symbol_of(b) for b in parts.values()], day_series(list(parts.values())))


def _theirs(table: pa.Table, ids: list[int]) -> pa.Table:
    """The rows of `table` whose instrument is one of `ids` (ascending), grouped by instrument in that order
    (as concatenating per-instrument parts gives them): usually `table` itself."""
    mine = table.column(ID).to_numpy()
    if np.all(mine[1:] >= mine[:-1]) and np.isin(mine, ids).all():
        return table
    parts = split(table)
    return _concat([parts[i] for i in ids if i in parts], table.slice(0, 0))


def approach_all(bars: pa.Table, episodes: pa.Table, series: Touched | None = None):
    """(approach rows, signatures) per instrument, all instruments' touches in one pass; `series`:
    `series_all`'s, when the caller has them."""
    touched = series or series_all(bars, episodes)
    ep = _theirs(episodes, touched.ids)
    row = touched.rows(ep)
    ap, sig = compute_approach(bars.slice(0, 0), ep, touched.series, row)
    return (
        tag_rows(ap, np.repeat(row, WINDOW), touched.ids, touched.symbols),
        tag_rows(sig, row, touched.ids, touched.symbols),
    )


def vectors_all(
    bars, episodes, approach, signature, reset_pts: float, series: Touched | None = None
) -> pa.Table:
    """Gold vectors per instrument (each standardised by its own instrument's day), all in one pass."""
    touched = series or series_all(bars, episodes)
    ep = _theirs(episodes, touched.ids)
    row = touched.rows(ep)
    vec = compute_vectors(
        bars.slice(0, 0),
        ep,
        _theirs(approach, touched.ids),
        _theirs(signature, touched.ids),
        reset_pts,
        touched.series,
        row,
    )
    return tag_rows(vec, row, touched.ids, touched.symbols)
