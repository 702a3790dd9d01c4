"""Post-mortem rules: the body template, validation, the root-cause flag, action items."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, selectinload

from catalog.db import utcnow
from catalog.errors import FieldErrors, ValidationError
from catalog.incidents.models import Incident
from catalog.incidents.service import Cached, count_incidents
from catalog.locking import check_version
from catalog.postmortems.draft import placeholder_sections
from catalog.postmortems.models import ActionItem, Postmortem
from catalog.postmortems.spec import ACTION_ITEM, POSTMORTEM
from catalog.reports.shared import Codec
from catalog.rules import is_storable

if TYPE_CHECKING:
    from catalog.reports.chunks import ChunkCache

ROOT_CAUSE_FLAGS = ("on_time", "late", "overdue", "pending")
MAX_ACTION_ITEMS = 200

TEMPLATE = """## Summary
What happened, in two or three sentences a newcomer would understand.

## Impact
Who was affected, how badly, for how long (requests failed, users, revenue, SLO budget burned).

## Timeline
All times in UTC.

- HH:MM — impact begins
- HH:MM — alert fires / report received
- HH:MM — responder acknowledges
- HH:MM — mitigation applied
- HH:MM — full recovery

## Root cause
The underlying fault, not the trigger.

## Contributing factors
- What made it more likely, larger or slower to fix.

## What went well
- What to keep doing.

## What went wrong
- Where we got lucky or lost time.

