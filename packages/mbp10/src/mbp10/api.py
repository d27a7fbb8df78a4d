"""The Python API: the same stages as the command line, returning typed Arrow tables (or polars frames).

    import mbp10.api as mb
    bars = mb.bars("ES-2024-01-02.dbn.zst", symbols=["ESH4"])          # one file
    days = mb.features({date: path, ...})                              # many dates, every stage
    near = mb.neighbours(days["vectors"], touch_id, k=5)               # point in time

Tables are what the commands write (`mbp10.io.typed`: timestamp[ns, UTC] instants, date32 dates, nulls);
`polars=True` returns polars DataFrames instead. Examples: docs/mbp10.md, "Python API" (executed by a test).
"""

from __future__ import annotations

import datetime as dt
import numbers
import os
from collections.abc import Iterable, Mapping

import numpy as np
import pyarrow as pa

from mbp10.calendar import check_bars_of, previous_session
from mbp10.episodes import EpisodeParams
from mbp10.errors import Mbp10Error
from mbp10.io import plain, typed
from mbp10.schema import VECTORS_REQUIRED
from mbp10.symbology import Selection


def _out(table: pa.Table, polars: bool):
    table = typed(table)
    if polars:
        import polars as pl

        return pl.from_arrow(table)
    return table


def _whole(value, name: str) -> int:
    """`value` as an int if it is a whole number (a Python or numpy integer; not a bool, float or str)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number, not {type(value).__name__} {value!r}")
    return int(value)


def _flag(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):  # spreads="no" is truthy: it would keep the spreads
        raise TypeError(f"{name} must be True or False, not {type(value).__name__} {value!r}")
    return bool(value)


def _selection(symbols, instrument_ids, spreads, front_month) -> Selection:
    """The instrument options as the command line checks them. A single symbol or id is one instrument
    (`symbols="ESM4"`, not the letters E, S, M, 4)."""
    symbols = (symbols,) if isinstance(symbols, str) else tuple(symbols)
    for s in symbols:
        if not isinstance(s, str):
            raise TypeError(f"symbols must be strings such as 'ESH4', not {type(s).__name__} {s!r}")
    if isinstance(instrument_ids, numbers.Integral):
        instrument_ids = (instrument_ids,)
    ids = tuple(_whole(i, "an instrument id") for i in instrument_ids)
    spreads, front_month = _flag(spreads, "spreads"), _flag(front_month, "front_month")
    sel = Selection(symbols, ids, spreads, front_month)
    sel.check(spreads_given=spreads)  # contradictory options raise Mbp10Error, as on the command line
    return sel


def bars(
    path: str | os.PathLike,
    *,
    symbols: Iterable[str] = (),
    instrument_ids: Iterable[int] = (),
    spreads: bool = False,
    front_month: bool = False,
    polars: bool = False,
):
    """bar5s of one DBN or bronze file, per instrument (default: every outright), with the distance to the
    nearest round number (like `mbp10 bars` without `--levels`)."""
    from mbp10.instruments import level_distance_all
    from mbp10.pipeline import day_bars

    table, _ = day_bars(path, selection=_selection(symbols, instrument_ids, spreads, front_month))
    return _out(level_distance_all(table, None), polars)


def features(
    inputs: Mapping[dt.date, str | os.PathLike],
    *,
    params: EpisodeParams | None = None,
    symbols: Iterable[str] = (),
    instrument_ids: Iterable[int] = (),
    spreads: bool = False,
    front_month: bool = False,
    polars: bool = False,
) -> dict:
    """Every stage for many dates ({trading date: input file}), in this process, dates in order: prior-day
    levels come from the previous CME session's bars when that date is among the inputs; a file whose bars
    are not of its date's session raises `Mbp10Error` (`calendar.check_bars_of`). Returns
    {"bar5s", "levels", "episodes", "episode_bars", "approach", "approach_signature", "vectors"} -> one
    table each, all dates concatenated."""
    from mbp10.pipeline import day_bars, day_features

    if not isinstance(inputs, Mapping):
        raise TypeError(
            f"inputs must be a mapping {{trading date: file}} such as {{dt.date(2024, 1, 2): 'ES.dbn.zst'}}, "
            f"not {type(inputs).__name__}"
        )
    for date in inputs:  # a datetime is a date too, but would not match the calendar's sessions
        if isinstance(date, dt.datetime) or not isinstance(date, dt.date):
            raise TypeError(f"inputs' keys must be datetime.date, not {type(date).__name__} {date!r}")
    if not inputs:
        raise Mbp10Error("features: no inputs (give {trading date: file})")
    if params is not None and not isinstance(params, EpisodeParams):
        raise TypeError(f"params must be an mbp10.episodes.EpisodeParams, not {type(params).__name__}")
    sel = _selection(symbols, instrument_ids, spreads, front_month)
    params = params or EpisodeParams()
    raw: dict[dt.date, pa.Table] = {}
    parts: dict[str, list[pa.Table]] = {}
    for date in sorted(inputs):
        raw[date], _ = day_bars(inputs[date], selection=sel)
        if raw[date].num_rows:  # a file of another date than its key: refused, as `run` does
            check_bars_of(raw[date].column("bar_start_ns").to_numpy(), date, inputs[date])
        prev = previous_session(date)
        res = day_features(date, raw[date], raw.get(prev), prev if prev in raw else None, params)
        for name, table in res.tables().items():
            parts.setdefault(name, []).append(table)
    return {name: _out(pa.concat_tables(tables), polars) for name, tables in parts.items()}


def neighbours(
    vectors, touch_id: int, k: int = 10, as_of: dt.datetime | None = None, *, polars: bool = False
):
    """The k nearest setups to `touch_id`, point in time (`mbp10.vectors.nearest`): from earlier sessions
    by default, or decided by `as_of` (a timezone-aware datetime, not after the touch's decision time)."""
    from mbp10.vectors import nearest

    if type(vectors).__module__.startswith("pandas"):
        vectors = pa.Table.from_pandas(vectors, preserve_index=False)
    elif type(vectors).__module__.startswith("polars"):  # a frame from `features(..., polars=True)`
        vectors = vectors.to_arrow()
    if not isinstance(vectors, pa.Table):
        raise TypeError(
            f"vectors must be a pyarrow Table or a polars/pandas frame, not {type(vectors).__name__}"
        )
    missing = [c for c in VECTORS_REQUIRED if c not in vectors.column_names]
    if missing:
        raise Mbp10Error(f"vectors: missing columns {', '.join(missing[:5])} (not a setup vectors table)")
    touch_id = _whole(touch_id, "touch_id")
    as_of_ns = None
    if as_of is not None:
        if not isinstance(as_of, dt.datetime) or as_of.utcoffset() is None:
            raise TypeError(
                f"as_of must be a timezone-aware datetime (e.g. tzinfo=dt.UTC), not {type(as_of).__name__} "
                f"{as_of!r}"
            )
        as_of_ns = (as_of - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1) * 1000
    try:
        return _out(nearest(plain(vectors), touch_id, _whole(k, "k"), as_of_ns), polars)
    except KeyError:
        raise Mbp10Error(f"touch_id {touch_id} is not in the vectors ({vectors.num_rows} rows)") from None
