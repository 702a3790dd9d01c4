"""Writes the audit trail from the ORM itself, in the same transaction as the change.

A session `after_flush` hook looks at every new, changed and deleted object of
an audited kind and inserts one event per object with field-level before and
after values. Hooking the session (not each view) means no code path that
changes data can forget to record it: web, API, CLI and imports alike.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import Session

from catalog.audit.models import AuditEvent
from catalog.auth.models import ApiToken, User
from catalog.db import utcnow
from catalog.incidents.models import Incident
from catalog.postmortems.models import ActionItem, Postmortem
from catalog.releases.models import CanaryAnalysis, LoadTest, Release
from catalog.vectors.models import Vector

SKIP = {
    "id",
    "created_at",
    "updated_at",
    "version",
    "last_login_at",
    "last_used_at",
    "session_epoch",
}
SECRET = {"password_hash": "password", "token_hash": "token"}
AUDITED: dict[type, str] = {
    Vector: "vector",
    Incident: "incident",
    Postmortem: "postmortem",
    ActionItem: "action_item",
    User: "user",
    ApiToken: "token",
    Release: "release",
    LoadTest: "load_test",
    CanaryAnalysis: "canary_analysis",
}
MAX_TEXT = 2000  # long Markdown is recorded truncated: the audit log is not a backup


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return value[:MAX_TEXT] + f"… ({len(value):,} characters)"
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Vector):
        return value.slug
    return value


def _columns(obj: Any) -> list[str]:
    return [c.key for c in inspect(obj).mapper.column_attrs if c.key not in SKIP]


def _label(obj: Any) -> str:
    if isinstance(obj, Vector):
        return obj.name
    if isinstance(obj, Incident):
        return f"#{obj.id} {obj.title}"
    if isinstance(obj, Postmortem):
        return f"Post-mortem of incident #{obj.incident_id}"
    if isinstance(obj, ActionItem):
        return obj.title
    if isinstance(obj, User):
        return obj.email
    if isinstance(obj, ApiToken):
        return f"{obj.prefix}… ({obj.name or 'unnamed'})"
    if isinstance(obj, Release):
        return obj.label
    if isinstance(obj, LoadTest):
        return f"Tier {obj.tier} of release #{obj.release_id}"
    if isinstance(obj, CanaryAnalysis):
        return f"Canary analysis of release #{obj.release_id}"
    return str(obj)


def _incident_id(session: Session, obj: Any) -> int | None:
    if isinstance(obj, Incident):
        return obj.id
    if isinstance(obj, Postmortem):
        return obj.incident_id
    if isinstance(obj, ActionItem):
        pm = obj.postmortem
        if pm is None and obj.postmortem_id is not None:  # an item removed from its list
            pm = session.identity_map.get(session.identity_key(Postmortem, obj.postmortem_id))
        return pm.incident_id if pm is not None else None
    return None


def _created(obj: Any) -> dict[str, Any]:
    changes = {}
    for key in _columns(obj):
        value = getattr(obj, key)
        if key in SECRET:
            changes[SECRET[key]] = [None, "(set)"]
        elif value not in (None, ""):
            changes[key] = [None, _plain(value)]
    if isinstance(obj, Incident):
        changes["vectors"] = [None, obj.vector_slugs]
    return changes


def _deleted(obj: Any) -> dict[str, Any]:
    changes = {}
    for key in _columns(obj):
        if key in SECRET:
            continue
        value = getattr(obj, key)
        if value not in (None, ""):
            changes[key] = [_plain(value), None]
    if isinstance(obj, Incident):
        changes["vectors"] = [obj.vector_slugs, None]
    return changes


def _updated(obj: Any) -> dict[str, Any]:
    state = inspect(obj)
    changes: dict[str, Any] = {}
    for key in _columns(obj):
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        before = history.deleted[0] if history.deleted else None
        after = history.added[0] if history.added else None
        if before == after:
            continue
        if key in SECRET:
            changes[SECRET[key]] = ["(hidden)", "(changed)"]
        else:
            changes[key] = [_plain(before), _plain(after)]
    if isinstance(obj, Incident):
        history = state.attrs["vectors"].history
        if history.added or history.deleted:
            after = sorted(v.slug for v in obj.vectors)
            before = sorted(
                {v.slug for v in (history.unchanged or [])} | {v.slug for v in history.deleted}
            )
            if before != after:
                changes["vectors"] = [before, after]
    return changes


def _action(obj: Any, changes: dict[str, Any], default: str) -> str:
    if isinstance(obj, Vector) and "archived_at" in changes and len(changes) == 1:
        before, after = changes["archived_at"]
        return "archive" if after else "restore"
    return default


def _actor(session: Session) -> tuple[int | None, str]:
    actor = session.info.get("actor")
    if actor is not None:
        return actor.id, actor.email
    return None, str(session.info.get("actor_label", "system"))


def _after_flush(session: Session, flush_context: object) -> None:
    rows: list[dict[str, Any]] = []
    now = utcnow()
    actor_id, actor_label = _actor(session)
    for objects, kind in (
        (session.new, "create"),
        (session.dirty, "update"),
        (session.deleted, "delete"),
    ):
        for obj in objects:
            object_type = AUDITED.get(type(obj))
            if object_type is None:
                continue
            if kind == "create":
                changes = _created(obj)
            elif kind == "delete":
                changes = _deleted(obj)
            else:
                if not session.is_modified(obj, include_collections=True):
                    continue
                changes = _updated(obj)
                if not changes:
                    continue
            rows.append(
                {
                    "at": now,
                    "actor_id": actor_id,
                    "actor_label": actor_label,
                    "action": _action(obj, changes, kind),
                    "object_type": object_type,
                    "object_id": inspect(obj).identity[0] if inspect(obj).identity else obj.id,
                    "object_label": _label(obj)[:300],
                    "incident_id": _incident_id(session, obj),
                    "changes": changes,
                }
            )
    if rows:
        # Core insert on the flush's own connection: same transaction, no nested flush.
        session.connection().execute(insert(AuditEvent.__table__), rows)


def install(session_class: type[Session]) -> None:
    """Attach the hook to the app's sessionmaker class (idempotent)."""
    if not event.contains(session_class, "after_flush", _after_flush):
        event.listen(session_class, "after_flush", _after_flush)


HISTORY_PER_PAGE = 20


def incident_history(
    session: Session, incident_id: int, *, page: int = 1, per_page: int = HISTORY_PER_PAGE
) -> tuple[list[AuditEvent], bool]:
    """One page of an incident's changes, newest first, and whether older ones remain."""
    events = list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.incident_id == incident_id)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page + 1)
        )
    )
    return events[:per_page], len(events) > per_page
