"""The JSON backup: the whole catalog in one versioned, documented document.

Format `failure-catalog-backup`, version 3 (README, "JSON backup format"):
the vectors by slug, the releases by deployment, then the incidents by id, each
incident with its vector slugs, its post-mortem (with action items) and its
timeline inside it. Version 2 is version 1 plus each incident's `lead`,
`comms_lead` (e-mails) and `updates`; version 3 adds `readiness_bars`, the
`releases` (each with its `load_tests` and `canary`) and each incident's `release`
(the release's uid). Versions 1 and 2 still restore. Database ids are
left out, since they differ between installations: an incident is named by
its `uid`, a vector by its slug. Nothing in it depends on when it was written,
so export → import into an empty database → export gives the same bytes.

Streams: one vector or incident per line, written as it is read, a batch of
incidents (and their links, post-mortems and action items) at a time, so the
memory an export needs does not grow with the number of incidents. On
PostgreSQL the export reads one REPEATABLE READ snapshot, so a backup taken
while people work is still consistent.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from flask import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.auth.models import User
from catalog.exports.streaming import streamed_download
from catalog.incidents.models import Incident, IncidentUpdate, incident_vectors
from catalog.postmortems.models import ActionItem, Postmortem
from catalog.releases.models import CanaryAnalysis, LoadTest, ReadinessBars, Release
from catalog.timefmt import iso_utc
from catalog.vectors.models import Vector

FORMAT = "failure-catalog-backup"
VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
BATCH = 2000

# Spelt out, not derived from the services' EDITABLE tuples: these lists are the
# format, and a field added to a form must not change it silently.
VECTOR_FIELDS = (
    "slug",
    "name",
    "category",
    "description",
    "detection",
    "mitigation",
    "mttd_target_minutes",
    "mttr_target_minutes",
    "severity",
    "occurrence",
    "detectability",
    "archived_at",
    "created_at",
    "updated_at",
)
INCIDENT_FIELDS = (
    "uid",
    "title",
    "severity",
    "service",
    "team",
    "summary",
    "detection_source",
    "started_at",
    "detected_at",
    "acknowledged_at",
    "mitigated_at",
    "recovered_at",
    "external_source",
    "external_id",
    "created_at",
    "updated_at",
)
POSTMORTEM_FIELDS = (
    "status",
    "root_cause_at",
    "root_cause",
    "body",
    "published_at",
    "created_at",
    "updated_at",
)
ACTION_ITEM_FIELDS = ("title", "owner", "due_on", "done_at", "link", "created_at", "updated_at")
# Version 2: an incident's timeline. `author` is the writer's e-mail or a system's name
# (user ids differ between installations; a restore links the e-mail to its account).
UPDATE_FIELDS = ("at", "kind", "source", "author", "body", "created_at")
# Version 2: an incident's roles, as the accounts' e-mails (after `vectors`).
ROLE_FIELDS = ("lead", "comms_lead")
# Version 3: each service's readiness bars and the releases (lists after `vectors`), each
# release with its load-test tiers and canary analysis; an incident's `release` is its uid.
BARS_FIELDS = ("service", "p99_1x_ms", "p99_5x_ms", "error_rate_10x", "updated_at")
LOAD_TEST_FIELDS = (
    "tier",
    "rps",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "error_rate",
    "requests",
    "source",
    "created_at",
)
CANARY_FIELDS = (
    "baseline_count",
    "canary_count",
    "ks_statistic",
    "p_value",
    "baseline_p99_ms",
    "canary_p99_ms",
    "baseline_error_rate",
    "canary_error_rate",
    "verdict",
    "reasons",
    "baseline_quantiles",
    "canary_quantiles",
    "created_at",
)
RELEASE_FIELDS = (
    "uid",
    "service",
    "tag",
    "team",
    "deployed_at",
    "canary_percent",
    "guard_p99_ms",
    "guard_error_rate",
    "rollback_window_seconds",
    "outcome",
    "rollback_started_at",
    "rolled_back_at",
    "notes",
    "created_at",
    "updated_at",
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _record(row: Any, fields: Sequence[str]) -> dict[str, Any]:
    return {name: _plain(getattr(row, name)) for name in fields}


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def _snapshot(session: Session) -> None:
    """Read the whole export from one snapshot, so a backup taken during work is consistent.

    PostgreSQL: a REPEATABLE READ transaction. SQLite (WAL): an explicit BEGIN,
    since the driver otherwise runs each SELECT on its own and a vector created
    between two batches could be named by an incident yet missing from the file.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    else:
        session.connection().exec_driver_sql("BEGIN")


