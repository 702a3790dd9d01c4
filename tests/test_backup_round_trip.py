"""The JSON backup, round trip: export, restore into an empty database, idempotence.

The promise of the format (catalog/exports/backup.py) is that export → import into an
empty database → export gives the same bytes, on either backend and across them, with
records named by uid and slug only; that importing twice, or into the database a backup
came from, creates nothing; and that a backup taken while others write is one snapshot.
"""

from __future__ import annotations

import json

import pytest
from factories import incident_data, make_incident
from helpers.backup import (
    DEMO_COUNT,
    FORMULA,
    UNICODE,
    build_catalog,
    delete_all_incidents,
    export,
    fresh_database,
    restore,
    second_app,
    state,
)
from helpers.environment import BACKENDS
from sqlalchemy import select

from catalog.exports.backup import (
    ACTION_ITEM_FIELDS,
    BARS_FIELDS,
    CANARY_FIELDS,
    FORMAT,
    INCIDENT_FIELDS,
    LOAD_TEST_FIELDS,
    POSTMORTEM_FIELDS,
    RELEASE_FIELDS,
    ROLE_FIELDS,
    UPDATE_FIELDS,
    VECTOR_FIELDS,
    backup_chunks,
)
from catalog.incidents.models import Incident
from catalog.incidents.service import create_incident
from catalog.vectors.models import Vector
from catalog.vectors.service import create_vector


@pytest.mark.parametrize("target", BACKENDS)
def test_export_import_export_into_an_empty_database_gives_the_same_bytes(
    app, session, app_config, tmp_path, target
):
    """The format's promise, on each backend and across them (SQLite ⇄ PostgreSQL)."""
    build_catalog(session)
    first = export(app)
    before = state(app)
    with fresh_database(target, tmp_path) as url, second_app(app_config, url) as other:
        summary = restore(other, json.loads(first))
        assert summary.created == DEMO_COUNT + 2 == before["counts"]["Incident"]
        assert summary.postmortems_created == before["counts"]["Postmortem"]
        assert (summary.vectors_created, summary.vectors_updated) == (2, 5)  # seeded: updated
        after = state(other)
        again = export(other)
    assert again == first
    assert after["counts"] == before["counts"]
    assert after["uids"] == before["uids"]
    assert [v[:-1] for v in after["vectors"]] == [v[:-1] for v in before["vectors"]]


def test_export_batches_and_import_flushes_do_not_change_the_bytes(
    app, session, app_config, tmp_path, backend, monkeypatch
):
    """Exports stream incidents a batch at a time and imports flush (and forget) every few
    hundred: with tiny batches, every batch boundary and every flush is crossed."""
    import catalog.exports.backup as backup_export
    import catalog.imports.backup as backup_import

    build_catalog(session)
    whole = export(app)
    monkeypatch.setattr(backup_export, "BATCH", 7)
    monkeypatch.setattr(backup_import, "FLUSH_EVERY", 5)
    assert export(app) == whole
    with fresh_database(backend, tmp_path) as url, second_app(app_config, url) as other:
        summary = restore(other, json.loads(whole))
        assert summary.postmortems_created == state(app)["counts"]["Postmortem"]
        assert export(other) == whole


