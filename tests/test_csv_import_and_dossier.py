"""The incident CSV back in (all or nothing, by line), and the dossier built from the catalog.

The CSV import reads what the CSV export writes, so export → delete → import
must give the same incidents back (the CSV carries no summary or post-mortem;
that is what the JSON backup is for), and a hand-written file must import
once however often it is fed in. The dossier is a document for readers outside
the team: its figures must be the metrics module's, its readiness checks must
flip exactly at their thresholds, and user text must not break its tables or
its HTML.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from conftest import signed_in_client
from factories import T0, incident_data
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session
from test_backup import delete_all_incidents, imported, state

from catalog.db import utcnow
from catalog.demo import load_demo
from catalog.errors import ValidationError
from catalog.exports.dossier import DOSSIER_CSP, HALF, build_dossier, dossier_markdown
from catalog.exports.incidents_csv import HEADER, incident_csv_chunks
from catalog.imports.formats import run_import
from catalog.imports.incidents_csv import import_incidents_csv
from catalog.incidents.models import TIMESTAMP_FIELDS, Incident
from catalog.incidents.service import IncidentFilters, create_incident
from catalog.postmortems.service import save_postmortem
from catalog.reports.metrics import compute_metrics
from catalog.timefmt import human_duration
from catalog.vectors.models import Vector
from catalog.vectors.service import create_vector, set_archived

FORMULAS = ("=SUM(A1:A3) in the report", "+44 callers paged", "-1 answers returned", "@here paged")

# ---- CSV: helpers ---------------------------------------------------------------------


def export_csv(app, **filters: Any) -> str:  # type: ignore[no-untyped-def]
    session = app.extensions["catalog.sessionmaker"]()
    try:
        settings = app.extensions["catalog.settings"]
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


# ---- CSV: round trip and idempotence -----------------------------------------------------


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


# ---- CSV: all or nothing, by line ------------------------------------------------------

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


# ---- dossier: helpers ----------------------------------------------------------------------


def dossier_at(app, session, settings, now: datetime):  # type: ignore[no-untyped-def]
    with app.app_context():
        built = build_dossier(session, settings, now=now)
        return built, dossier_markdown(built)


def add(
    session: Session,
    start: datetime,
    *,
    ttd: float = 4,
    ttr: float = 12,
    vectors: tuple[str, ...] = ("dependency-latency",),
    title: str = "Controlled incident",
) -> Incident:
    """An incident with a TTD and TTR in minutes (TTR from detected, the default)."""
    detected = start + timedelta(minutes=ttd)
    return create_incident(
        session,
        incident_data(
            title=title,
            vectors=list(vectors),
            started_at=start,
            detected_at=detected,
            recovered_at=detected + timedelta(minutes=ttr),
        ),
    )


def publish(session: Session, incident: Incident, *, after: timedelta, status: str = "published"):  # type: ignore[no-untyped-def]
    save_postmortem(
        session,
        incident,
        {"status": status, "root_cause_at": incident.detected_at + after, "root_cause": "x"},
    )


def check(d, label_start: str):  # type: ignore[no-untyped-def]
    return next(c for c in d.checks if c.label.startswith(label_start))


@pytest.fixture
def now() -> datetime:
    """The dossier's clock, pinned; controlled incidents are placed relative to it."""
    return utcnow().replace(microsecond=0) - timedelta(minutes=1)


