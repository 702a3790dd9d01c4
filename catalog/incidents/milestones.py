"""Milestones in one click: acknowledged, mitigated, recovered stamped now (or at a
corrected time), and an incident reopened with a reason.

A click is an edit of one timestamp against the version the page showed, so it
goes through `update_incident`'s rules (order of the five times, not in the
future, the version check) and the audit trail, and it leaves a timeline entry.
The time a responder types is read here, once, for the page and the API alike.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from catalog.db import utcnow
from catalog.errors import ConflictError, FieldErrors, ValidationError
from catalog.fields import Choice, Markdown, Spec, Text
from catalog.incidents import timeline
from catalog.incidents.models import Incident
from catalog.incidents.service import update_incident
from catalog.locking import check_version
from catalog.rules import FUTURE_SLACK
from catalog.timefmt import format_local

MILESTONES = {
    "acknowledged": ("acknowledged_at", "Acknowledged"),
    "mitigated": ("mitigated_at", "Mitigated"),
    "recovered": ("recovered_at", "Recovered"),
}
MAX_BACK = timedelta(days=30)
"""How far back a relative time may reach: further is a typo, or an edit of the record."""

MILESTONE = Choice(
    name="milestone",
    label="Milestone",
    required=True,
    choices=tuple((name, label) for name, (_field, label) in MILESTONES.items()),
)
AT = Text(
    name="at",
    label="At",
    max_length=40,
    help="Empty for now; a time such as 14:05 or 2026-11-30 14:05 in your zone, "
    "or relative: -7m, -2h, -1h30m.",
    api_help="Empty or absent for the server's time now; an ISO 8601 time with its offset, "
    "or relative to now: `-7m`, `-2h`, `-1h30m` (at most 30 days back).",
    placeholder="now",
)
STAMP = Spec("milestone", (MILESTONE, AT))
REOPEN = Spec(
    "reopen",
    (
        Markdown(
            name="reason",
            label="Reason",
            required=True,
            max_length=2000,
            rows=2,
            help="Why the incident is open again: what came back.",
        ),
    ),
)

_RELATIVE = re.compile(r"-\s*(?:(\d{1,4})\s*h)?\s*(?:(\d{1,5})\s*m(?:in)?)?", re.IGNORECASE)
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")
_LOCAL = re.compile(r"(\d{4}-\d{2}-\d{2})[ T](\d{1,2}):(\d{2})")


def read_when(text: str | None, *, now: datetime, zone: ZoneInfo | None) -> datetime:
    """The moment a responder means by `text`; ValueError with what to type instead.

    `zone` is the reader's zone for a clock time (14:05) or a local date and time;
    None (the API) accepts only what carries its own offset, and relative times.
    A bare clock time later than now (plus the usual 5 minutes' slack) means
    yesterday: at 00:10, "23:55" is five-and-a-quarter minutes ago.
    """
    text = (text or "").strip()
    if text in ("", "now"):
        return now
    if match := _RELATIVE.fullmatch(text):
        hours, minutes = match.groups()
        if hours is None and minutes is None:
            raise ValueError(_HOW)
        back = timedelta(hours=int(hours or 0), minutes=int(minutes or 0))
        if back > MAX_BACK:
            raise ValueError(
                "At can reach at most 30 days back; edit the incident for older times."
            )
        return now - back
    if zone is not None and (match := _CLOCK.fullmatch(text)):
        hour, minute = int(match[1]), int(match[2])
        if hour > 23 or minute > 59:
            raise ValueError(_HOW)
        today = now.astimezone(zone).date()
        moment = datetime.combine(today, time(hour, minute), tzinfo=zone)
        if moment > now + FUTURE_SLACK:
            moment = datetime.combine(today - timedelta(days=1), time(hour, minute), tzinfo=zone)
        return moment.astimezone(now.tzinfo)
    if zone is not None and (match := _LOCAL.fullmatch(text)):
        try:
            moment = datetime.fromisoformat(f"{match[1]}T{int(match[2]):02d}:{match[3]}")
        except ValueError:
            raise ValueError(_HOW) from None
        return moment.replace(tzinfo=zone).astimezone(now.tzinfo)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(_HOW if zone is not None else _HOW_API) from None
    if moment.tzinfo is None:
        raise ValueError(_HOW if zone is not None else _HOW_API)
    return moment


_HOW = (
    "At must be empty (now), a time such as 14:05 or 2026-11-30 14:05 in your zone, "
    "or relative such as -7m or -2h."
)
_HOW_API = (
    "At must be absent (now), an ISO 8601 time with its offset, or relative such as -7m or -2h."
)


def stamp(
    session: Session,
    incident: Incident,
    data: dict[str, object],
    *,
    zone: ZoneInfo | None,
    now: datetime | None = None,
) -> Incident:
    """Stamp one milestone; refused, with the field named, when it is already set or out of order.

    Recovering an incident that was never marked mitigated marks it mitigated at
    the same time: recovery contains the impact too.
    """
    now = now or utcnow()
    errors = FieldErrors()
    clean = STAMP.check(errors, data, now=now)
    when = None
    if not errors.has("at"):
        try:
            when = read_when(clean.get("at"), now=now, zone=zone)
        except ValueError as exc:
            errors.add("at", str(exc))
    errors.raise_if_any()
    check_version(incident, data.get("version"), noun="incident")
    name = clean["milestone"]
    field, label = MILESTONES[name]
    already = getattr(incident, field)
    if already is not None:
        raise ConflictError(
            f"Incident #{incident.id} is already {label.lower()} "
            f"({format_local(already, zone or ZoneInfo('UTC'))}). Edit the incident to change that time."
        )
    change: dict[str, object] = {field: when, "version": incident.version}
    also = name == "recovered" and incident.mitigated_at is None
    if also:
        change["mitigated_at"] = when
    try:
        update_incident(session, incident, change, now=now)
    except ValidationError as exc:  # the order rules name the timestamp: it is `at` here
        raise ValidationError(
            {("at" if k in change else k): v for k, v in exc.fields.items()}, exc.message
        ) from exc
    body = f"**{label}**" + (" (and mitigated)" if also else "") + "."
    if clean.get("at") not in (None, "", "now"):
        body += f" Time entered as “{clean['at']}”."
    timeline.record(session, incident, "milestone", body, at=when)
    session.flush()
    return incident


def reopen(
    session: Session, incident: Incident, data: dict[str, object], *, now: datetime | None = None
) -> Incident:
    """Open a mitigated or recovered incident again; the reason goes on its timeline,
    with the times it clears, so nothing of the first recovery is lost."""
    now = now or utcnow()
    errors = FieldErrors()
    clean = REOPEN.check(errors, data, now=now)
    errors.raise_if_any()
    check_version(incident, data.get("version"), noun="incident")
    if incident.mitigated_at is None and incident.recovered_at is None:
        raise ConflictError(f"Incident #{incident.id} is still open; there is nothing to reopen.")
    cleared = [
        f"{label.lower()} {timeline_time(getattr(incident, field))}"
        for field, label in (MILESTONES["mitigated"], MILESTONES["recovered"])
        if getattr(incident, field) is not None
    ]
    update_incident(
        session,
        incident,
        {"mitigated_at": None, "recovered_at": None, "version": incident.version},
        now=now,
    )
    body = f"**Reopened.** {clean['reason'].strip()}\n\nIt had been {' and '.join(cleared)}."
    timeline.record(session, incident, "reopened", body, at=now)
    session.flush()
    return incident


def timeline_time(value: datetime) -> str:
    """A time inside an entry's text: UTC, stated, so it reads the same for everyone."""
    return value.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M UTC")
