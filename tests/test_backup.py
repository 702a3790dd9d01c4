"""The JSON backup: export, restore into an empty database, idempotence, all or nothing.

The promise of the format (catalog/exports/backup.py) is that export → import
into an empty database → export gives the same bytes, on either backend and
across them; that importing twice, or into the database a backup came from,
creates nothing; and that one bad record anywhere leaves the database exactly
as it was, with the record's place named. Every surface (the domain function,
the CLI, the API, the upload page) is held to that.
"""

from __future__ import annotations

import copy
import io
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import BACKENDS, scratch_pg_database, signed_in_client
from factories import T0, incident_data, make_incident
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog import create_app
from catalog.audit.models import AuditEvent
from catalog.demo import load_demo
from catalog.errors import ValidationError
from catalog.exports.backup import (
    ACTION_ITEM_FIELDS,
    FORMAT,
    INCIDENT_FIELDS,
    POSTMORTEM_FIELDS,
    VECTOR_FIELDS,
    backup_chunks,
)
from catalog.imports.backup import import_backup
from catalog.imports.formats import detect_format, run_import
from catalog.incidents.models import Incident, incident_vectors
from catalog.incidents.service import create_incident
from catalog.migrate import upgrade
from catalog.postmortems.models import ActionItem, Postmortem
from catalog.postmortems.service import save_postmortem
from catalog.vectors.models import Vector
from catalog.vectors.service import create_vector, set_archived

UNICODE = "Zürich «naïve» ✓ 日本語 🚨"
FORMULA = '=HYPERLINK("http://evil.example","click")'
DEMO_COUNT = 40

# ---- helpers -------------------------------------------------------------------


def build_catalog(session: Session) -> None:
    """Everything a backup must carry: demo history with post-mortems and action items,
    a custom vector, an archived vector with an incident, an incident with an external
    id, Unicode, formula-like text and a timestamp with microseconds."""
    load_demo(session, count=DEMO_COUNT, seed=5)
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
            for model in (Incident, Vector, Postmortem, ActionItem)
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


# ---- round trip ------------------------------------------------------------------


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
    assert (document["format"], document["version"]) == (FORMAT, 1)
    assert set(document) == {"format", "version", "vectors", "incidents"}
    assert [v["slug"] for v in document["vectors"]] == sorted(
        v["slug"] for v in document["vectors"]
    )
    for vector in document["vectors"]:
        assert list(vector) == list(VECTOR_FIELDS)
    for record in document["incidents"]:
        assert list(record) == [*INCIDENT_FIELDS, "vectors", "postmortem"]
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
    assert external["started_at"].endswith(".123456Z")
    items = external["postmortem"]["action_items"]
    assert items[0]["title"].startswith("=cmd") and items[0]["due_on"] == "2026-04-01"
    assert items[0]["link"] == "https://example.com/tickets/1"
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


# ---- all or nothing --------------------------------------------------------------


@pytest.fixture
def small_backup(app, session) -> dict[str, Any]:
    """Three incidents (the last with a post-mortem and action items) as a backup whose
    incidents are all new to this database, and whose first vector changes a target,
    so a refused import that wrote anything would show."""
    for n in range(3):
        start = T0 + timedelta(hours=n)
        make_incident(
            session,
            title=f"Incident {n}",
            started_at=start,
            detected_at=start + timedelta(minutes=2),
            recovered_at=start + timedelta(minutes=10),
        )
    last = session.scalars(select(Incident).order_by(Incident.id.desc())).first()
    save_postmortem(
        session,
        last,
        {
            "status": "draft",
            "action_items": [{"title": "Add an alert", "owner": "li.wei", "due_on": None}],
        },
    )
    session.commit()
    document = json.loads(export(app))
    for n, record in enumerate(document["incidents"]):
        record["uid"] = f"new-{n}"
    document["vectors"][0]["mttd_target_minutes"] = 99
    return document


DELETE = object()  # _set's value for "take the key out"


