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