def test_the_backup_holds_what_the_catalog_holds_and_no_database_ids(app, session):
    """Records are named by uid and slug only, with every documented field and nothing else."""
    build_catalog(session)
    document = json.loads(export(app))
    assert (document["format"], document["version"]) == (FORMAT, 3)
    assert list(document) == [
        "format",
        "version",
        "vectors",
        "readiness_bars",
        "releases",
        "incidents",
    ]
    assert [list(b) for b in document["readiness_bars"]] == [list(BARS_FIELDS)]
    for release in document["releases"]:
        assert list(release) == [*RELEASE_FIELDS, "load_tests", "canary"]
    rolled_back, promoted = document["releases"]
    assert (rolled_back["outcome"], promoted["outcome"]) == ("rolled_back", "promoted")
    assert rolled_back["rolled_back_at"].endswith(":09:00.123463Z")  # microseconds kept
    assert promoted["guard_error_rate"] == 0.05
    assert [t["tier"] for t in rolled_back["load_tests"]] == ["1×", "soak"]
    assert all(list(t) == list(LOAD_TEST_FIELDS) for t in rolled_back["load_tests"])
    assert list(rolled_back["canary"]) == list(CANARY_FIELDS)
    assert len(rolled_back["canary"]["canary_quantiles"]) == 101
    assert promoted["load_tests"] == [] and promoted["canary"] is None
    assert [v["slug"] for v in document["vectors"]] == sorted(
        v["slug"] for v in document["vectors"]
    )
    for vector in document["vectors"]:
        assert list(vector) == list(VECTOR_FIELDS)
    for record in document["incidents"]:
        assert list(record) == [
            *INCIDENT_FIELDS,
            "vectors",
            *ROLE_FIELDS,
            "postmortem",
            "updates",
            "release",
        ]
        for entry in record["updates"]:
            assert list(entry) == list(UPDATE_FIELDS)
        if record["postmortem"] is not None:
            assert list(record["postmortem"]) == [*POSTMORTEM_FIELDS, "action_items"]
            for item in record["postmortem"]["action_items"]:
                assert list(item) == list(ACTION_ITEM_FIELDS)
    legacy = next(v for v in document["vectors"] if v["slug"] == "legacy-gpu-pool")
    assert legacy["archived_at"] is not None
    assert any(r["vectors"] == ["legacy-gpu-pool"] for r in document["incidents"])
    external = next(r for r in document["incidents"] if r["external_id"] == "sp-42")
    assert external["title"] == f"{FORMULA} {UNICODE}"  # no formula guard in JSON
    assert external["vectors"] == ["data-drift", "prompt-injection"]
    assert external["release"] == rolled_back["uid"]
    assert sum(r["release"] is not None for r in document["incidents"]) == 1
    assert external["started_at"].endswith(".123456Z")
    items = external["postmortem"]["action_items"]
    assert items[0]["title"].startswith("=cmd") and items[0]["due_on"] == "2026-04-01"
    assert items[0]["link"] == "https://example.com/tickets/1"
    assert [(u["kind"], u["source"], u["author"]) for u in external["updates"]] == [
        ("status", "import", "Statuspage"),
        ("note", "web", "ed@example.com"),
    ]
    assert external["updates"][0]["at"].endswith(":04:00.123461Z")  # microseconds kept
    assert UNICODE in export(app)  # written as UTF-8, not \u escapes


def test_importing_into_the_source_database_creates_and_changes_nothing(app, session):
    """A backup restored where it came from: every incident and vector is already there."""
    build_catalog(session)
    text_ = export(app)
    before = state(app)
    summary = restore(app, json.loads(text_))
    assert (summary.created, summary.already_imported) == (0, DEMO_COUNT + 2)
    assert (summary.vectors_created, summary.vectors_updated, summary.postmortems_created) == (
        0,
        0,
        0,
    )
    assert state(app) == before  # not even a vector's version moved
    assert export(app) == text_


def test_importing_the_same_backup_twice_creates_nothing_the_second_time(
    app, session, app_config, tmp_path, backend
):
    build_catalog(session)
    document = json.loads(export(app))
    with fresh_database(backend, tmp_path) as url, second_app(app_config, url) as other:
        restore(other, document)
        before = state(other)
        again = restore(other, document)
        assert state(other) == before
    assert (again.created, again.already_imported, again.records) == (
        0,
        DEMO_COUNT + 2,
        DEMO_COUNT + 2,
    )
    assert again.describe() == (
        f"Created 0 incidents from {DEMO_COUNT + 2} records; {DEMO_COUNT + 2} already imported; "
        "0 post-mortems with them; vectors: 0 created, 0 updated."
    )
    assert again.to_dict()["message"] == again.describe()


