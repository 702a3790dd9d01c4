"""What a person means by a typed time: one reading for every time input and the API.

`now`, a relative `-7m` / `-2h` / `-1h30m`, a clock time `14:05` (today in their zone,
or yesterday when that is still to come), a local `2026-11-30 14:05`, or an ISO 8601
time with its offset. Minutes, not seconds: nobody knows an incident's seconds. The
page script `static/when.js` reads the same text the same way, to preview it.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from catalog.rules import FUTURE_SLACK
from catalog.timefmt import from_local

MAX_BACK = timedelta(days=30)
"""How far back a relative time may reach: further is a typo, or a job for a date."""

_RELATIVE = re.compile(r"-\s*(?:(\d{1,4})\s*h)?\s*(?:(\d{1,5})\s*m(?:in)?)?", re.IGNORECASE)
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")
_LOCAL = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?")

LOCAL_FORMAT = "%Y-%m-%d %H:%M"
"""How a time input shows a stored time: 24-hour, to the minute, in the reader's zone."""


def how_to_type(label: str, *, empty_is_now: bool, zone: bool = True) -> str:
    """The message for a time that means nothing: what to type instead."""
    if not zone:
        return (
            f"{label} must be absent (now), an ISO 8601 time with its offset, "
            "or relative such as -7m or -2h."
        )
    empty = "empty (now), " if empty_is_now else ""
    return (
        f"{label} must be {empty}a time such as 14:05 or 2026-11-30 14:05 in your zone, "
        "or relative such as -7m or -2h."
    )


def read_when(
    text: str | None,
    *,
    now: datetime,
    zone: ZoneInfo | None,
    label: str = "At",
    empty_is_now: bool = True,
) -> datetime | None:
    """The moment `text` means; ValueError saying what to type instead.

    `zone` is the reader's zone for a clock time or a local date and time; None (the
    API) accepts only what carries its own offset, and relative times. Empty is
    `now` when `empty_is_now`, else no time at all (None).
    """
    text = (text or "").strip()
    how = how_to_type(label, empty_is_now=empty_is_now, zone=zone is not None)
    if text == "":
        return now if empty_is_now else None
    if text.lower() == "now":
        return now
    if match := _RELATIVE.fullmatch(text):
        hours, minutes = match.groups()
        if hours is None and minutes is None:
            raise ValueError(how)
        back = timedelta(hours=int(hours or 0), minutes=int(minutes or 0))
        if back > MAX_BACK:
            raise ValueError(f"{label} can reach at most 30 days back; type the date and time.")
        return now - back
    if zone is not None and (match := _CLOCK.fullmatch(text)):
        hour, minute = int(match[1]), int(match[2])
        if hour > 23 or minute > 59:
            raise ValueError(how)
        today = now.astimezone(zone).date()
        moment = from_local(datetime.combine(today, time(hour, minute)), zone)
        if moment > now + FUTURE_SLACK:
            moment = from_local(
                datetime.combine(today - timedelta(days=1), time(hour, minute)), zone
            )
        return moment
    if zone is not None and (match := _LOCAL.fullmatch(text)):
        year, month, day, hour, minute = (int(g) for g in match.groups()[:5])
        second = int(match[6] or 0)
        try:
            naive = datetime.combine(date(year, month, day), time(hour, minute, second))
        except ValueError:
            raise ValueError(how) from None
        return from_local(naive, zone)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(how) from None
    if moment.tzinfo is None:
        raise ValueError(how)
    return moment


def show_local(value: datetime | None, zone: ZoneInfo) -> str:
    """A stored time as a time input shows it (and reads it back unchanged)."""
    return "" if value is None else value.astimezone(zone).strftime(LOCAL_FORMAT)
