"""An incident's timeline: what happened, when, said by whom (SPEC issue 12).

Entries come from people (a note, a milestone click, a change of severity or
vectors) and from other systems (an Alertmanager delivery, a Statuspage update
on import), each at its own time. Every surface records them through these
functions, so an entry says the same wherever it was made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.db import utcnow
from catalog.errors import FieldErrors
from catalog.fields import Markdown, Spec
from catalog.incidents.models import UPDATE_SOURCES, Incident, IncidentUpdate

NOTE_MAX = 20_000
"""A note is an update during an incident, not a report: the post-mortem holds the long prose."""

NOTE = Spec(
    "note",
    (
        Markdown(
            name="body",
            label="Note",
            required=True,
            max_length=NOTE_MAX,
            rows=3,
            help="Markdown. What you saw, tried or decided; it is stamped with the time now.",
        ),
    ),
)

KIND_LABELS = {
    "note": "Note",
    "milestone": "Milestone",
    "reopened": "Reopened",
    "severity": "Severity",
    "vectors": "Vectors",
    "status": "Status",
    "roles": "Roles",
}


def author(session: Session) -> tuple[int | None, str, str]:
    """Who is writing in this session: (user id, label, source).

    The request sets `info["actor"]` (a signed-in user or a token's user) and
    `info["source"]` ("web" or "api"); the CLI sets the label "cli".
    """
    actor = session.info.get("actor")
    source = str(session.info.get("source") or "")
    if actor is not None:
        return actor.id, actor.email, source if source in UPDATE_SOURCES else "web"
    label = str(session.info.get("actor_label") or "system")
    return None, label, source if source in UPDATE_SOURCES else "cli"


def record(
    session: Session,
    incident: Incident,
    kind: str,
    body: str,
    *,
    at: datetime | None = None,
    source: str | None = None,
    label: str | None = None,
) -> IncidentUpdate:
    """Add one entry. `source` and `label` name a system writing on its own behalf
    (an Alertmanager delivery, an import); otherwise the session's author is named."""
    author_id, author_label, author_source = author(session)
    if source is not None:
        author_source = source
    if label is not None:
        author_id, author_label = None, label
    entry = IncidentUpdate(
        incident_id=incident.id,
        at=at or utcnow(),
        kind=kind,
        source=author_source,
        author_id=author_id,
        author_label=author_label[:254],
        body=body,
    )
    session.add(entry)
    return entry


def add_note(
    session: Session,
    incident: Incident,
    data: Mapping[str, Any],
    *,
    errors: FieldErrors | None = None,
    now: datetime | None = None,
) -> IncidentUpdate:
    """A responder's note, at the time now; refused with the field named when empty or too long."""
    errors = errors if errors is not None else FieldErrors()
    clean = NOTE.check(errors, data, now=now or utcnow())
    errors.raise_if_any()
    entry = record(session, incident, "note", clean["body"], at=now)
    session.flush()
    return entry


def changes_worth_telling(before: Mapping[str, Any], incident: Incident) -> list[tuple[str, str]]:
    """The (kind, body) entries an edit deserves: a new severity, vectors linked or unlinked.

    Other fields are in the History (the audit trail); these change who is paged,
    who leads and which playbook applies, so responders see them in the timeline too.
    """
    told = []
    if before["severity"] != incident.severity:
        told.append(("severity", f"Severity {before['severity']} → **{incident.severity}**."))
    for name, role in (("lead", "Incident lead"), ("comms_lead", "Communications lead")):
        now_in_role = getattr(incident, f"{name}_email")
        if before[name] != now_in_role:
            told.append(("roles", f"{role}: **{now_in_role or 'nobody'}**."))
    old, new = set(before["vectors"]), set(incident.vector_slugs)
    if old != new:
        parts = []
        if added := sorted(new - old):
            parts.append("linked " + ", ".join(f"`{s}`" for s in added))
        if removed := sorted(old - new):
            parts.append("unlinked " + ", ".join(f"`{s}`" for s in removed))
        told.append(("vectors", "Vectors " + "; ".join(parts) + "."))
    return told


def timeline_of(
    session: Session, incident_id: int, *, offset: int = 0, limit: int | None = None
) -> Sequence[IncidentUpdate]:
    """Entries oldest first (the order a timeline is read in), ties by when they were written."""
    query = (
        select(IncidentUpdate)
        .where(IncidentUpdate.incident_id == incident_id)
        .order_by(IncidentUpdate.at, IncidentUpdate.id)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return session.scalars(query).all()


def count_of(session: Session, incident_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(IncidentUpdate)
            .where(IncidentUpdate.incident_id == incident_id)
        )
        or 0
    )
