"""Durations and local times for people; seconds and UTC for machines."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from catalog.errors import FieldErrors


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
    if value.tzinfo is not UTC:  # what the database hands back is UTC already (db.UTCDateTime)
        value = value.astimezone(UTC)
    return value.isoformat().replace("+00:00", "Z")


_EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
_LATEST = datetime(9998, 12, 31, tzinfo=UTC)


def parse_timestamp(errors: FieldErrors, field: str, value: object) -> datetime | None:
    """ISO 8601 with an offset; a naive value is refused rather than guessed.

    For every machine-written time: the API, imports, webhook deliveries.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        errors.add(field, "Must be an ISO 8601 timestamp string, e.g. 2026-03-01T12:00:00Z.")
        return None
    text = value.strip()
    if len(text) > 64:
        errors.add(field, "Timestamp is too long.")
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        errors.add(field, "Not a valid ISO 8601 timestamp, e.g. 2026-03-01T12:00:00Z.")
        return None
    if parsed.tzinfo is None:
        errors.add(field, "Timestamp needs a UTC offset or Z; naive times are ambiguous.")
        return None
    # Years 1 and 9999 overflow once shifted to UTC or to a week/month boundary.
    if not _EARLIEST <= parsed <= _LATEST:
        errors.add(field, "Timestamp is out of range (years 0001 to 9998).")
        return None
    return parsed