def table_row(markdown: str, name: str) -> list[str]:
    """The cells of the per-vector table row for `name` (pipes inside cells are escaped)."""
    for line in markdown.splitlines():
        if line.startswith(f"| {name} ") and line.count(" | ") >= 8:
            return [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
    raise AssertionError(f"no table row for {name!r}")


# ---- dossier: from demo data ---------------------------------------------------------------


def test_dossier_page_shows_every_active_vector_and_the_readiness_with_its_own_csp(client, session):
    load_demo(session, count=40, seed=2)
    response = client.get("/exports/dossier")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    csp = response.headers["Content-Security-Policy"]
    assert csp == DOSSIER_CSP and "script-src" not in csp and "default-src 'none'" in csp
    assert "Content-Disposition" not in response.headers
    html = response.get_data(as_text=True)
    for vector in session.scalars(select(Vector).where(Vector.archived_at.is_(None))):
        assert str(escape(vector.name)) in html
    assert '<h2 id="readiness">Readiness</h2>' in html
    assert html.count('class="pass"') + html.count('class="fail"') == 3
    assert "<script" not in html
    assert "Download Markdown" in html  # the toolbar, on the page to read


def test_dossier_markdown_figures_are_the_metrics_modules(app, session, settings, now):
    load_demo(session, count=60, seed=4)
    d, markdown = dossier_at(app, session, settings, now)
    report = compute_metrics(
        session,
        settings,
        group_by="vector",
        filters=IncidentFilters(since=now - 2 * HALF, until=now),
        now=now,
    )
    assert [line.metrics for line in d.vectors] == report.groups
    assert "## Catalog: targets and results per vector" in markdown
    for group in report.groups:
        cells = table_row(markdown, group.label)
        ttd, ttr = group.ttd, group.ttr
        assert cells[1] == str(group.count)
        assert cells[2] == " / ".join(human_duration(v) for v in (ttd.median, ttd.p90, ttd.mean))
        assert cells[5] == " / ".join(human_duration(v) for v in (ttr.median, ttr.p90, ttr.mean))
        assert (cells[3], cells[6]) == (human_duration(ttd.target), human_duration(ttr.target))
    overall = compute_metrics(
        session, settings, filters=IncidentFilters(since=now - 2 * HALF, until=now), now=now
    ).groups[0]
    assert f"| MTTD | {human_duration(overall.ttd.median)} |" in markdown
    assert f"{overall.count} incidents in the last 12 months" in markdown


def test_dossier_downloads_and_the_api_markdown(app, client, session):
    load_demo(session, count=20, seed=3)
    stamp = utcnow().strftime("%Y%m%d")
    html = client.get("/exports/dossier", query_string={"download": "1"})
    assert html.status_code == 200
    assert html.headers["Content-Disposition"] == (
        f'attachment; filename="failure-catalog-dossier-{stamp}.html"'
    )
    assert "Download Markdown" not in html.get_data(as_text=True)  # no toolbar in the file
    md = client.get("/exports/dossier", query_string={"format": "md", "download": "1"})
    assert md.mimetype == "text/markdown"
    assert md.headers["Content-Disposition"].endswith(f'-{stamp}.md"')
    api = client.get("/api/v1/exports/dossier.md")
    assert api.status_code == 200 and api.mimetype == "text/markdown"
    for response in (md, api):
        text = response.get_data(as_text=True)
        assert text.startswith("# Failure-mode catalog and incident record\n")
        assert "## Readiness" in text and "| Data drift |" in text
    assert client.get("/exports/dossier", query_string={"format": "pdf"}).status_code == 404


def test_a_viewer_may_read_the_dossier(app):
    viewer = signed_in_client(app, "viewer")
    assert viewer.get("/exports/dossier").status_code == 200
    assert viewer.get("/api/v1/exports/dossier.md").status_code == 200


def test_cli_writes_the_dossier_in_both_formats(runner, session, tmp_path):
    load_demo(session, count=10, seed=1)
    md, html = tmp_path / "dossier.md", tmp_path / "dossier.html"
    assert runner.invoke(args=["export", "--format", "md", "-o", str(md)]).exit_code == 0
    assert runner.invoke(args=["export", "--format", "html", "-o", str(html)]).exit_code == 0
    assert md.read_text(encoding="utf-8").startswith("# Failure-mode catalog")
    page = html.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "Readiness" in page


# ---- dossier: the readiness checks, with controlled data ---------------------------------


def test_an_empty_catalog_is_not_ready_but_renders(app, client, session, settings, now):
    d, markdown = dossier_at(app, session, settings, now)
    assert [c.passed for c in d.checks] == [False, False, True]
    assert d.checks[0].evidence == "No incidents yet."
    assert "Flat: 0 in the last six months, 0 in the six before." in markdown
    assert client.get("/exports/dossier").status_code == 200


def test_targets_check_passes_at_target_and_fails_over_it(app, session, settings, now):
    """Dependency latency's targets are 5 min (MTTD) and 15 min (MTTR)."""
    add(session, now - timedelta(days=3), ttd=4, ttr=15)
    add(session, now - timedelta(days=2), ttd=5, ttr=10)
    add(session, now - timedelta(days=1), ttd=6, ttr=20)  # medians: 5 min and 15 min, at target
    session.commit()
    d, _ = dossier_at(app, session, settings, now)
    targets = check(d, "Every vector meets")
    assert targets.passed, targets.evidence
    assert targets.evidence == "All 1 vectors with incidents have their medians within target."

    add(session, now - timedelta(hours=5), ttd=30, ttr=10)  # MTTD median now 5.5 min
    session.commit()
    d, markdown = dossier_at(app, session, settings, now)
    targets = check(d, "Every vector meets")
    assert not targets.passed
    assert targets.evidence == (
        "Median over target for 1 of 1 vectors with incidents: Dependency latency."
    )
    assert table_row(markdown, "Dependency latency")[-1] == "**no**"
    assert table_row(markdown, "Data drift")[-1] == "no incidents"


def test_targets_check_ignores_incidents_older_than_the_window(app, session, settings, now):
    add(session, now - timedelta(days=10), ttd=1, ttr=1)
    add(session, now - timedelta(days=367), ttd=600, ttr=600, vectors=("data-drift",))
    session.commit()
    d, _ = dossier_at(app, session, settings, now)
    assert check(d, "Every vector meets").passed
    drift = next(line for line in d.vectors if line.vector.slug == "data-drift")
    assert drift.metrics.count == 0


@pytest.mark.parametrize(
    "on_time, expected", [(3, True), (2, False)], ids=["three-pass", "two-fail"]
)
def test_postmortem_check_needs_three_published_on_time(
    app, session, settings, now, on_time, expected
):
    for n in range(on_time):  # the last one exactly at 48 hours, which is on time
        hours = 48 if n == on_time - 1 else 2
        publish(session, add(session, now - timedelta(days=5 + n)), after=timedelta(hours=hours))
    publish(session, add(session, now - timedelta(days=20)), after=timedelta(hours=49))  # late
    publish(
        session,
        add(session, now - timedelta(days=21)),
        after=timedelta(hours=1),
        status="in_review",
    )  # on time but not published
    publish(session, add(session, now - timedelta(days=400)), after=timedelta(hours=1))  # old
    session.commit()
    d, markdown = dossier_at(app, session, settings, now)
    postmortems = check(d, "At least 3 published post-mortems")
    assert postmortems.passed is expected
    assert postmortems.evidence == (
        f"{on_time} published with the root cause found within 48 hours "
        f"(of {on_time + 2} post-mortems)."
    )
    assert d.flag_counts["on_time"] == on_time + 1 and d.flag_counts["late"] == 1
    assert f"- [{'x' if expected else ' '}] **At least 3 published" in markdown


@pytest.mark.parametrize(
    "recent, previous, passed, word",
    [(2, 1, False, "Rising"), (1, 1, True, "Flat"), (0, 2, True, "Falling")],
)
def test_trend_check_compares_the_two_halves_of_the_year(
    app, session, settings, now, recent, previous, passed, word
):
    half_start = now - HALF
    for n in range(recent):  # the first exactly on the turn, which belongs to the recent half
        add(session, half_start + timedelta(days=n))
    for n in range(previous):
        add(session, half_start - timedelta(days=1 + n))
    add(session, now - 2 * HALF - timedelta(days=1))  # before the window: in neither half
    session.commit()
    d, _ = dossier_at(app, session, settings, now)
    trend = check(d, "Incident count not rising")
    assert trend.passed is passed
    assert trend.evidence == (
        f"{word}: {recent} in the last six months, {previous} in the six before."
    )


def test_archived_vectors_are_listed_only_with_incidents_in_the_window(app, session, settings, now):
    quiet = create_vector(session, {"slug": "quiet-legacy", "name": "Quiet legacy"})
    busy = create_vector(session, {"slug": "busy-legacy", "name": "Busy legacy"})
    session.commit()
    add(session, now - timedelta(days=3), vectors=("busy-legacy",))
    set_archived(session, quiet, True)
    set_archived(session, busy, True)
    session.commit()
    d, markdown = dossier_at(app, session, settings, now)
    listed = [line.vector.slug for line in d.vectors]
    assert "busy-legacy" in listed and "quiet-legacy" not in listed
    assert "| Busy legacy (archived) |" in markdown


# ---- dossier: user text in tables and HTML ------------------------------------------------


def test_pipes_in_names_are_escaped_in_markdown_tables(app, session, settings, now):
    create_vector(session, {"slug": "retries-backoff", "name": "Retries | backoff"})
    session.commit()
    incident = add(session, now - timedelta(days=1), vectors=("retries-backoff",), title="A | B")
    publish(session, incident, after=timedelta(hours=1))
    session.commit()
    _, markdown = dossier_at(app, session, settings, now)
    cells = table_row(markdown, "Retries \\| backoff")
    assert len(cells) == 9 and cells[1] == "1"
    pm_row = next(line for line in markdown.splitlines() if "A \\| B" in line)
    assert len(re.split(r"(?<!\\)\|", pm_row)) == 8 + 2  # 8 columns, not 9


def test_html_in_vector_names_and_descriptions_is_escaped_or_sanitised(app, client, session, now):
    create_vector(
        session,
        {
            "slug": "injection",
            "name": '<img src=x onerror="alert(1)">',
            "description": "<script>alert(2)</script>**bold** text",
        },
    )
    session.commit()
    incident = add(session, now - timedelta(days=1), vectors=("injection",), title="<b>title</b>")
    publish(session, incident, after=timedelta(hours=1))
    session.commit()
    html = client.get("/exports/dossier").get_data(as_text=True)
    assert "<img src=x" not in html and "<script" not in html and "<b>title" not in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    assert "&lt;b&gt;title&lt;/b&gt;" in html
    assert "<strong>bold</strong>" in html


def test_a_vector_name_cannot_break_the_markdown_dossier(app, session, settings):
    """A name with a line break or Markdown in it is read literally, in headings and cells."""
    create_vector(
        session, {"name": "Evil\n## Injected <b>x</b> *y*", "slug": "evil", "category": "other"}
    )
    session.commit()
    _, text = dossier_at(app, session, settings, utcnow())
    assert "\n## Injected" not in text
    assert "### Evil \\#\\# Injected" not in text  # not over-escaped either
    # Entities, not \\<: python-markdown passes `\\<b>` through as live HTML.
    assert "### Evil ## Injected &lt;b&gt;x&lt;/b&gt; \\*y\\*" in text