def _set(path: str, value: Any):  # type: ignore[no-untyped-def]
    """A change to a backup document at a dotted path such as `incidents.2.started_at`."""

    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = document
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is DELETE:
            del target[last]
        else:
            target[int(last) if last.isdigit() else last] = value

    return change


BAD_RECORDS = {  # the kinds of mistake a hand-edited or damaged backup holds
    "bad timestamp": (_set("incidents.2.started_at", "yesterday"), "incidents[2].started_at"),
    "naive timestamp": (
        _set("incidents.2.started_at", "2026-03-02T12:00:00"),
        "incidents[2].started_at",
    ),
    "detected before started": (
        _set("incidents.2.detected_at", "2026-03-02T11:00:00Z"),
        "incidents[2].detected_at",
    ),
    "unknown vector slug": (
        _set("incidents.2.vectors", ["no-such-vector"]),
        "incidents[2].vectors",
    ),
    "missing uid": (_set("incidents.2.uid", DELETE), "incidents[2].uid"),
    "unknown key": (_set("incidents.2.colour", "red"), "incidents[2].colour"),
    "bad action item title": (
        _set("incidents.2.postmortem.action_items.0.title", ""),
        "incidents[2].postmortem.action_items[0].title",
    ),
    "bad vector name": (_set("vectors.1.name", ""), "vectors[1].name"),
    "wrong format": (_set("format", "something-else"), "format"),
    "wrong version": (_set("version", 2), "version"),
    "incidents not a list": (_set("incidents", {"0": {}}), "incidents"),
}
MORE_BAD_RECORDS = [
    (_set("incidents.2.vectors", []), "incidents[2].vectors"),
    (_set("incidents.2.uid", "has spaces"), "incidents[2].uid"),
    (_set("incidents.2.uid", "x" * 41), "incidents[2].uid"),
    (_set("incidents.2.severity", "SEV9"), "incidents[2].severity"),
    (_set("incidents.2.title", "bell\x07"), "incidents[2].title"),
    (_set("incidents.2.recovered_at", 1772452800), "incidents[2].recovered_at"),
    (_set("incidents.2.external_source", "statuspage"), "incidents[2].external_id"),
    (
        _set("incidents.2.postmortem.action_items.0.due_on", "soon"),
        "incidents[2].postmortem.action_items[0].due_on",
    ),
    (
        _set("incidents.2.postmortem.action_items.0.link", "ftp://x"),
        "incidents[2].postmortem.action_items[0].link",
    ),
    (
        _set("incidents.2.postmortem.action_items.0.priority", 1),
        "incidents[2].postmortem.action_items[0].priority",
    ),
    (_set("incidents.2.postmortem.status", "done"), "incidents[2].postmortem.status"),
    (_set("incidents.2.postmortem.owner", "x"), "incidents[2].postmortem.owner"),
    (_set("incidents.2.postmortem", "none"), "incidents[2].postmortem"),
    (_set("incidents.2", "not an object"), "incidents[2]"),
    (_set("vectors.1.slug", "Not A Slug"), "vectors[1].slug"),
    (_set("vectors.1.mttr_target_minutes", 0), "vectors[1].mttr_target_minutes"),
    (_set("vectors.1.archived", True), "vectors[1].archived"),
    (_set("vectors.1.created_at", "long ago"), "vectors[1].created_at"),
    (_set("vectors.1", ["not", "an", "object"]), "vectors[1]"),
    (_set("format", DELETE), "format"),
    (_set("version", "1"), "version"),
    (_set("vectors", None), "vectors"),
    # found in review: each was a 500 or slipped through
    (_set("incidents.2.external_id", []), "incidents[2].external_id"),
    (_set("incidents.2.external_source", {}), "incidents[2].external_source"),
    (_set("incidents.2.uid", "zz\n"), "incidents[2].uid"),
    (_set("version", True), "version"),
    (_set("version", 1.0), "version"),
]