## Action items
Tracked in the action items below, each with an owner and a due date.
"""


def root_cause_flag(
    detected_at: datetime,
    root_cause_at: datetime | None,
    *,
    now: datetime,
    rca_hours: int,
) -> str:
    """SPEC §2 root-cause flag; the threshold itself counts as on time."""
    threshold = timedelta(hours=rca_hours)
    if root_cause_at is not None:
        # A root cause "found" before detection cannot be stored any more, but an
        # older version or an old restore may have written one: such a record is
        # wrong, not fast, and never earns an on-time credit.
        if root_cause_at < detected_at:
            return "late"
        return "on_time" if root_cause_at - detected_at <= threshold else "late"
    return "overdue" if now - detected_at > threshold else "pending"


def incident_root_cause_flag(incident: Incident, *, now: datetime, rca_hours: int) -> str:
    """An incident with no post-mortem runs on the same clock as one with no root cause."""
    pm = incident.postmortem
    return root_cause_flag(
        incident.detected_at, pm.root_cause_at if pm else None, now=now, rca_hours=rca_hours
    )


def root_cause_overdue_from(incident: Incident, *, rca_hours: int) -> datetime | None:
    """When a root cause not yet found becomes `overdue` (the threshold itself is still
    `pending`); None once one is recorded: its flag no longer moves with the clock."""
    pm = incident.postmortem
    if pm is not None and pm.root_cause_at is not None:
        return None
    return incident.detected_at + timedelta(hours=rca_hours)


def root_cause_seconds(incident: Incident) -> float | None:
    """root_cause_at - detected_at, as stored: a legacy negative one is shown, flagged `late`."""
    pm = incident.postmortem
    if pm is None or pm.root_cause_at is None:
        return None
    return (pm.root_cause_at - incident.detected_at).total_seconds()


def is_action_item_overdue(item: ActionItem, *, today: date) -> bool:
    return item.done_at is None and item.due_on is not None and item.due_on < today


@dataclass(frozen=True)
class CleanActionItem:
    id: int | None
    title: str
    owner: str
    due_on: date | None
    done_at: datetime | None
    link: str | None


def _validate_items(errors: FieldErrors, items: object, *, now: datetime) -> list[CleanActionItem]:
    if items is None:
        return []
    if not isinstance(items, list):
        errors.add("action_items", "Action items must be a list.")
        return []
    if len(items) > MAX_ACTION_ITEMS:
        errors.add("action_items", f"At most {MAX_ACTION_ITEMS} action items.")
        return []
    clean: list[CleanActionItem] = []
    for i, raw in enumerate(items):
        prefix = f"action_items.{i}"
        if not isinstance(raw, Mapping):
            errors.add(prefix, "Each action item must be an object.")
            continue
        # What the surface could not read in this row is already in `errors`, by its path.
        unread = {k.removeprefix(f"{prefix}.") for k in errors.fields if k.startswith(f"{prefix}.")}
        sub = FieldErrors()
        item = ACTION_ITEM.check(sub, raw, now=now, unread=unread)
        item_id = raw.get("id")
        if item_id is not None and (isinstance(item_id, bool) or not isinstance(item_id, int)):
            sub.add("id", "Id must be a whole number.")
        errors.merge(sub.fields, lambda field, at=prefix: f"{at}.{field}")
        if not sub and not unread:
            clean.append(CleanActionItem(id=item_id, **item))
    return clean


def validate_postmortem(
    incident: Incident,
    data: Mapping[str, Any],
    *,
    now: datetime,
    errors: FieldErrors | None = None,
    restoring: bool = False,
    was_published: bool = False,
) -> dict[str, Any]:
    """Check a whole post-mortem; return cleaned values or raise ValidationError with every
    message at once: each field's own (POSTMORTEM, ACTION_ITEM per row), then the root
    cause against the incident's times, then what publishing needs. `errors`: what the
    surface could not read. `restoring`: a backup's history, kept as it was published.
    `was_published`: already published before this change, so the finish rules (which came
    later) do not stop ticking an action item off an older post-mortem."""
    errors = errors if errors is not None else FieldErrors()
    clean = POSTMORTEM.check(errors, data, now=now)
    if clean["status"] == "published" and not restoring and not was_published:
        _check_finished(errors, clean)
    rca = clean["root_cause_at"]
    if rca is not None:
        if rca < incident.started_at:
            errors.add(
                "root_cause_at", "Root cause identified cannot be before the incident started."
            )
        elif rca < incident.detected_at:  # it would count as found in negative time: on time
            errors.add(
                "root_cause_at", "Root cause identified cannot be before the incident was detected."
            )
    if clean["status"] == "published" and clean["published_at"] is None:
        clean["published_at"] = now
    if clean["status"] != "published":
        clean["published_at"] = None
    clean["action_items"] = _validate_items(errors, data.get("action_items"), now=now)
    errors.raise_if_any()
    return clean


def _check_finished(errors: FieldErrors, clean: Mapping[str, Any]) -> None:
    """A published post-mortem is evidence (the dossier counts it): no empty root cause,
    no empty body, no section still holding the template's guidance."""
    if not errors.has("root_cause") and not (clean["root_cause"] or "").strip():
        errors.add(
            "root_cause",
            "Root cause is required to publish; write it, or keep the post-mortem in review.",
        )
    if errors.has("body"):
        return
    body = clean["body"] or ""
    if not body.strip():
        errors.add("body", "Body is required to publish.")
    elif sections := placeholder_sections(body):
        errors.add(
            "body",
            f"The template text is still in: {', '.join(sections)}. Replace it before publishing.",
        )


def save_postmortem(
    session: Session,
    incident: Incident,
    data: Mapping[str, Any],
    *,
    now: datetime | None = None,
    errors: FieldErrors | None = None,
) -> tuple[Postmortem, bool]:
    """Create or replace the incident's post-mortem (PUT semantics). Returns (pm, created).
    `errors`: what the surface could not read (see validate_postmortem)."""
    now = now or utcnow()
    pm = incident.postmortem
    created = pm is None
    if pm is not None:
        check_version(pm, data.get("version"), noun="post-mortem")
    clean = validate_postmortem(
        incident,
        data,
        now=now,
        errors=errors,
        was_published=pm is not None and pm.status == "published",
    )
    if pm is None:
        pm = Postmortem(incident=incident)
        session.add(pm)
    items: list[CleanActionItem] = clean.pop("action_items")
    for field, value in clean.items():
        setattr(pm, field, value)
    _replace_items(pm, items)
    pm.updated_at = now
    session.flush()
    return pm, created


