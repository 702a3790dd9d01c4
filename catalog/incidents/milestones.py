"""Milestones in one click: acknowledged, mitigated, recovered stamped now (or at a
corrected time), and an incident reopened with a reason.

A click is an edit of one timestamp against the version the page showed, so it
goes through `update_incident`'s rules (order of the five times, not in the
future, the version check) and the audit trail, and it leaves a timeline entry.
The time a responder types is read here, once, for the page and the API alike.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from catalog.db import utcnow
from catalog.errors import ConflictError, FieldErrors, ValidationError
from catalog.fields import Choice, Markdown, Spec, Text
from catalog.incidents import timeline
from catalog.incidents.models import Incident
from catalog.incidents.service import update_incident
from catalog.locking import check_version
from catalog.timefmt import format_local
from catalog.when import read_when

UTC_ZONE = ZoneInfo("UTC")
"""A time inside an entry's text is UTC, stated, so it reads the same for everyone."""

MILESTONES = {
    "acknowledged": ("acknowledged_at", "Acknowledged"),
    "mitigated": ("mitigated_at", "Mitigated"),
    "recovered": ("recovered_at", "Recovered"),
}
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
    if incident.recovered_at is not None and name != "recovered":
        raise ConflictError(
            f"Incident #{incident.id} is recovered; reopen it first, or edit the incident "
            "to record an earlier time."
        )
    field, label = MILESTONES[name]
    already = getattr(incident, field)
    if already is not None:
        raise ConflictError(
            f"Incident #{incident.id} is already {label.lower()} "
            f"({format_local(already, zone or UTC_ZONE)}). Edit the incident to change that time."
        )
    change: dict[str, object] = {field: when, "version": incident.version}
    also = name == "recovered" and incident.mitigated_at is None
    if also:
        change["mitigated_at"] = when
    try:
        update_incident(session, incident, change, now=now)
    except ValidationError as exc:  # the order rules name the timestamps: `at` here
        renamed = FieldErrors()
        renamed.merge(exc.fields, lambda k: "at" if k in change else k)
        raise ValidationError(renamed.fields, exc.message) from exc
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
        f"{label.lower()} {format_local(getattr(incident, field), UTC_ZONE)}"
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
