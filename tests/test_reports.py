"""Dashboard and reports: every figure they show is the metrics module's, for any view.

The expected figures come from `compute_metrics` on the same data and filters
(there is no second implementation to compare with); what is checked here is
that the pages, charts and CSV pick the right groups, ranges, periods and
filters, show empty periods, survive a DST change and refuse bad URLs.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from factories import make_incident

from catalog.incidents.service import IncidentFilters
from catalog.reports import analytics
from catalog.reports.metrics import compute_metrics
from catalog.timefmt import human_duration

TODAY = datetime.now(UTC).date()


def at(days_ago: int, hour: int = 10) -> datetime:
    """A moment `days_ago` days before today, UTC."""
    return datetime.combine(TODAY - timedelta(days=days_ago), time(hour), UTC)


def incident(session, days_ago: int, ttd_min: float, ttr_min: float | None, **kw):  # type: ignore[no-untyped-def]
    start = at(days_ago)
    detected = start + timedelta(minutes=ttd_min)
    recovered = None if ttr_min is None else detected + timedelta(minutes=ttr_min)
    return make_incident(
        session, started_at=start, detected_at=detected, recovered_at=recovered, **kw
    )


def read_csv(response) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def as_csv_cells(row: list[object]) -> list[str]:
    return ["" if v is None else str(v) for v in row]


def range_filters(settings, first: date, last: date, **kw) -> IncidentFilters:  # type: ignore[no-untyped-def]
    zone = settings.zone
    return IncidentFilters(
        since=datetime.combine(first, time(), zone),
        until=datetime.combine(last + timedelta(days=1), time(), zone),
        **kw,
    )


@pytest.fixture
def history(session):  # type: ignore[no-untyped-def]
    """Incidents in the last 90 days and the 90 before, on two vectors and teams."""
    incident(session, 2, 3, 10, team="search")
    incident(session, 5, 8, 30, team="search", vectors=["data-drift"])
    incident(session, 20, 2, None, team="ranking", severity="SEV1")  # open
    incident(session, 40, 12, 50, team="ranking", vectors=["data-drift", "dependency-latency"])
    incident(session, 80, 4, 14, team="search")
    incident(session, 100, 20, 90, team="search")  # previous range
    incident(session, 150, 6, 40, team="ranking")  # previous range


def test_trend_csv_equals_the_metrics_module(client, session, settings, history):
    rows = read_csv(client.get("/reports/trend.csv?range=90d&period=week"))
    first = TODAY - timedelta(days=89)
    report = compute_metrics(
        session, settings, group_by="week", filters=range_filters(settings, first, TODAY)
    )
    header = analytics.csv_header("week_start")
    assert list(rows[0]) == header
    assert [list(r.values()) for r in rows] == [
        as_csv_cells(analytics.csv_row(g, settings.mttr_from)) for g in report.groups
    ]
    assert sum(int(r["incidents"]) for r in rows) == 5


def test_breakdown_csv_equals_the_metrics_module_in_the_order_shown(
    client, session, settings, history
):
    url = "/reports/breakdown.csv?range=90d&by=team&sort=ttr_median&dir=asc"
    rows = read_csv(client.get(url))
    first = TODAY - timedelta(days=89)
    groups = compute_metrics(
        session, settings, group_by="team", filters=range_filters(settings, first, TODAY)
    ).groups
    expected = sorted(groups, key=lambda g: g.ttr.median)
    assert [r["team"] for r in rows] == [g.key for g in expected] == ["search", "ranking"]
    assert [list(r.values()) for r in rows] == [
        as_csv_cells(analytics.csv_row(g, settings.mttr_from)) for g in expected
    ]
    page = client.get(url.replace("breakdown.csv", "")).get_data(as_text=True)
    table = page[page.index('data-testid="breakdown-table"') :]
    assert table.index(">search<") < table.index(">ranking<")


def test_dashboard_headline_is_the_metrics_modules(client, session, settings, history):
    page = client.get("/").get_data(as_text=True)
    first = TODAY - timedelta(days=89)
    current = compute_metrics(session, settings, filters=range_filters(settings, first, TODAY))
    g = current.groups[0]
    assert g.count == 5 and g.open == 1
    for figure in (g.ttd.median, g.ttd.p90, g.ttd.mean, g.ttr.median, g.ttr.p90, g.ttr.mean):
        assert human_duration(figure) in page
    assert f">{g.count}<" in page
    # incidents 5 now vs 2 in the previous 90 days: +150 %
    assert "+150 %" in page


def test_change_versus_the_previous_range(client, session, settings, history):
    """MTTR median now: 10, 14, 30, 50 min -> 22 min; before: 90, 40 -> 65 min: -66 %."""
    page = client.get("/reports/?range=90d").get_data(as_text=True)
    assert ">22m<" in page and "was 1h 05m" in page
    assert "−66 %" in page  # (22 - 65) / 65 = -0.6615
    assert "vs previous 90 days" in page


def test_empty_periods_are_shown_with_no_figures(client, history):
    rows = read_csv(client.get("/reports/trend.csv?range=90d&period=week"))
    assert len(rows) in (13, 14)  # every week of the range, most of them empty
    empty = [r for r in rows if r["incidents"] == "0"]
    assert len(empty) >= 8
    assert all(r["ttr_median_s"] == "" and r["ttd_samples"] == "0" for r in empty)


def test_a_filter_that_matches_nothing(client, history):
    response = client.get("/reports/?range=90d&team=nobody")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-testid="incident-count">0<' in page
    table = page[page.index('data-testid="breakdown-table"') :]
    assert '<td class="num">0</td>' in table and "breaching" not in table
    rows = read_csv(client.get("/reports/trend.csv?range=90d&team=nobody"))
    assert rows and all(r["incidents"] == "0" for r in rows)
    svg = client.get("/reports/chart/ttr.svg?range=90d&team=nobody")
    assert svg.status_code == 200 and b"No incidents in this range" in svg.data
    assert client.get("/?team=nobody").status_code == 200


@pytest.fixture
def berlin(app_config):  # type: ignore[no-untyped-def]
    app_config["TIMEZONE"] = "Europe/Berlin"
    return app_config


def test_weeks_across_a_dst_change_follow_local_midnight(berlin, client, session, settings):
    """Berlin went to summer time on Sunday 2026-03-29. 00:30 local on Monday 30 March
    is 22:30 UTC on Sunday: it belongs to the week of 30 March, not 23 March."""
    zone = ZoneInfo("Europe/Berlin")
    monday = datetime(2026, 3, 30, 0, 30, tzinfo=zone)
    sunday = datetime(2026, 3, 29, 23, 30, tzinfo=zone)
    for start in (monday, sunday):
        make_incident(
            session,
            started_at=start,
            detected_at=start + timedelta(minutes=2),
            recovered_at=start + timedelta(minutes=20),
        )
    rows = read_csv(client.get("/reports/trend.csv?since=2026-03-16&until=2026-04-12&period=week"))
    assert [(r["week_start"], r["incidents"]) for r in rows] == [
        ("2026-03-16", "0"),
        ("2026-03-23", "1"),
        ("2026-03-30", "1"),
        ("2026-04-06", "0"),
    ]
    filters = range_filters(settings, date(2026, 3, 16), date(2026, 4, 12))
    report = compute_metrics(session, settings, group_by="week", filters=filters)
    assert [list(r.values()) for r in rows] == [
        as_csv_cells(analytics.csv_row(g, settings.mttr_from)) for g in report.groups
    ]


def test_months_across_a_dst_change(berlin, client, session):
    """00:30 on 1 November local is still 31 October in UTC (23:30 UTC, winter time)."""
    start = datetime(2026, 11, 1, 0, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    assert start.astimezone(UTC).day == 31
    make_incident(
        session,
        started_at=start,
        detected_at=start + timedelta(minutes=1),
        recovered_at=start + timedelta(minutes=9),
    )
    rows = read_csv(client.get("/reports/trend.csv?since=2026-10-01&until=2026-11-30&period=month"))
    assert [(r["month_start"], r["incidents"]) for r in rows] == [
        ("2026-10-01", "0"),
        ("2026-11-01", "1"),
    ]


@pytest.mark.parametrize(
    "query, field, message",
    [
        ("range=5y", "range", "Range must be one of"),
        ("since=2026-13-01", "since", "Use a date like"),
        ("since=1999-12-31", "since", "Pick a date between"),
        ("since=2026-05-01&until=2026-04-01", "until", "cannot be before"),
        ("period=day", "period", "Period must be week or month"),
        ("since=2000-01-01&until=2026-01-01&period=week", "period", "choose month"),
        ("severity=SEV9", "severity", "Severity must be one of"),
        ("team=%00", "team", "control characters"),
    ],
)
def test_bad_views_are_refused_with_the_field_named(client, session, query, field, message):
    for path in ("/reports/", "/"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, (path, query)
        page = response.get_data(as_text=True)
        assert message in page and field in page
    for path in ("/reports/chart/ttr.svg", "/reports/trend.csv", "/reports/breakdown.csv"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, (path, query)
        assert response.get_data(as_text=True).startswith(f"{field}:")


def test_unknown_chart_or_table_is_a_404(client):
    assert client.get("/reports/chart/pie.svg").status_code == 404
    assert client.get("/reports/summary.csv").status_code == 404


def test_unknown_breakdown_or_sort_falls_back_to_the_defaults(client, history):
    page = client.get("/reports/?by=planet&sort=colour&dir=sideways")
    assert page.status_code == 200
    assert "Breakdown by vector" in page.get_data(as_text=True)


def test_charts_are_svg_with_a_target_line_and_their_own_csp(client, history):
    for kind in ("ttr", "ttd", "count"):
        response = client.get(f"/reports/chart/{kind}.svg?range=90d")
        assert response.status_code == 200
        assert response.mimetype == "image/svg+xml"
        assert response.data.lstrip().startswith(b"<?xml")
        # pygal inlines its chart config as a script: inert in an <img>, and
        # blocked by the route's own CSP if the SVG is opened on its own.
        assert b"<script" not in response.data.replace(b'<script type="text/javascript">', b"")
        assert b'href="http' not in response.data and b"@import" not in response.data
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert b"target" in client.get("/reports/chart/ttr.svg?range=90d").data


def test_every_link_on_the_report_keeps_the_view(client, history):
    page = client.get("/reports/?range=30d&team=search&period=week").get_data(as_text=True)
    assert "/reports/chart/ttr.svg?range=30d&amp;period=week&amp;team=search" in page
    assert "/reports/trend.csv?range=30d&amp;period=week&amp;team=search" in page
    assert "by=severity&amp;range=30d&amp;period=week&amp;team=search" in page


def test_the_dashboard_changes_as_soon_as_an_incident_is_logged(client, session, history):
    before = client.get("/").get_data(as_text=True)
    assert 'data-testid="headline-incidents"' in before
    incident(session, 1, 1, 1)
    after = client.get("/").get_data(as_text=True)
    count = re.compile(r'<p class="big"><a [^>]*>(\d+)</a></p>')
    assert count.findall(after)[0] == "6" and count.findall(before)[0] == "5"


def test_open_incidents_on_the_dashboard_follow_the_filters(client, history):
    page = client.get("/?team=search").get_data(as_text=True)
    assert "No open incidents." in page
    page = client.get("/?team=ranking").get_data(as_text=True)
    assert "Breaching MTTR" in page  # opened 20 days ago, target 15 min


def test_incident_csv_export_has_every_incident_with_the_metrics_durations(
    client, session, settings, history
):
    make_incident(session, title='=HYPERLINK("http://evil")', service="+cmd", team="@team")
    response = client.get("/incidents/export.csv")
    rows = read_csv(response)
    assert len(rows) == 8
    by_title = {r["title"]: r for r in rows}
    evil = by_title['\'=HYPERLINK("http://evil")']  # neutralised for spreadsheets
    assert evil["service"] == "'+cmd" and evil["team"] == "'@team"
    two = [r for r in rows if r["vectors"] == "data-drift;dependency-latency"]
    assert len(two) == 1 and two[0]["ttd_s"] == "720.0" and two[0]["ttr_s"] == "3000.0"
    open_row = next(r for r in rows if r["severity"] == "SEV1")
    assert open_row["recovered_at"] == "" and open_row["ttr_s"] == ""
    assert {r["ttr_from"] for r in rows} == {"detected"}
    assert open_row["started_at"].endswith("Z")


def test_incident_csv_export_follows_the_list_filters(client, history):
    rows = read_csv(client.get("/incidents/export.csv?team=ranking&status=open"))
    assert [r["team"] for r in rows] == ["ranking"]
    bad = client.get("/incidents/export.csv?severity=SEV9")
    assert bad.status_code == 400 and bad.get_data(as_text=True).startswith("severity:")


def test_incident_csv_export_gives_its_connection_back_even_when_cut_off(app, client, history):
    """A streamed download holds a database connection; finished or abandoned, it returns it."""
    pool = app.extensions["catalog.engine"].pool
    full = client.get("/incidents/export.csv")
    full.get_data()
    full.close()
    assert pool.checkedout() == 0
    cut = client.get("/incidents/export.csv", buffered=False)
    next(iter(cut.response))  # the header line only
    cut.close()
    assert pool.checkedout() == 0


def test_dashboard_and_change_csv_downloads(client, session, settings, history):
    page = client.get("/?range=90d").get_data(as_text=True)
    assert "/reports/breakdown.csv?by=vector&amp;sort=name&amp;dir=asc&amp;range=90d" in page
    rows = read_csv(client.get("/reports/breakdown.csv?by=vector&sort=name&dir=asc&range=90d"))
    table = page[page.index('data-testid="vector-table"') :]
    positions = [table.index(f">{r['label']}<") for r in rows]
    assert positions == sorted(positions)  # the same vectors, in the same order
    change = read_csv(client.get("/reports/change.csv?range=90d"))
    assert [r["figure"] for r in change] == [
        "Incidents",
        "MTTD median",
        "MTTD p90",
        "MTTR median",
        "MTTR p90",
    ]
    incidents = change[0]
    assert (incidents["current"], incidents["previous"], incidents["change"]) == ("5", "2", "1.5")
    mttr = change[3]
    assert (mttr["current"], mttr["previous"], mttr["unit"]) == ("1320.0", "3900.0", "seconds")


def test_incident_csv_from_the_api_and_the_cli_is_the_same_file(app, client, runner, history):
    web = client.get("/incidents/export.csv?team=search").get_data(as_text=True)
    api = client.get("/api/v1/exports/incidents.csv?team=search")
    assert api.status_code == 200 and api.mimetype == "text/csv"
    assert api.get_data(as_text=True) == web
    result = runner.invoke(args=["export", "--format", "csv", "--team", "search"])
    assert result.exit_code == 0, result.output
    assert result.output.replace("\r\n", "\n") == web.replace("\r\n", "\n")
    bad = client.get("/api/v1/exports/incidents.csv?severity=SEV9")
    assert bad.status_code == 422 and "severity" in bad.get_json()["error"]["fields"]
    failed = runner.invoke(args=["export", "--vector", "bad\x01"])
    assert failed.exit_code == 1 and "vector:" in failed.output


def test_exports_page_offers_the_incident_csv_with_its_filters(client, history):
    page = client.get("/exports/").get_data(as_text=True)
    assert 'action="/incidents/export.csv"' in page
    for name in ("vector", "severity", "service", "team", "status"):
        assert f'name="{name}"' in page
    assert ">ranking<" in page and ">search<" in page  # the teams in use
    assert "/reports/change.csv?range=90d" in page
    rows = read_csv(
        client.get("/incidents/export.csv?vector=&severity=&service=&team=search&status=")
    )
    assert {r["team"] for r in rows} == {
        "search"
    }  # empty choices mean "all", as the form sends them


# ---- the auto period ------------------------------------------------------------------


def test_auto_goes_by_month_when_most_weeks_are_thin_and_by_week_when_not(client, session):
    for days_ago in (1, 20, 40):
        incident(session, days_ago, 3, 10)
    session.commit()
    assert "per month" in client.get("/reports/?range=90d").get_data(as_text=True)
    for day in range(0, 84, 7):
        for _ in range(5):
            incident(session, day + 1, 3, 10)
    session.commit()
    assert "per week" in client.get("/reports/?range=90d").get_data(as_text=True)
