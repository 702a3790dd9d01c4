"""The dossier built from the catalog, a document for readers outside the team.

Its figures must be the metrics module's, its readiness checks must flip exactly at their
thresholds, and user text must not break its tables or its HTML. It is a page with a CSP
of its own, two downloads, an API answer and a CLI command, and viewers may read it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from factories import incident_data
from helpers.accounts import signed_in_client
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.db import utcnow
from catalog.demo import load_demo
from catalog.exports.dossier import DOSSIER_CSP, HALF, build_dossier, dossier_markdown
from catalog.incidents.models import Incident
from catalog.incidents.service import IncidentFilters, create_incident
from catalog.postmortems.service import save_postmortem
from catalog.reports.metrics import compute_metrics
from catalog.timefmt import human_duration
from catalog.vectors.models import Vector
from catalog.vectors.service import create_vector, set_archived

# ---- helpers ----------------------------------------------------------------------


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
        {
            "status": status,
            "root_cause_at": incident.detected_at + after,
            "root_cause": "x",
            "body": "## Summary\nWritten in full.",
        },
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


# ---- from demo data ---------------------------------------------------------------


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
    assert html.count('class="pass"') + html.count('class="fail"') == 4
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
    assert client.get("/exports/dossier", query_string={"format": "docx"}).status_code == 404


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


# ---- the readiness checks, with controlled data ---------------------------------


def test_an_empty_catalog_is_not_ready_but_renders(app, client, session, settings, now):
    d, markdown = dossier_at(app, session, settings, now)
    assert [c.passed for c in d.checks] == [False, False, True, False]
    assert d.checks[0].evidence == "No incidents yet."
    assert d.checks[3].evidence == "No releases recorded in the last 12 months."
    assert "Flat: 0 in the last six months, 0 in the six before." in markdown
    assert client.get("/exports/dossier").status_code == 200


def test_the_readiness_check_holds_every_service_to_its_bars_and_windows(
    app, session, settings, now
):
    """Passes only when each service's newest tested release meets its bars at 1×, 5× and
    10× and every rollback of the year finished within its window."""
    from catalog.releases.service import create_release, record_load_test, set_bars

    def tiers(release, p99_5x: float) -> None:  # type: ignore[no-untyped-def]
        for tier, p99, errors in (("1x", 100, 0), ("5x", p99_5x, 0), ("10x", 700, 0.2)):
            record_load_test(
                session,
                release,
                {
                    "tier": tier,
                    "rps": 9,
                    "p50_ms": 5,
                    "p99_ms": p99,
                    "error_rate": errors,
                    "requests": 9,
                },
            )

    deployed = now - timedelta(days=10)
    good = create_release(session, {"service": "a", "tag": "1", "deployed_at": deployed})
    tiers(good, 300)
    create_release(  # a newer release without tests: the tested one stands for the service
        session, {"service": "a", "tag": "2", "deployed_at": deployed + timedelta(days=1)}
    )
    back = create_release(
        session,
        {
            "service": "b",
            "tag": "9",
            "deployed_at": deployed,
            "rollback_window_seconds": 299,
            "outcome": "rolled_back",
            "rollback_started_at": deployed + timedelta(minutes=5),
            "rolled_back_at": deployed + timedelta(minutes=10),
        },
    )
    tiers(back, 250)
    session.commit()
    d, _ = dossier_at(app, session, settings, now)
    check = d.checks[3]
    assert not check.passed and check.evidence == "b: 1 rollback past the window."
    back.rollback_window_seconds = 300  # at the window is within it
    set_bars(session, "a", {"p99_5x_ms": 299})
    session.commit()
    d, _ = dossier_at(app, session, settings, now)
    assert d.checks[3].evidence == "a: 5× over its bar (p99 ≤ 299 ms)."
    set_bars(session, "a", {"p99_5x_ms": 300, "version": 1})
    session.commit()
    d, markdown = dossier_at(app, session, settings, now)
    assert d.checks[3].passed, d.checks[3].evidence
    assert (
        "All 2 services with releases: every tier within its bar; 1 rollback, all within"
        in markdown
    )


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


# ---- user text in tables and HTML ------------------------------------------------


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


def test_the_post_mortem_record_shows_what_happened_when_without_names(
    app, client, session, settings, now
):  # type: ignore[no-untyped-def]
    """The most recent published post-mortems carry their incident's timeline; who wrote
    each update stays inside the team, and the text is inert in both formats."""
    from catalog.incidents import timeline

    incident = add(session, now - timedelta(days=3), title="Retriever stalled")
    timeline.record(
        session,
        incident,
        "note",
        "Rolled back <script>alert(1)</script> the **index** | pipe",
        at=incident.detected_at + timedelta(minutes=2),
        source="web",
        label="sam@example.com",
    )
    publish(session, incident, after=timedelta(hours=1))
    draft_only = add(session, now - timedelta(days=2), title="Still a draft")
    publish(session, draft_only, after=timedelta(hours=1), status="draft")
    session.commit()
    d, markdown = dossier_at(app, session, settings, now)
    shown = [line.incident.title for line in d.postmortems if line.timeline]
    assert shown == ["Retriever stalled"]
    assert "### What happened when" in markdown
    assert "— **detected**" in markdown and "the **index**" in markdown
    assert "<script>" not in markdown
    assert "sam@example.com" not in markdown
    page = client.get("/exports/dossier").get_data(as_text=True)
    assert "What happened when" in page and "<strong>index</strong>" in page
    assert "<script>alert" not in page and "sam@example.com" not in page