def assert_refused(app, document: dict[str, Any], field: str) -> None:  # type: ignore[no-untyped-def]
    before = state(app)
    with pytest.raises(ValidationError) as caught:
        restore(app, document)
    assert field in caught.value.fields, caught.value.fields
    if field.startswith("incidents[2]."):
        assert caught.value.message.startswith("Record incidents[2] ")
        assert caught.value.message.endswith("is refused; nothing was imported.")
    assert state(app) == before  # the vector change and incidents[0..1] were rolled back


@pytest.mark.parametrize("change, field", BAD_RECORDS.values(), ids=BAD_RECORDS.keys())
def test_one_bad_record_refuses_the_whole_backup_and_names_its_place(
    app, small_backup, change, field
):
    change(small_backup)
    assert_refused(app, small_backup, field)


def test_every_other_kind_of_bad_record_is_refused_the_same_way(app, small_backup):
    """One database for all of them: each refusal must leave it exactly as it was."""
    for change, field in MORE_BAD_RECORDS:
        document = copy.deepcopy(small_backup)
        change(document)
        assert_refused(app, document, field)


def test_the_refusal_names_the_record_by_index_and_uid(app, small_backup):
    small_backup["incidents"][1]["recovered_at"] = "2000-01-01T00:00:00Z"
    with pytest.raises(ValidationError) as caught:
        restore(app, small_backup)
    assert (
        caught.value.message == "Record incidents[1] (uid new-1) is refused; nothing was imported."
    )
    assert "incidents[1].recovered_at" in caught.value.fields


@pytest.mark.parametrize("document", [[], None, "backup", 1, {"format": FORMAT}])
def test_documents_that_are_not_backups_are_refused(app, document):
    before = state(app)
    with pytest.raises(ValidationError):
        restore(app, document)
    assert state(app) == before


# ---- raw files: formats.run_import ------------------------------------------------


def test_invalid_json_is_refused_with_its_line_and_column(session):
    with pytest.raises(ValidationError) as caught:
        run_import(session, "json", b'{"format": "failure-catalog-backup",\n  "version": 1,,\n}')
    [message] = caught.value.fields["file"]
    assert "line 2, column 16" in message, message


