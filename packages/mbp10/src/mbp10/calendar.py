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
def _schedule(first: dt.date, last: dt.date):
    return _calendar().schedule(first.isoformat(), last.isoformat())


def sessions(first: dt.date, last: dt.date) -> list[dt.date]:
    """Trading dates of the sessions labelled first..last (inclusive)."""
    return [ts.date() for ts in _schedule(first, last).index]


def session_window_ns(date: dt.date) -> tuple[int, int] | None:
    """[open, close) of the session labelled `date` in UTC ns, or None when there is no session."""
    sched = _schedule(date - dt.timedelta(days=7), date + dt.timedelta(days=7))
    rows = sched[sched.index.date == date]
    if rows.empty:
        return None
    return int(rows["market_open"].iloc[0].value), int(rows["market_close"].iloc[0].value)


def previous_session(date: dt.date) -> dt.date | None:
    """The trading date of the session before `date`'s (skipping weekends and holidays)."""
    days = sessions(date - dt.timedelta(days=14), date - dt.timedelta(days=1))
    return days[-1] if days else None