def backup_chunks(session: Session) -> Iterator[str]:
    """The backup document in pieces: the header and vectors, then a batch of incidents each."""
    _snapshot(session)
    vectors = session.execute(
        select(*(getattr(Vector, f) for f in VECTOR_FIELDS)).order_by(Vector.slug)
    ).all()
    head = f'{{"format":"{FORMAT}","version":{VERSION},\n"vectors":[\n'
    head += ",\n".join(_line(_record(v, VECTOR_FIELDS)) for v in vectors)
    bars = session.scalars(select(ReadinessBars).order_by(ReadinessBars.service)).all()
    head += '\n],\n"readiness_bars":[\n'
    head += ",\n".join(_line(_record(b, BARS_FIELDS)) for b in bars)
    releases = session.execute(
        select(Release.id, *(getattr(Release, f) for f in RELEASE_FIELDS)).order_by(
            Release.deployed_at, Release.uid
        )
    ).all()
    head += '\n],\n"releases":[\n'
    head += ",\n".join(_line(record) for record in _release_records(session, releases))
    yield head + '\n],\n"incidents":[\n'
    release_uids = {r.id: r.uid for r in releases}
    columns = [
        Incident.id,
        *(getattr(Incident, f) for f in INCIDENT_FIELDS),
        Incident.lead_id,
        Incident.comms_lead_id,
        Incident.release_id,
    ]
    last_id, first = 0, True
    while True:
        rows = session.execute(
            select(*columns).where(Incident.id > last_id).order_by(Incident.id).limit(BATCH)
        ).all()
        if not rows:
            break
        lo, hi = rows[0].id, rows[-1].id
        last_id = hi
        lines = [_line(record) for record in _incident_records(session, rows, lo, hi, release_uids)]
        yield ("" if first else ",\n") + ",\n".join(lines)
        first = False
    yield "\n]}\n"


def _release_records(session: Session, releases: Sequence[Any]) -> Iterator[dict[str, Any]]:
    """Each release with its load-test tiers (by multiple, then name) and canary analysis."""
    tiers: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for test in session.scalars(
        select(LoadTest).order_by(
            LoadTest.release_id, LoadTest.multiplier.is_(None), LoadTest.multiplier, LoadTest.tier
        )
    ):
        tiers[test.release_id].append(_record(test, LOAD_TEST_FIELDS))
    canaries = {c.release_id: c for c in session.scalars(select(CanaryAnalysis))}
    for row in releases:
        record = _record(row, RELEASE_FIELDS)
        record["load_tests"] = tiers.get(row.id, [])
        canary = canaries.get(row.id)
        if canary is None:
            record["canary"] = None
        else:
            record["canary"] = _record(canary, CANARY_FIELDS)
            for name in ("baseline_quantiles", "canary_quantiles"):
                record["canary"][name] = json.loads(record["canary"][name])
        yield record


def _incident_records(
    session: Session, rows: Sequence[Any], lo: int, hi: int, release_uids: dict[int, str]
) -> Iterator[dict[str, Any]]:
    """Each incident of one id range with its vector slugs, post-mortem and timeline."""
    slugs: dict[int, list[str]] = defaultdict(list)
    for incident_id, slug in session.execute(
        select(incident_vectors.c.incident_id, Vector.slug)
        .join(Vector, Vector.id == incident_vectors.c.vector_id)
        .where(incident_vectors.c.incident_id.between(lo, hi))
        .order_by(incident_vectors.c.incident_id, Vector.slug)
    ):
        slugs[incident_id].append(slug)
    postmortems = {
        pm.incident_id: pm
        for pm in session.execute(
            select(
                Postmortem.id,
                Postmortem.incident_id,
                *(getattr(Postmortem, f) for f in POSTMORTEM_FIELDS),
            ).where(Postmortem.incident_id.between(lo, hi))
        )
    }
    items: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if postmortems:
        for item in session.execute(
            select(ActionItem.postmortem_id, *(getattr(ActionItem, f) for f in ACTION_ITEM_FIELDS))
            .join(Postmortem, Postmortem.id == ActionItem.postmortem_id)
            .where(Postmortem.incident_id.between(lo, hi))
            .order_by(ActionItem.id)
        ):
            items[item.postmortem_id].append(_record(item, ACTION_ITEM_FIELDS))
    updates: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for entry in session.execute(
        select(
            IncidentUpdate.incident_id,
            IncidentUpdate.at,
            IncidentUpdate.kind,
            IncidentUpdate.source,
            IncidentUpdate.author_label.label("author"),
            IncidentUpdate.body,
            IncidentUpdate.created_at,
        )
        .where(IncidentUpdate.incident_id.between(lo, hi))
        .order_by(IncidentUpdate.incident_id, IncidentUpdate.at, IncidentUpdate.id)
    ):
        updates[entry.incident_id].append(_record(entry, UPDATE_FIELDS))
    people = {row.lead_id for row in rows} | {row.comms_lead_id for row in rows}
    people.discard(None)
    emails = (
        dict(session.execute(select(User.id, User.email).where(User.id.in_(people))).all())
        if people
        else {}
    )
    for row in rows:
        record = _record(row, INCIDENT_FIELDS)
        record["vectors"] = slugs.get(row.id, [])
        for name in ROLE_FIELDS:  # accounts by e-mail: ids differ between installations
            record[name] = emails.get(getattr(row, f"{name}_id"))
        pm = postmortems.get(row.id)
        if pm is None:
            record["postmortem"] = None
        else:
            record["postmortem"] = {
                **_record(pm, POSTMORTEM_FIELDS),
                "action_items": items.get(pm.id, []),
            }
        record["updates"] = updates.get(row.id, [])
        record["release"] = release_uids.get(row.release_id) if row.release_id else None
        yield record


def backup_response() -> Response:
    """The backup as a streamed download, for the web page and the API."""
    return streamed_download(
        backup_chunks, mimetype="application/json", name="catalog-backup", extension="json"
    )
