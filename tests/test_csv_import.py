"""The incident CSV back in: round trip, idempotence, all or nothing by line.

The CSV import reads what the CSV export writes, so export → delete → import must give the
same incidents back (the CSV carries no summary or post-mortem; that is what the JSON
backup is for), and a hand-written file must import once however often it is fed in. One
bad line refuses the whole file, naming the line, and writes nothing.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from factories import T0, incident_data
from helpers.backup import delete_all_incidents, imported, state
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.demo import load_demo
from catalog.errors import ValidationError
from catalog.exports.incidents_csv import HEADER, incident_csv_chunks
from catalog.imports.formats import run_import
from catalog.imports.incidents_csv import import_incidents_csv
from catalog.incidents.models import TIMESTAMP_FIELDS, Incident
from catalog.incidents.service import IncidentFilters, create_incident
from catalog.settings import settings_of
from catalog.vectors.models import Vector
from catalog.vectors.service import set_archived

FORMULAS = ("=SUM(A1:A3) in the report", "+44 callers paged", "-1 answers returned", "@here paged")


# ---- helpers ---------------------------------------------------------------------


def export_csv(app, **filters: Any) -> str:  # type: ignore[no-untyped-def]
    session = app.extensions["catalog.sessionmaker"]()
    try:
        settings = settings_of(app)
        return "".join(incident_csv_chunks(session, settings, IncidentFilters(**filters)))
    finally:
        session.close()


def incidents_by_uid(app) -> dict[str, tuple[Any, ...]]:  # type: ignore[no-untyped-def]
    """What a CSV carries of each incident, by uid."""
    session = app.extensions["catalog.sessionmaker"]()
    try:
        return {
            i.uid: (
                i.title,
                i.severity,
                i.service,
                i.team,
                i.detection_source,
                *(getattr(i, f) for f in TIMESTAMP_FIELDS),
                tuple(sorted(i.vector_slugs)),
            )
            for i in session.scalars(select(Incident))
        }
    finally:
        session.close()


def csv_import(app, text: str, **kwargs: Any):  # type: ignore[no-untyped-def]
    return imported(app, import_incidents_csv, text, **kwargs)


def without_ids(text: str) -> list[list[str]]:
    """The rows of an export without the database id, which differs after a re-import."""
    return [row[1:] for row in csv.reader(io.StringIO(text, newline=""))]


def add_awkward_incidents(session: Session) -> None:
    """Formula-like text the export guards with an apostrophe, Unicode, a line break
    inside a cell, microseconds and several vectors."""
    for n, title in enumerate(FORMULAS):
        start = T0 + timedelta(hours=n, microseconds=250_000)
        create_incident(
            session,
            incident_data(
                title=title,
                service="=cmd" if n == 0 else "chat-api",
                team="Zürich ✓ 日本語",
                vectors=["data-drift", "model-poisoning"] if n == 1 else ["dependency-latency"],
                started_at=start,
                detected_at=start + timedelta(minutes=3),
                acknowledged_at=start + timedelta(minutes=4),
                mitigated_at=start + timedelta(minutes=6),
                recovered_at=start + timedelta(minutes=20),
            ),
        )
    create_incident(session, incident_data(title='Two "lines",\nin one cell'))
    session.commit()


# ---- round trip and idempotence -----------------------------------------------------


def test_csv_export_delete_import_gives_the_same_incidents_back(app, session):
    load_demo(session, count=30, seed=11)
    add_awkward_incidents(session)
    before = incidents_by_uid(app)
    text = export_csv(app)
    delete_all_incidents(app)

    summary = csv_import(app, text)
    assert (summary.created, summary.already_imported, summary.records) == (35, 0, 35)
    assert incidents_by_uid(app) == before  # same uids, timestamps to the µs, vectors, text
    assert without_ids(export_csv(app)) == without_ids(text)

    again = csv_import(app, text)
    assert (again.created, again.already_imported) == (0, 35)
    assert again.describe() == "Created 0 incidents from 35 records; 35 already imported."
    assert incidents_by_uid(app) == before


def test_history_on_an_archived_vector_comes_back_from_a_csv(app, session):
    """Like a backup, a CSV carries history: an incident may name a vector archived since."""
    create_incident(session, incident_data(vectors=["model-poisoning"]))
    session.commit()
    set_archived(
        session, session.scalar(select(Vector).where(Vector.slug == "model-poisoning")), True
    )
    session.commit()
    before = incidents_by_uid(app)
    text = export_csv(app)
    delete_all_incidents(app)
    assert csv_import(app, text).created == 1
    assert incidents_by_uid(app) == before


def test_importing_an_export_into_its_own_database_creates_nothing(app, session):
    add_awkward_incidents(session)
    before = state(app)
    summary = csv_import(app, export_csv(app))
    assert (summary.created, summary.already_imported) == (0, 5)
    assert state(app) == before


def test_formula_guarded_cells_come_back_without_the_apostrophe(app, session):
    add_awkward_incidents(session)
    text = export_csv(app)
    titles = [row[HEADER.index("title")] for row in csv.reader(io.StringIO(text, newline=""))]
    assert [t for t in titles if t.startswith("'")] == [f"'{t}" for t in FORMULAS]
    assert "'=cmd" in text  # the service cell too
    delete_all_incidents(app)
    csv_import(app, text)
    session.expire_all()
    assert sorted(session.scalars(select(Incident.title))) == sorted(
        [*FORMULAS, 'Two "lines",\nin one cell']
    )
    assert session.scalar(select(Incident.service).where(Incident.title == FORMULAS[0])) == "=cmd"


def test_text_that_really_starts_with_an_apostrophe_survives_the_round_trip(app, session):
    """A title such as `'--force' ignored` is text, not a formula guard: the export must
    write it so that the import gives the same title back."""
    create_incident(session, incident_data(title="'--force' flag ignored by the deployer"))
    create_incident(session, incident_data(title="'=' in a label broke the parser"))
    session.commit()
    before = incidents_by_uid(app)
    text = export_csv(app)
    delete_all_incidents(app)
    csv_import(app, text)
    assert incidents_by_uid(app) == before


HAND_WRITTEN = (
    "title,severity,service,team,vectors,started_at,detected_at,recovered_at\n"
    "Chat timeouts,SEV2,chat-api,assistant,dependency-latency,"
    "2026-03-02T12:00:00Z,2026-03-02T12:04:00Z,2026-03-02T12:30:00Z\n"
    "Ranker drift,SEV3,ranker,search,data-drift;model-poisoning,"
    "2026-03-03T08:00:00+01:00,2026-03-03T08:30:00+01:00,\n"
    "\n"
)


def test_a_hand_written_csv_without_uids_imports_once(app, session):
    """Without a uid column the identity is derived from title, service and start."""
    first = csv_import(app, HAND_WRITTEN)
    assert first.created == 2 and first.records == 2  # the blank line is not a record
    uids = sorted(session.scalars(select(Incident.uid)))
    assert all(re.fullmatch(r"csv-[0-9a-f]{32}", uid) for uid in uids), uids
    ranker = session.scalar(select(Incident).where(Incident.title == "Ranker drift"))
    assert ranker.started_at == datetime.fromisoformat("2026-03-03T07:00:00+00:00")
    assert ranker.recovered_at is None and ranker.detection_source == "alert"
    assert sorted(ranker.vector_slugs) == ["data-drift", "model-poisoning"]

    again = csv_import(app, HAND_WRITTEN)
    assert (again.created, again.already_imported) == (0, 2)
    exported = csv_import(app, export_csv(app))  # and its own export names the same uids
    assert (exported.created, exported.already_imported) == (0, 2)
    assert sorted(session.scalars(select(Incident.uid))) == uids


def test_a_byte_order_mark_and_crlf_line_ends_are_read(app, session):
    raw = b"\xef\xbb\xbf" + HAND_WRITTEN.replace("\n", "\r\n").encode()
    summary = run_import(session, "csv", raw)
    session.commit()
    assert summary.created == 2


def test_the_default_vector_applies_only_to_rows_that_name_none(app, session, runner, tmp_path):
    path = tmp_path / "incidents.csv"
    path.write_text(
        "title,severity,service,vectors,started_at,detected_at\n"
        "No vector named,SEV3,ranker,,2026-03-02T12:00:00Z,2026-03-02T12:05:00Z\n"
        "Own vector,SEV3,ranker,model-poisoning,2026-03-02T13:00:00Z,2026-03-02T13:05:00Z\n",
        encoding="utf-8",
    )
    refused = runner.invoke(args=["import", str(path)])  # csv told from the extension
    assert refused.exit_code == 1
    assert "Line 2 is refused; nothing was imported." in refused.output
    assert "line 2: vectors" in refused.output
    assert state(app)["counts"]["Incident"] == 0

    result = runner.invoke(args=["import", str(path), "--vector", "data-drift"])
    assert result.exit_code == 0, result.output
    assert "Created 2 incidents from 2 records; 0 already imported." in result.output
    slugs = {i.title: i.vector_slugs for i in session.scalars(select(Incident))}
    assert slugs == {"No vector named": ["data-drift"], "Own vector": ["model-poisoning"]}


def test_api_imports_a_csv_with_a_default_vector(app, client):
    body = b"title,severity,service,started_at,detected_at\nX,SEV4,svc,2026-03-02T12:00:00Z,2026-03-02T12:00:00Z\n"
    response = client.post(
        "/api/v1/imports",
        query_string={"format": "csv", "vector": "data-drift"},
        data=body,
        content_type="text/csv",
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert (response.json["source"], response.json["created"]) == ("csv", 1)
    unknown = client.post(
        "/api/v1/imports",
        query_string={"format": "csv", "vector": "no-such-vector"},
        data=body,
        content_type="text/csv",
    )
    assert unknown.status_code == 422 and "vector" in unknown.json["error"]["fields"]


# ---- all or nothing, by line ------------------------------------------------------


HEAD = "title,severity,service,vectors,started_at,detected_at\n"
GOOD = "Fine,SEV3,ranker,data-drift,2026-03-02T12:00:00Z,2026-03-02T12:05:00Z\n"


def row(**cells: str) -> str:
    values = {
        "title": "Bad",
        "severity": "SEV3",
        "service": "ranker",
        "vectors": "data-drift",
        "started_at": "2026-03-02T14:00:00Z",
        "detected_at": "2026-03-02T14:05:00Z",
        **cells,
    }
    return ",".join(values[name] for name in HEAD.strip().split(",")) + "\n"


@pytest.mark.parametrize(
    "text, field, words",
    [
        (HEAD + GOOD + row(severity="SEV9"), "line 3: severity", "SEV1"),
        (HEAD.replace(",detected_at", "") + "a,SEV3,r,data-drift,2026-03-02T12:00:00Z\n",
         "line 1: header", "Missing required columns: detected_at"),
        (HEAD.replace("\n", ",colour\n") + GOOD.replace("\n", ",red\n"),
         "line 1: header", "Unknown columns 'colour'"),
        (HEAD.replace("\n", ",title\n") + GOOD.replace("\n", ",x\n"),
         "line 1: header", "A column appears twice."),
        (HEAD + GOOD + GOOD.replace("\n", ",extra\n"), "line 3: row", "Has 7 cells"),
        (HEAD + GOOD + "Short,SEV3\n", "line 3: row", "Has 2 cells"),
        (HEAD + GOOD + row(started_at="tuesday"), "line 3: started_at", "ISO 8601"),
        (HEAD + GOOD + row(started_at="2026-03-02T14:00:00"), "line 3: started_at", "offset"),
        (HEAD + GOOD + row(detected_at="2026-03-02T13:00:00Z"), "line 3: detected_at",
         "cannot be before Started"),
        (HEAD + GOOD + row(vectors=""), "line 3: vectors", "no default vector"),
        (HEAD + GOOD + row(vectors="no-such-vector"), "line 3: vectors", "Unknown failure vector"),
        (HEAD + GOOD + row(title=""), "line 3: title", "required"),
        (HEAD.replace("title,", "uid,title,") + "has space," + GOOD, "line 2: uid", "uid"),
        (HEAD + GOOD + '"Unclosed,SEV3,ranker,data-drift,2026-03-02T12:00:00Z,x\n',
         "line 3: csv", "Not readable as CSV"),
        ("", "line 1: header", "empty"),
    ],
)  # fmt: skip
def test_a_bad_line_refuses_the_whole_file_and_names_the_line(app, session, text, field, words):
    make_first = GOOD.replace("Fine", "Already here")
    csv_import(app, HEAD + make_first)  # something in the database the refusal must not touch
    before = state(app)
    with pytest.raises(ValidationError) as caught:
        csv_import(app, text)
    assert field in caught.value.fields, caught.value.fields
    assert words in " ".join(caught.value.fields[field])
    line = field.split(":")[0].split()[1]
    assert caught.value.message == f"Line {line} is refused; nothing was imported."
    assert state(app) == before


def test_line_numbers_count_the_lines_of_a_cell_that_spans_several(app):
    """As an editor shows the file: the row after a two-line cell starts on line 4."""
    text = HEAD + row(title='"Two\nlines"') + row(severity="SEV0")
    with pytest.raises(ValidationError) as caught:
        csv_import(app, text)
    assert "line 4: severity" in caught.value.fields


def test_an_unknown_default_vector_is_refused_before_any_line(app):
    with pytest.raises(ValidationError) as caught:
        csv_import(app, HEAD + GOOD, default_vector="no-such-vector")
    assert list(caught.value.fields) == ["vector"]


def test_a_csv_larger_than_a_flush_batch_imports_once(app, session, monkeypatch):
    """The import flushes and forgets every few hundred rows; nothing is lost or doubled."""
    import catalog.imports.incidents_csv as csv_module

    monkeypatch.setattr(csv_module, "FLUSH_EVERY", 4)
    lines = [HEAD.strip()]
    for n in range(11):
        lines.append(f"Row {n},SEV3,ranker,data-drift,2026-03-02T12:00:00Z,2026-03-02T12:05:00Z")
    text = "\n".join(lines) + "\n"
    assert csv_import(app, text).created == 11
    assert csv_import(app, text).already_imported == 11
    assert state(app)["counts"]["Incident"] == 11


def test_cli_import_of_a_bad_csv_exits_non_zero_and_writes_nothing(app, runner, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(HEAD + GOOD + row(severity="SEV9"), encoding="utf-8")
    before = state(app)
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 1
    assert "Line 3 is refused; nothing was imported." in result.output
    assert "line 3: severity" in result.output
    assert state(app) == before