def _replace_items(pm: Postmortem, items: list[CleanActionItem]) -> None:
    """Keep rows whose id is sent back, update them; drop the rest; add new ones."""
    existing = {item.id: item for item in pm.action_items}
    unknown = [c.id for c in items if c.id is not None and c.id not in existing]
    if unknown:
        raise ValidationError({"action_items": [f"Unknown action item id {unknown[0]}."]})
    kept: list[ActionItem] = []
    for c in items:
        row = existing.get(c.id) if c.id is not None else None
        if row is None:
            row = ActionItem()
        row.title, row.owner, row.due_on, row.done_at, row.link = (
            c.title,
            c.owner,
            c.due_on,
            c.done_at,
            c.link,
        )
        kept.append(row)
    pm.action_items = kept


def action_items_of(
    session: Session, owners: list[str], *, due_by: date, limit: int = 20
) -> list[ActionItem]:
    """Open action items owned by any of `owners` (an e-mail, a name; any case) and due by
    `due_by`, the longest overdue first: what *My incidents* asks its reader to do."""
    names = [o.strip().lower() for o in owners if o and o.strip() and is_storable(o)]
    if not names:
        return []
    return list(
        session.scalars(
            select(ActionItem)
            .where(
                ActionItem.done_at.is_(None),
                ActionItem.due_on <= due_by,
                func.lower(ActionItem.owner).in_(names),
            )
            .order_by(ActionItem.due_on, ActionItem.id)
            .limit(limit)
        )
    )


def _overdue(today: date) -> Any:
    return and_(ActionItem.done_at.is_(None), ActionItem.due_on < today)


def overdue_action_items(
    session: Session, *, today: date, limit: int | None = None, offset: int = 0
) -> list[ActionItem]:
    """Action items past their due date and not done, oldest first, for managers
    (a page of them: there may be thousands)."""
    return list(
        session.scalars(
            select(ActionItem)
            .where(_overdue(today))
            .options(selectinload(ActionItem.postmortem).selectinload(Postmortem.incident))
            .order_by(ActionItem.due_on, ActionItem.id)
            .limit(limit)
            .offset(offset)
        )
    )


def count_overdue_action_items(session: Session, *, today: date) -> int:
    return session.scalar(select(func.count()).select_from(ActionItem).where(_overdue(today))) or 0


def _flagged_count(
    session: Session, *, cutoff: datetime, threshold: int, chunks: ChunkCache | None = None
) -> int:
    """How many incidents are `overdue` or `late`, counted from the small side.

    Joining every incident to its post-mortem to count took 17 ms at 10^5 incidents (a
    lookup per incident, on every dashboard). Instead: the incidents detected before
    the cutoff (all incidents, counted a month at a time with `chunks`, less the few
    detected since), less those of them whose root cause is known (post-mortems, few),
    plus the post-mortems whose root cause came late (or, legacy, before detection).
    The same sets as `flagged_incidents`' condition.
    """
    from sqlalchemy import func, or_

    from catalog.db import seconds_between

    detected_since = session.scalar(
        select(func.count()).select_from(Incident).where(Incident.detected_at >= cutoff)
    )
    detected_before = count_incidents(session, chunks) - (detected_since or 0)
    # Driven from the post-mortems (few): as a join, SQLite walked all 10^5 incidents'
    # detected_at index probing for a post-mortem each (8 ms with none at all).
    detected = (
        select(Incident.detected_at)
        .where(Incident.id == Postmortem.incident_id)
        .correlate(Postmortem)
        .scalar_subquery()
    )
    found = (
        select(func.count()).select_from(Postmortem).where(Postmortem.root_cause_at.is_not(None))
    )
    found_before = session.scalar(found.where(detected < cutoff))
    late = session.scalar(
        found.where(
            or_(
                seconds_between(detected, Postmortem.root_cause_at) > threshold,
                Postmortem.root_cause_at < detected,
            )
        )
    )
    return detected_before - (found_before or 0) + (late or 0)


