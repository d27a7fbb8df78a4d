"""Do a stage command's input files belong together (one date's bars, levels, touches, features)?

`episodes`, `approach` and `vectors` read tables that earlier commands wrote; the later stages find a
touch's bars by its grid index (`touch_bar`), not by time. Bars of one date with touches of another thus
gave other bars' values, or levels of another date "0 touches", with exit 0 (a user audit found both). These
checks refuse such a mix in one line naming both files and their dates; they read only columns the
commands read anyway.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa

from mbp10.errors import Mbp10Error
from mbp10.schema import BAR_NS

ID = "instrument_id"


def _col(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).to_numpy(zero_copy_only=False)


def _dates(table: pa.Table) -> list[str]:
    return sorted({str(x) for x in table.column("date").unique().to_pylist()})


def _span(bars: pa.Table) -> str:
    s = _col(bars, "bar_start_ns")
    if len(s) == 0:
        return "no bars"
    f = [
        dt.datetime.fromtimestamp(int(x) / 1e9, dt.UTC).strftime("%Y-%m-%d %H:%M") for x in (s.min(), s.max())
    ]
    return f"bars {f[0]}..{f[1]} UTC"


def check_levels_on_bars(levels: pa.Table, bars: pa.Table, levels_path: Path, bars_path: Path) -> str:
    """The date of `levels` (one date), checked: the bars are of that date's session and share an
    instrument with the levels. Returns the date (ISO)."""
    from mbp10.calendar import check_bars_of

    dates = _dates(levels)
    if len(dates) != 1:
        what = "no levels" if not dates else f"levels of {len(dates)} dates ({dates[0]}..{dates[-1]})"
        raise Mbp10Error(f"{levels_path}: {what}; give one date's levels (mbp10 levels)")
    date = dt.date.fromisoformat(dates[0])
    check_bars_of(_col(bars, "bar_start_ns"), date, bars_path, f" (the date of the levels in {levels_path})")
    mine, theirs = set(np.unique(_col(levels, ID)).tolist()), set(np.unique(_col(bars, ID)).tolist())
    if theirs and not mine & theirs:
        raise Mbp10Error(
            f"{levels_path}: levels of instrument_id {sorted(mine)}, but {bars_path} holds bars of "
            f"instrument_id {sorted(theirs)}"
        )
    return dates[0]


def check_touches_on_bars(episodes: pa.Table, bars: pa.Table, episodes_path: Path, bars_path: Path) -> None:
    """Each touch's grid bar (`touch_bar`: 5-s steps from its instrument's first bar) starts at its
    `touch_bar_start_ns` in these bars, within their span: the bars are those the touches were found in."""
    if episodes.num_rows == 0:
        return
    bar_ids, starts = _col(bars, ID), _col(bars, "bar_start_ns")
    ids, touch_bar, at = _col(episodes, ID), _col(episodes, "touch_bar"), _col(episodes, "touch_bar_start_ns")
    for iid in np.unique(ids).tolist():
        s = starts[bar_ids == iid]
        rows = np.flatnonzero(ids == iid)
        expect = (s[0] + touch_bar[rows] * BAR_NS) if len(s) else None
        bad = (
            rows
            if expect is None
            else rows[(expect != at[rows]) | (at[rows] > s[-1]) | (touch_bar[rows] < 0)]
        )
        if len(bad):
            tid = int(_col(episodes, "touch_id")[bad[0]])
            raise Mbp10Error(
                f"{episodes_path} (touches of {', '.join(_dates(episodes))}) was not made from {bars_path} "
                f"({_span(bars)}): touch {tid} of instrument_id {iid} is not on its bars"
            )


def check_same_touches(episodes: pa.Table, other: pa.Table, episodes_path: Path, other_path: Path) -> None:
    """`other` (approach features or signatures) holds only touches of `episodes`."""
    known = set(zip(_col(episodes, ID).tolist(), _col(episodes, "touch_id").tolist(), strict=True))
    pairs = set(zip(_col(other, ID).tolist(), _col(other, "touch_id").tolist(), strict=True))
    extra = sorted(pairs - known)
    if extra:
        dates = ", ".join(_dates(episodes)) or "no touches"
        raise Mbp10Error(
            f"{other_path} holds touches that are not in {episodes_path} (touches of {dates}), e.g. "
            f"touch {extra[0][1]} of instrument_id {extra[0][0]}: give the files of one date"
        )
