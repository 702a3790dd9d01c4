"""The JSON backup's test machinery: a catalog worth backing up, export, restore, state.

`build_catalog` makes everything a backup must carry; `export` writes the backup as the
CLI and the download write it; `restore` and `imported` run an importer on a session of
its own and commit, as run_import does; `state` is what "the database is unchanged" means;
`fresh_database` and `second_app` give an empty, migrated database on either backend to
restore into. Used by tests/test_backup_*.py and tests/test_csv_import.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from factories import T0, incident_data, make_incident, release_data
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog import create_app
from catalog.audit.models import AuditEvent
from catalog.demo import load_demo
from catalog.errors import ValidationError
from catalog.exports.backup import (
    VECTOR_FIELDS,
    backup_chunks,
)
from catalog.imports.backup import import_backup
from catalog.incidents import timeline
from catalog.incidents.models import Incident, IncidentUpdate, incident_vectors
from catalog.incidents.service import create_incident
from catalog.migrate import upgrade
from catalog.postmortems.models import ActionItem, Postmortem
from catalog.postmortems.service import save_postmortem
from catalog.releases.models import CanaryAnalysis, LoadTest, ReadinessBars, Release
from catalog.releases.service import create_release, record_load_test, save_canary, set_bars
from catalog.vectors.models import Vector
from catalog.vectors.service import create_vector, set_archived
from helpers.environment import scratch_pg_database

UNICODE = "Zürich «naïve» ✓ 日本語 🚨"
FORMULA = '=HYPERLINK("http://evil.example","click")'
DEMO_COUNT = 40


def build_catalog(session: Session) -> None:
    """Everything a backup must carry: demo history with post-mortems and action items,
    a custom vector, an archived vector with an incident, an incident with an external
    id, Unicode, formula-like text and a timestamp with microseconds."""
    load_demo(session, count=DEMO_COUNT, seed=5, releases=False)  # its own releases, below
    create_vector(
        session,
        {
            "slug": "prompt-injection",
            "name": f"Prompt injection {UNICODE}",
            "category": "poisoning",
            "description": f"{FORMULA}\n\n- a tab\there\n- and a second line",
            "detection": "+1 canary prompt answered",
            "mitigation": "@oncall: block the pattern",
            "mttd_target_minutes": 7,
            "mttr_target_minutes": 45,
            "severity": 8,
            "occurrence": 3,
            "detectability": 6,
        },
    )
    legacy = create_vector(
        session, {"slug": "legacy-gpu-pool", "name": "Legacy GPU pool", "category": "throttling"}
    )
    session.commit()
    make_incident(session, title="GPU pool B throttled", vectors=["legacy-gpu-pool"])
    set_archived(session, legacy, True)
    started = T0 + timedelta(days=1, microseconds=123456)
    incident = create_incident(
        session,
        incident_data(
            title=f"{FORMULA} {UNICODE}",
            summary=f"-1 answers\n\n{UNICODE}",
            team=UNICODE[:20],
            vectors=["prompt-injection", "data-drift"],
            started_at=started,
            detected_at=started + timedelta(minutes=3),
            acknowledged_at=started + timedelta(minutes=5),
            mitigated_at=started + timedelta(minutes=9),
            recovered_at=started + timedelta(minutes=30),
        ),
    )
    incident.external_source = "statuspage"
    incident.external_id = "sp-42"
    save_postmortem(
        session,
        incident,
        {
            "status": "published",
            "root_cause_at": started + timedelta(hours=5),
            "root_cause": f"@import of a poisoned page, {UNICODE}",
            "body": "## Summary\n\n=1+1 is text here.",
            "action_items": [
                {
                    "title": "=cmd|' /C calc'!A0",
                    "owner": "Ünal",
                    "due_on": date(2026, 4, 1),
                    "done_at": started + timedelta(days=2),
                    "link": "https://example.com/tickets/1",
                },
                {"title": "Write the runbook", "owner": "", "due_on": None, "done_at": None},
            ],
        },
    )
    # its timeline (backup version 2): a system's status at its own time, a person's note
    timeline.record(
        session,
        incident,
        "status",
        "**Investigating** on Statuspage. We are looking into it.",
        at=started + timedelta(minutes=4, microseconds=5),
        source="import",
        label="Statuspage",
    )
    timeline.record(
        session,
        incident,
        "note",
        f"=SUM(A1) is text; {UNICODE}\n\n- rolled back",
        at=started + timedelta(minutes=8),
        source="web",
        label="ed@example.com",
    )
    # releases (backup version 3): a rolled-back canary that caused the incident above,
    # and a promoted one with a fractional guardrail and Unicode notes
    bad = create_release(
        session,
        release_data(
            tag="v2.5.0-rc.1",
            deployed_at=started - timedelta(minutes=20),
            outcome="rolled_back",
            rollback_started_at=started + timedelta(minutes=6),
            rolled_back_at=started + timedelta(minutes=9, microseconds=7),
        ),
    )
    incident.release = bad
    record_load_test(
        session,
        bad,
        {
            "tier": "1x",
            "rps": 812.5,
            "p50_ms": 21,
            "p95_ms": 96.25,
            "p99_ms": 240,
            "error_rate": 0.05,
            "requests": 16250,
        },
        source="k6",
    )
    record_load_test(
        session,
        bad,
        {"tier": "soak", "rps": 90, "p50_ms": 20, "p99_ms": 40, "error_rate": 0, "requests": 9},
    )
    save_canary(
        session,
        bad,
        "\n".join(str(100 + i % 17) for i in range(60)).encode(),
        (
            "latency_ms,status\n"
            + "\n".join(f"{130 + i % 23},{503 if i % 20 == 0 else 200}" for i in range(40))
        ).encode(),
    )
    set_bars(session, "chat-api", {"p99_1x_ms": 200, "p99_5x_ms": 450, "error_rate_10x": 0.5})
    create_release(
        session,
        release_data(
            tag="v2.5.0",
            deployed_at=started + timedelta(days=1),
            guard_error_rate=0.05,
            outcome="promoted",
            notes=f"{FORMULA} {UNICODE}",
        ),
    )
    session.commit()


def export(app) -> str:  # type: ignore[no-untyped-def]
    """The backup as the CLI and the download write it, read on a session of its own."""
    session = app.extensions["catalog.sessionmaker"]()
    try:
        return "".join(backup_chunks(session))
    finally:
        session.close()


def state(app) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """What "the database is unchanged" means: row counts, every vector field, the uids."""
    session = app.extensions["catalog.sessionmaker"]()
    try:
        counts = {
            model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in (
                Incident,
                Vector,
                Postmortem,
                ActionItem,
                IncidentUpdate,
                Release,
                LoadTest,
                CanaryAnalysis,
                ReadinessBars,
            )
        }
        counts["links"] = session.scalar(select(func.count()).select_from(incident_vectors))
        vectors = [
            tuple(getattr(v, f) for f in (*VECTOR_FIELDS, "version"))
            for v in session.scalars(select(Vector).order_by(Vector.slug))
        ]
        uids = sorted(session.scalars(select(Incident.uid)))
        return {"counts": counts, "vectors": vectors, "uids": uids}
    finally:
        session.close()


def audited(app, object_type: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """How many creations of `object_type` the audit trail holds, by actor."""
    session = app.extensions["catalog.sessionmaker"]()
    try:
        rows = session.execute(
            select(AuditEvent.actor_label, func.count())
            .where(AuditEvent.object_type == object_type, AuditEvent.action == "create")
            .group_by(AuditEvent.actor_label)
        )
        return {label: count for label, count in rows}
    finally:
        session.close()


def delete_all_incidents(app) -> None:  # type: ignore[no-untyped-def]
    session = app.extensions["catalog.sessionmaker"]()
    try:
        for incident in session.scalars(select(Incident)):
            session.delete(incident)  # with its post-mortem and action items (ORM cascade)
        session.commit()
    finally:
        session.close()


@contextmanager
def fresh_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """A second, empty, migrated database: a new SQLite file, or a new PostgreSQL database."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / f'second-{uuid.uuid4().hex[:8]}.sqlite'}"
        upgrade(url)
        yield url
        return
    with scratch_pg_database("catalog_restore") as url:
        yield url


@contextmanager
def second_app(app_config: dict[str, object], url: str) -> Iterator[Any]:
    other = create_app({**app_config, "DATABASE_URL": url})
    try:
        yield other
    finally:
        other.extensions["catalog.engine"].dispose()


def restore(app, document: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
    return imported(app, import_backup, document, **kwargs)


def imported(app, importer, source: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
    """An importer on a session of its own, committed (rolled back on a dry run or error),
    as run_import does it."""
    session = app.extensions["catalog.sessionmaker"]()
    try:
        summary = importer(session, source, **kwargs)
        if summary.dry_run:
            session.rollback()
        else:
            session.commit()
        return summary
    except ValidationError:
        session.rollback()
        raise
    finally:
        session.close()
