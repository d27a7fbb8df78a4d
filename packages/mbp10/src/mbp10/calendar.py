"""CME Globex equity-index futures sessions (`pandas_market_calendars`' CME_Equity calendar).

A session is labelled by its trading date D and runs from the Globex open on the evening before (Sunday
evening for a Monday) to the close on D; holidays have no session, early closes end sooner (the calendar
knows both). `run` counts only missing *sessions*, prior-day levels come from the previous session, and
`levels` refuses a date whose session has no bars.
"""

from __future__ import annotations

import datetime as dt
import functools

CALENDAR = "CME_Equity"


@functools.cache
def _calendar():
    import pandas_market_calendars as mcal  # imports pandas (~1 s): only when a calendar is needed

    return mcal.get_calendar(CALENDAR)


@functools.cache
def _year(year: int) -> dict[dt.date, tuple[int, int]]:
    """Trading date -> (open, close) in UTC ns for every session labelled in `year` (one schedule a year)."""
    sched = _calendar().schedule(f"{year}-01-01", f"{year}-12-31")
    pairs = zip(sched.index, sched["market_open"], sched["market_close"], strict=True)
    return {ts.date(): (int(o.value), int(c.value)) for ts, o, c in pairs}  # Timestamp.value: UTC ns


def sessions(first: dt.date, last: dt.date) -> list[dt.date]:
    """Trading dates of the sessions labelled first..last (inclusive)."""
    out = []
    for year in range(first.year, last.year + 1):
        out += [d for d in _year(year) if first <= d <= last]
    return out


def session_window_ns(date: dt.date) -> tuple[int, int] | None:
    """[open, close) of the session labelled `date` in UTC ns, or None when there is no session."""
    return _year(date.year).get(date)


def previous_session(date: dt.date) -> dt.date | None:
    """The trading date of the session before `date`'s (skipping weekends and holidays)."""
    days = sessions(date - dt.timedelta(days=14), date - dt.timedelta(days=1))
    return days[-1] if days else None


#: Dates the pipeline handles: DBN stamps are unsigned ns since 1970, and the calendar (pandas) stops in 2262.
FIRST_DATE = dt.date(1970, 1, 1)
LAST_DATE = dt.date(2261, 12, 31)
DAY_NS = 86_400 * 1_000_000_000


def check_supported(date: dt.date, what: str) -> None:
    """Refuse a date outside FIRST_DATE..LAST_DATE in one line (instead of an overflow deep inside)."""
    from mbp10.errors import Mbp10Error

    if not FIRST_DATE <= date <= LAST_DATE:
        raise Mbp10Error(f"{what} {date}: outside the supported dates {FIRST_DATE}..{LAST_DATE}")


def _utc(ns) -> str:
    return dt.datetime.fromtimestamp(int(ns) / 1e9, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _utc_day(ns: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(ns) // DAY_NS)


def session_counts(starts) -> dict[dt.date, int]:
    """Bars (their `bar_start_ns`) in each session that holds any of them."""
    import numpy as np

    s = np.sort(np.asarray(starts, np.int64))
    if len(s) == 0:
        return {}
    first = max(_utc_day(s[0]), FIRST_DATE)
    last = min(_utc_day(s[-1]) + dt.timedelta(days=1), LAST_DATE)
    out = {}
    for d in sessions(first, last) if first <= last else []:
        lo, hi = session_window_ns(d)
        n = int(np.searchsorted(s, hi, "left") - np.searchsorted(s, lo, "left"))
        if n:
            out[d] = n
    return out


def check_bars_of(starts, date: dt.date, path, what: str = "") -> None:
    """Refuse bars (their `bar_start_ns`) that are not of the session labelled `date`: that session must
    hold some of them and at least as many as any other session (a UTC-day file of D also holds the first
    hour or two of D+1's session; D-1's file holds mostly D-1's). A date without a session (a weekend or
    holiday) needs bars in its UTC day. `what`, e.g. " (the session before --date 2024-01-03)", is added
    to the one-line message, which names the file, the sessions it holds and the one expected."""
    import numpy as np

    from mbp10.errors import Mbp10Error

    starts = np.asarray(starts, np.int64)
    if len(starts) == 0:
        raise Mbp10Error(f"{path}: no bars, expected the {date} session{what}")
    span = f"bars span {_utc(starts.min())}..{_utc(starts.max())}"
    window = session_window_ns(date)
    if window is None:
        lo = (date - dt.date(1970, 1, 1)).days * DAY_NS
        if not np.any((starts >= lo) & (starts < lo + DAY_NS)):
            raise Mbp10Error(f"{path}: no bars in the {date} day (not a CME trading session){what}; {span}")
        return
    counts = session_counts(starts)
    mine = counts.get(date, 0)
    if mine == 0 or mine < max(counts.values()):
        held = ", ".join(f"{d} ({n} bars)" for d, n in sorted(counts.items())) or "no CME session"
        head = f"no bars in the {date} session" if mine == 0 else f"not a file of the {date} session"
        raise Mbp10Error(f"{path}: {head}{what}; {span}; sessions held: {held}")
