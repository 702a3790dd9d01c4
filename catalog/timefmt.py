"""Durations and local times for people; seconds and UTC for machines."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def human_duration(seconds: float | None) -> str:
    """`4m 10s`, `2h 05m`, `3d 4h` (SPEC §3); two units at most, rounded down."""
    if seconds is None:
        return "—"
    sign = "-" if seconds < 0 else ""
    total = int(abs(seconds))
    days, rem = divmod(total, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, secs = divmod(rem, 60)
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m {secs:02d}s" if secs else f"{sign}{minutes}m"
    return f"{sign}{secs}s"


def format_local(value: datetime | None, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    if value is None:
        return "—"
    return value.astimezone(zone).strftime(fmt)


def from_local(naive: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time typed in a form, in the user's zone, as aware UTC.

    In a DST gap or fold the first (earlier) reading is taken, as zoneinfo does
    with fold=0; the form shows the stored result back so the user can check it.
    """
    try:
        return naive.replace(tzinfo=zone).astimezone(UTC)
    except OverflowError:
        # Year 1 or 9999 shifted off the calendar: still aware and comparable, so the
        # 2000-01-01 / 5-minutes-ahead bounds refuse it with a message instead of a 500.
        return naive.replace(tzinfo=zone)


def iso_utc(value: datetime | None) -> str | None:
    """ISO 8601 UTC with `Z`, as the API promises."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
