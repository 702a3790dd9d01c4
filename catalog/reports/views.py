"""Reports: MTTD/MTTR trends with target lines, change vs the previous range, breakdowns.

Every view is a GET whose URL holds its whole state (see reports/query.py);
its charts and CSV downloads are the same URL on other routes, so they show
exactly what the page shows.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any

from flask import Blueprint, Response, render_template, request
from sqlalchemy.orm import Session

from catalog.db import utcnow
from catalog.errors import ValidationError
from catalog.exports.spreadsheet import csv_text
from catalog.incidents.models import SEVERITIES, Incident
from catalog.incidents.service import distinct_values
from catalog.reports import analytics, charts
from catalog.reports.cache import metrics_cache
from catalog.reports.changes import change_csv_header, change_csv_row, compute_changes
from catalog.reports.drill import incidents_url
from catalog.reports.query import (
    BREAKDOWNS,
    PERIODS,
    RANGES,
    ReportQuery,
    parse_report_query,
)
from catalog.reports.shared import Codec
from catalog.sessions import get_session
from catalog.settings import current_settings
from catalog.vectors.service import list_vectors
from catalog.web.errors import plain_text_400

bp = Blueprint("reports", __name__, url_prefix="/reports")


def read_query(now: datetime) -> ReportQuery:
    """The view in the URL; ValidationError names each bad parameter.

    *Per: Auto* (no `period`) picks weeks, unless the range is over 190 days or most of
    its weeks would hold fewer than AUTO_MIN_PER_WEEK incidents: a weekly median of
    one to four incidents zig-zags and hides the trend, so such a view goes by month.
    """
    s = current_settings()
    query = parse_report_query(request.args, s, today=now.astimezone(s.zone).date())
    if request.args.get("period") or query.period == "month":
        return query
    # With the overall figures, which every view shows next: one computation for both.
    filters = query.filters(s)
    both = metrics_cache().metrics_many(
        get_session(), s, ("overall", "week"), filters=filters, now=now
    )
    weekly = both["week"].groups
    counts = sorted(g.count for g in weekly)
    if counts and counts[len(counts) // 2] < AUTO_MIN_PER_WEEK:
        return replace(query, period="month")
    return query


AUTO_MIN_PER_WEEK = 5


def filter_choices(session: Session) -> dict[str, Any]:
    """The options of the filter form: vectors, severities, and the services and teams in use."""

    return {
        "vectors": list_vectors(session, include_archived=True),
        "severities": SEVERITIES,
        **services_and_teams(session),
        "ranges": RANGES,
        "periods": PERIODS,
    }


def services_and_teams(session: Session) -> dict[str, list[str]]:
    """The services and teams in use, kept under the data versions and read again a month
    at a time (distinct_values): every page with filters shows them."""
    cache = metrics_cache()
    return {
        name: cache.value(
            session,
            name,
            partial(distinct_values, session, column, cache.chunks),
            codec=STRINGS,
        )
        for name, column in (("services", Incident.service), ("teams", Incident.team))
    }


def _strings(data: Any) -> list[str]:
    if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
        raise TypeError("not a list of strings")
    return data


STRINGS = Codec(dump=list, load=_strings)
"""A list of strings as JSON, for values the workers share (catalog.reports.shared)."""


def _breakdown_args() -> tuple[str, str, bool]:
    by = request.args.get("by") or "vector"
    by = by if by in BREAKDOWNS else "vector"
    sort = request.args.get("sort") or analytics.DEFAULT_SORT
    sort = sort if sort in analytics.SORT_KEYS else analytics.DEFAULT_SORT
    descending = (request.args.get("dir") or ("asc" if sort == "name" else "desc")) != "asc"
    return by, sort, descending


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    session = get_session()
    s = current_settings()
    now = utcnow()
    by, sort, descending = _breakdown_args()
    context: dict[str, Any] = {
        "errors": {},
        "args": request.args,
        "by": by,
        "sort": sort,
        "descending": descending,
        "breakdowns": BREAKDOWNS,
        **filter_choices(session),
    }
    try:
        query = read_query(now)
    except ValidationError as exc:
        context["errors"] = exc.fields
        return render_template("reports/index.html", query=None, **context), 400
    breakdown = analytics.metrics_for(session, s, query, by, now=now)
    return render_template(
        "reports/index.html",
        query=query,
        summary=analytics.summarize(session, s, query, now=now),
        breakdown=analytics.sort_groups(breakdown.groups, sort, descending),
        changes=compute_changes(session, s, query, _change_by(by)),
        **context,
    )


def _change_by(by: str) -> str:
    """Change metrics follow the breakdown by team; otherwise they go by service (releases
    have no vector or severity)."""
    return "team" if by == "team" else "service"


@bp.get("/chart/<kind>.svg")
def chart(kind: str):  # type: ignore[no-untyped-def]
    """A trend chart of the view in the query string: ttd, ttr or count."""
    if kind not in ("ttd", "ttr", "count"):
        return Response("No such chart: use ttd, ttr or count.", 404, mimetype="text/plain")
    now = utcnow()
    try:
        query = read_query(now)
    except ValidationError as exc:
        return plain_text_400(exc)
    size = request.args.get("size") or "wide"
    if size not in charts.SIZES:
        return Response("No such size: use wide or narrow.", 400, mimetype="text/plain")
    report = analytics.metrics_for(get_session(), current_settings(), query, query.period, now=now)
    links = [incidents_url(query, period=g.key) for g in report.groups]
    svg = (
        charts.count_chart(report, size=size, links=links)
        if kind == "count"
        else charts.trend_chart(report, kind, size=size, links=links)
    )
    return charts.svg_response(svg)


@bp.get("/<table>.csv")
def download(table: str):  # type: ignore[no-untyped-def]
    """A table of the view (trend, breakdown or change) as CSV, durations in seconds."""
    if table not in ("trend", "breakdown", "change", "releases"):
        return Response(
            "No such table: use trend, breakdown, change or releases.", 404, mimetype="text/plain"
        )
    now = utcnow()
    try:
        query = read_query(now)
    except ValidationError as exc:
        return plain_text_400(exc)
    s = current_settings()
    session = get_session()
    if table == "change":
        summary = analytics.summarize(session, s, query, now=now)
        body = csv_text(analytics.CHANGE_HEADER, analytics.change_rows(summary, s.mttr_from))
        return _csv(body, f"mttr-change-{query.first_day}-to-{query.last_day}.csv")
    if table == "releases":
        by = _change_by(request.args.get("by") or "")
        report = compute_changes(session, s, query, by)
        body = csv_text(change_csv_header(by), (change_csv_row(g) for g in report.groups))
        return _csv(body, f"changes-by-{by}-{query.first_day}-to-{query.last_day}.csv")
    if table == "trend":
        groups = analytics.metrics_for(session, s, query, query.period, now=now).groups
        first = f"{query.period}_start"
        name = f"trend-{query.period}"
    else:
        by, sort, descending = _breakdown_args()
        report = analytics.metrics_for(session, s, query, by, now=now)
        groups = analytics.sort_groups(report.groups, sort, descending)
        first, name = by, f"by-{by}"
    body = csv_text(
        analytics.csv_header(first), (analytics.csv_row(g, s.mttr_from) for g in groups)
    )
    return _csv(body, f"mttr-{name}-{query.first_day}-to-{query.last_day}.csv")


def _csv(body: str, filename: str) -> Response:
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