@pytest.mark.parametrize(
    "raw, words",
    [
        (b'{"format": "caf\xe9"}', "Not UTF-8"),
        (b"\xff\xfe{\x00}\x00", "Not UTF-8"),
        (b"", "empty"),
        (b"  \n\t ", "empty"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_unreadable_files_are_refused_as_the_file(session, raw, words):
    with pytest.raises(ValidationError) as caught:
        run_import(session, "json", raw)
    assert list(caught.value.fields) == ["file"]
    assert words in caught.value.fields["file"][0]


def test_unknown_format_is_refused(session):
    with pytest.raises(ValidationError) as caught:
        run_import(session, "xml", b"<incidents/>")
    assert "format" in caught.value.fields


def test_a_backup_saved_with_a_byte_order_mark_still_imports(app, session):
    """Windows editors add a BOM when they save UTF-8."""
    make_incident(session)
    raw = export(app).encode("utf-8")
    delete_all_incidents(app)
    summary = run_import(session, "json", b"\xef\xbb\xbf" + raw)
    session.commit()
    assert summary.created == 1


def test_the_format_is_told_from_the_extension_or_the_content(app, session):
    backup = export(app).encode()
    assert detect_format("incidents.CSV", b"id,uid,title") == "csv"
    assert detect_format("catalog.json", backup) == "json"
    assert detect_format("incidents.json", b'{"incidents": []}') == "statuspage"


# ---- API ---------------------------------------------------------------------------


def api_import(client, body: bytes, **params: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/imports",
        query_string=params,
        data=body,
        content_type="application/octet-stream",
    )


def test_api_imports_a_backup_dry_run_first(app, client, session):
    build_catalog(session)
    body = export(app).encode()
    delete_all_incidents(app)
    before = state(app)

    dry = api_import(client, body, format="json", dry_run="true")
    assert dry.status_code == 200, dry.get_data(as_text=True)
    assert dry.json["dry_run"] is True and dry.json["created"] == DEMO_COUNT + 2
    assert dry.json["message"].startswith("Would create")
    assert state(app) == before

    real = api_import(client, body, format="json")
    assert real.status_code == 200, real.get_data(as_text=True)
    expected = {"source": "backup", "created": DEMO_COUNT + 2, "already_imported": 0}
    assert expected.items() <= real.json.items()
    assert real.json["postmortems_created"] == state(app)["counts"]["Postmortem"] > 0
    assert state(app)["counts"]["Incident"] == DEMO_COUNT + 2
    assert export(app).encode() == body
    assert audited(app, "incident").get(client.user_email) == DEMO_COUNT + 2  # as its user

    again = api_import(client, body, format="json", dry_run="false")
    assert (again.json["created"], again.json["already_imported"]) == (0, DEMO_COUNT + 2)


def test_api_refuses_a_bad_backup_with_the_fields_and_writes_nothing(app, client, small_backup):
    before = state(app)
    small_backup["incidents"][2]["started_at"] = "not a time"
    response = api_import(client, json.dumps(small_backup).encode(), format="json")
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "validation_error"
    assert "incidents[2].started_at" in error["fields"]
    assert error["message"].startswith("Record incidents[2] (uid new-2) is refused")
    assert state(app) == before


@pytest.mark.parametrize(
    "params, field",
    [
        ({"format": "xml"}, "format"),
        ({}, "format"),
        ({"format": "json", "dry_run": "maybe"}, "dry_run"),
        ({"format": "statuspage", "vector_rule": "no-equals"}, "vector_rule"),
    ],
)
def test_api_refuses_bad_options_before_reading_the_file(client, params, field):
    response = api_import(client, b"{}", **params)
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]


@pytest.mark.parametrize(
    "body, words",
    [(b"{oops", "line 1, column 2"), (b"\xff\xfe", "Not UTF-8"), (b"", "empty")],
)
def test_api_refuses_unreadable_bodies_as_the_file(client, body, words):
    response = api_import(client, body, format="json")
    assert response.status_code == 422
    assert words in response.json["error"]["fields"]["file"][0]


def test_api_import_needs_an_editor(app, session):
    body = export(app).encode()
    viewer = signed_in_client(app, "viewer")
    assert api_import(viewer, body, format="json").status_code == 403
    editor = signed_in_client(app, "editor")
    assert api_import(editor, body, format="json", dry_run="1").status_code == 200
    anonymous = app.test_client()
    assert api_import(anonymous, body, format="json").status_code == 401


@pytest.fixture
def small_import_limit(app_config):  # type: ignore[no-untyped-def]
    app_config["IMPORT_MAX_BYTES"] = 3 * 1024 * 1024
    return app_config


def test_api_import_body_limit_is_its_own_not_the_global_two_mib(small_import_limit, app, client):
    """A 2.5 MiB backup is more than any other request may send, but fine for an import."""
    document = export(app)
    padded = document.encode() + b" " * (5 * 1024 * 1024 // 2)
    accepted = api_import(client, padded, format="json", dry_run="true")
    assert accepted.status_code == 200, accepted.get_data(as_text=True)[:300]
    too_big = api_import(client, padded + b" " * (1024 * 1024), format="json")
    assert too_big.status_code == 413
    assert too_big.json["error"]["message"] == "The request body is larger than 3 MiB."
    # every other endpoint keeps the global limit
    other = client.post("/api/v1/incidents", data=padded, content_type="application/json")
    assert other.status_code == 413


def test_backup_downloads_match_the_cli_export_byte_for_byte(
    app, client, session, runner, tmp_path
):
    build_catalog(session)
    path = tmp_path / "backup.json"
    result = runner.invoke(args=["export", "--format", "json", "-o", str(path)])
    assert result.exit_code == 0, result.output
    cli_bytes = path.read_bytes()
    api = client.get("/api/v1/exports/backup.json")
    web = client.get("/exports/backup.json")
    for response in (api, web):
        assert response.status_code == 200
        assert response.mimetype == "application/json"
        assert response.headers["Content-Disposition"].startswith(
            'attachment; filename="catalog-backup-'
        )
        assert response.get_data() == cli_bytes
    stdout = runner.invoke(args=["export", "--format", "json"])
    assert stdout.stdout_bytes == cli_bytes


def test_a_viewer_may_download_the_backup(app):
    viewer = signed_in_client(app, "viewer")
    assert viewer.get("/api/v1/exports/backup.json").status_code == 200
    assert viewer.get("/exports/backup.json").status_code == 200


# ---- the upload page ----------------------------------------------------------------

GOOD_CSV = (
    "title,severity,service,vectors,started_at,detected_at\r\n"
    "Chat timeouts,SEV2,chat-api,dependency-latency,2026-03-02T12:00:00Z,2026-03-02T12:04:00Z\r\n"
    "Drifted ranker,SEV3,ranker,data-drift,2026-03-03T08:00:00Z,2026-03-03T09:00:00Z\r\n"
)


def upload(client, raw: bytes, filename: str, **fields: str):  # type: ignore[no-untyped-def]
    """The form as a script might post it: fields left out (vector, rules) take their defaults."""
    data: dict[str, Any] = {"format": "csv", **fields}
    data["file"] = (io.BytesIO(raw), filename)
    return client.post("/imports/", data=data, content_type="multipart/form-data")


def test_upload_page_shows_the_form(client):
    response = client.get("/imports/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html
    for name in ("file", "format", "vector", "rules", "dry_run"):
        assert f'name="{name}"' in html
    assert "Failure Catalog JSON backup" in html


def test_upload_of_a_bad_csv_names_the_line_and_writes_nothing(app, client):
    before = state(app)
    bad = GOOD_CSV + "Bad row,SEV7,ranker,data-drift,2026-03-03T08:00:00Z,2026-03-03T09:00:00Z\r\n"
    response = upload(client, bad.encode(), "incidents.csv")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Line 4 is refused; nothing was imported." in html
    assert "line 4: severity" in html
    assert state(app) == before


def test_upload_dry_run_says_so_and_writes_nothing(app, client):
    before = state(app)
    response = upload(client, GOOD_CSV.encode(), "incidents.csv", dry_run="y")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Dry run, nothing written." in html
    assert "Would create 2 incidents from 2 records" in html
    assert state(app) == before


def test_upload_imports_redirects_and_says_what_it_did(app, client, session):
    response = upload(client, GOOD_CSV.encode(), "incidents.csv")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/imports/")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Created 2 incidents from 2 records; 0 already imported." in page
    titles = sorted(session.scalars(select(Incident.title)))
    assert titles == ["Chat timeouts", "Drifted ranker"]
    again = upload(client, GOOD_CSV.encode(), "incidents.csv")
    assert again.status_code == 302
    assert "Created 0 incidents from 2 records; 2 already imported." in client.get(
        "/imports/"
    ).get_data(as_text=True)


def test_upload_restores_a_backup(app, client, session):
    build_catalog(session)
    raw = export(app).encode()
    delete_all_incidents(app)
    response = upload(client, raw, "catalog-backup.json", format="json")
    assert response.status_code == 302
    assert state(app)["counts"]["Incident"] == DEMO_COUNT + 2
    assert export(app).encode() == raw


def test_upload_without_a_file_or_with_a_non_utf8_file_is_refused(app, client):
    before = state(app)
    missing = client.post(
        "/imports/",
        data={"format": "csv", "vector": "", "rules": ""},
        content_type="multipart/form-data",
    )
    assert missing.status_code == 422
    assert "Choose a file to import." in missing.get_data(as_text=True)
    latin1 = upload(client, GOOD_CSV.replace("Chat", "Caf\xe9").encode("latin-1"), "x.csv")
    assert latin1.status_code == 422
    assert "Not UTF-8" in latin1.get_data(as_text=True)
    assert state(app) == before


def test_upload_refuses_bad_vector_rules(app, client):
    response = upload(client, b'{"incidents": []}', "x.json", format="statuspage", rules="(=x")
    assert response.status_code == 422
    assert "vector_rule" in response.get_data(as_text=True)


def multipart(raw: bytes, **fields: str) -> tuple[bytes, str]:
    """A multipart body built by hand (the test client spools large files to temporary
    files it never closes, which this suite's warnings-as-errors would report)."""
    boundary = "catalog-test-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n".encode()
        + raw
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def test_upload_takes_files_over_two_mib_up_to_the_import_limit(small_import_limit, app, client):
    raw = GOOD_CSV.encode() + b"\r\n" * (5 * 1024 * 1024 // 4)  # 2.5 MiB, blank lines
    fields = {"format": "csv", "vector": "", "rules": "", "dry_run": "y"}
    body, content_type = multipart(raw, **fields)
    accepted = client.post("/imports/", data=body, content_type=content_type)
    assert accepted.status_code == 200
    assert "Would create 2 incidents from 2 records" in accepted.get_data(as_text=True)
    body, content_type = multipart(raw + b"\r\n" * (1024 * 1024), **fields)
    assert client.post("/imports/", data=body, content_type=content_type).status_code == 413


def test_upload_page_needs_an_editor(app):
    viewer = signed_in_client(app, "viewer")
    assert viewer.get("/imports/").status_code == 403
    assert upload(viewer, GOOD_CSV.encode(), "x.csv").status_code == 403
    editor = signed_in_client(app, "editor")
    assert editor.get("/imports/").status_code == 200


# ---- CLI ---------------------------------------------------------------------------


def test_cli_export_then_import_dry_run_real_and_again(app, runner, session, tmp_path):
    build_catalog(session)
    path = tmp_path / "catalog-backup.json"
    assert runner.invoke(args=["export", "--format", "json", "-o", str(path)]).exit_code == 0
    original = path.read_bytes()
    delete_all_incidents(app)
    n = DEMO_COUNT + 2

    dry = runner.invoke(args=["import", str(path), "--dry-run"])  # json told from its content
    assert dry.exit_code == 0, dry.output
    assert f"Would create {n} incidents from {n} records" in dry.output
    assert state(app)["counts"]["Incident"] == 0

    real = runner.invoke(args=["import", str(path)])
    assert real.exit_code == 0, real.output
    assert f"Created {n} incidents from {n} records; 0 already imported" in real.output
    assert export(app).encode() == original
    assert audited(app, "incident").get("cli") == n

    again = runner.invoke(args=["import", str(path), "--format", "json"])
    assert again.exit_code == 0, again.output
    assert f"Created 0 incidents from {n} records; {n} already imported" in again.output


def test_cli_import_of_a_bad_backup_fails_with_the_place_and_writes_nothing(
    app, runner, small_backup, tmp_path
):
    before = state(app)
    small_backup["incidents"][2]["postmortem"]["action_items"][0]["title"] = " "
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(small_backup), encoding="utf-8")
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 1
    assert "Record incidents[2] (uid new-2) is refused; nothing was imported." in result.output
    assert "incidents[2].postmortem.action_items[0].title" in result.output
    assert state(app) == before


def test_cli_export_refuses_csv_filters_with_other_formats(runner):
    result = runner.invoke(args=["export", "--format", "json", "--severity", "SEV1"])
    assert result.exit_code == 2
    assert "Filters apply to --format csv only." in result.output


def test_refused_import_leaves_no_partial_rows_even_after_many_good_ones(app, session):
    """The bad record comes after a flush of the good ones: still nothing is kept."""
    build_catalog(session)
    document = json.loads(export(app))
    delete_all_incidents(app)
    before = state(app)
    document["incidents"][-1]["detected_at"] = "1999-12-31T23:59:59Z"
    with pytest.raises(ValidationError) as caught:
        restore(app, document)
    last = len(document["incidents"]) - 1
    assert f"incidents[{last}].detected_at" in caught.value.fields
    assert state(app) == before


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