class FlaggedIncident(NamedTuple):
    """What the dashboard lists of a flagged incident: its link and its title."""

    id: int
    title: str


def flagged_incidents(
    session: Session,
    *,
    now: datetime,
    rca_hours: int,
    limit: int = 10,
    cached: Cached | None = None,
    chunks: ChunkCache | None = None,
) -> tuple[list[tuple[FlaggedIncident, str]], int]:
    """Incidents whose root cause is `overdue` or `late`, newest first, and how many in all.

    SQL narrows the candidates; `root_cause_flag` still decides, so the list
    can never disagree with the flag shown on an incident's page. `cached` may
    keep the answer under the data versions until the clock changes it: the
    moment the next incident still inside the window passes `rca_hours`.
    """
    from sqlalchemy import func, or_

    from catalog.db import seconds_between

    threshold = rca_hours * 3600
    cutoff = now - timedelta(hours=rca_hours)
    condition = or_(
        (Postmortem.root_cause_at.is_(None)) & (Incident.detected_at < cutoff),
        seconds_between(Incident.detected_at, Postmortem.root_cause_at) > threshold,
        Postmortem.root_cause_at < Incident.detected_at,  # legacy: `late`, see root_cause_flag
    )

    def read() -> _FlaggedAnswer:
        total = _flagged_count(session, cutoff=cutoff, threshold=threshold, chunks=chunks)
        # The columns the flag is made of, not incidents: every worker reads this again
        # after every write, and ORM incidents with their relationships cost 2/3 of it.
        rows = session.execute(
            select(Incident.id, Incident.title, Incident.detected_at, Postmortem.root_cause_at)
            .outerjoin(Postmortem, Postmortem.incident_id == Incident.id)
            .where(condition)
            .order_by(Incident.detected_at.desc())
            .limit(limit)
        ).all()
        flags = [
            (
                FlaggedIncident(i, title),
                root_cause_flag(detected, found, now=now, rca_hours=rca_hours),
            )
            for i, title, detected, found in rows
        ]
        # Nothing flagged changes with the clock alone before the first incident still
        # inside the window (whether it has a root cause or not) leaves it.
        next_out = session.scalar(
            select(func.min(Incident.detected_at)).where(Incident.detected_at >= cutoff)
        )
        until = None if next_out is None else next_out + timedelta(hours=rca_hours)
        return tuple((i, f) for i, f in flags if f in ("overdue", "late")), total or 0, until

    if cached is None:
        flagged, total, _ = read()
    else:
        flagged, total, _ = cached(
            f"flagged:{rca_hours}:{limit}",
            read,
            valid_until=itemgetter(2),
            now=now,
            codec=FLAGGED_CODEC,
        )
    return list(flagged), total


def _dump_flagged(value: _FlaggedAnswer) -> dict[str, Any]:
    rows, total, until = value
    return {
        "rows": [[i.id, i.title, flag] for i, flag in rows],
        "total": total,
        "until": until.isoformat() if until is not None else None,
    }


def _load_flagged(data: dict[str, Any]) -> _FlaggedAnswer:
    rows = tuple(
        (FlaggedIncident(int(i), str(title)), str(flag)) for i, title, flag in data["rows"]
    )
    until = datetime.fromisoformat(data["until"]) if data["until"] is not None else None
    return rows, int(data["total"]), until


_FlaggedAnswer = tuple[tuple[tuple[FlaggedIncident, str], ...], int, datetime | None]
FLAGGED_CODEC = Codec(dump=_dump_flagged, load=_load_flagged)
"""The flagged list as JSON, so the workers share it (catalog.reports.shared)."""