def test_dry_run_reports_what_would_happen_and_the_caller_writes_nothing(app, session):
    build_catalog(session)
    document = json.loads(export(app))
    delete_all_incidents(app)
    before = state(app)
    summary = restore(app, document, dry_run=True)
    assert summary.dry_run and summary.created == DEMO_COUNT + 2
    assert summary.describe().startswith(f"Would create {DEMO_COUNT + 2} incidents")
    assert "vectors: 0 would be created" in summary.describe()
    assert state(app) == before


def test_an_incident_already_here_by_its_external_id_is_not_imported_again(app, session):
    """The same Statuspage incident imported into two installations has two uids."""
    build_catalog(session)
    document = json.loads(export(app))
    twin = next(r for r in document["incidents"] if r["external_id"] == "sp-42")
    twin["uid"] = "another-installation-uid"
    document["incidents"] = [twin]
    before = state(app)
    summary = restore(app, document)
    assert (summary.created, summary.already_imported) == (0, 1)
    assert state(app) == before


def test_a_restore_updates_vectors_by_slug_and_keeps_their_incidents(app, session):
    make_incident(session)
    document = json.loads(export(app))
    record = next(v for v in document["vectors"] if v["slug"] == "dependency-latency")
    record.update(mttd_target_minutes=11, name="Dependency latency (upstream)")
    summary = restore(app, document)
    assert (summary.vectors_updated, summary.created) == (1, 0)
    session.expire_all()
    vector = session.scalar(select(Vector).where(Vector.slug == "dependency-latency"))
    assert (vector.mttd_target_minutes, vector.name) == (11, "Dependency latency (upstream)")
    assert session.scalar(select(Incident)).vector_slugs == ["dependency-latency"]


# ---- found in review --------------------------------------------------------------


def test_an_external_id_that_differs_only_by_spaces_is_the_same_incident(
    app, session, small_backup
):
    """The duplicate check uses the value as it would be stored (trimmed), so a copy of an
    incident already here is skipped, not a clash with the unique index."""
    incident = session.scalars(select(Incident).order_by(Incident.id)).first()
    incident.external_source, incident.external_id = "statuspage", "abc"
    session.commit()
    small_backup["incidents"][0].update(external_source="statuspage", external_id="abc ")
    summary = restore(app, small_backup)
    assert (summary.created, summary.already_imported) == (2, 1)


def test_a_backup_taken_during_writes_is_one_snapshot(app, session):
    """A vector and an incident on it created after the export began are in neither part of
    the file: the document never names a vector it does not hold."""
    make_incident(session)
    chunks = backup_chunks_on_own_session(app)
    head = next(chunks)
    writer = app.extensions["catalog.sessionmaker"]()
    create_vector(writer, {"name": "Late vector", "category": "other"})
    writer.flush()
    create_incident(writer, incident_data(vectors=["late-vector"], title="Late incident"))
    writer.commit()
    writer.close()
    document = json.loads(head + "".join(chunks))
    assert "late-vector" not in [v["slug"] for v in document["vectors"]]
    assert [i["title"] for i in document["incidents"]] == ["Vector DB latency spike"]


def backup_chunks_on_own_session(app):  # type: ignore[no-untyped-def]
    session = app.extensions["catalog.sessionmaker"]()
    try:
        yield from backup_chunks(session)
    finally:
        session.close()


def test_a_name_moved_between_vectors_restores_into_a_fresh_database(
    app, session, app_config, tmp_path, backend
):
    """Seeded `data-drift` renamed, its old name given to a new vector: checked one at a time
    against the fresh database's seeded names, this valid backup would be refused."""
    drift = session.scalar(select(Vector).where(Vector.slug == "data-drift"))
    drift.name = "Drift (old)"
    session.commit()
    create_vector(session, {"name": "Data drift", "slug": "a-new-drift", "category": "drift"})
    session.commit()
    first = export(app)
    with fresh_database(backend, tmp_path) as url, second_app(app_config, url) as other:
        restore(other, json.loads(first))
        assert export(other) == first
