"""Metrics page: the MTTD/MTTR table by any grouping, straight from the metrics module."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import Blueprint, render_template, request

from catalog.db import get_session
from catalog.errors import ValidationError
from catalog.incidents.models import SEVERITIES
from catalog.incidents.service import IncidentFilters
from catalog.reports.metrics import GROUP_BYS, compute_metrics
from catalog.vectors.service import list_vectors
from catalog.web.filters import settings

bp = Blueprint("reports", __name__, url_prefix="/reports")


def _local_day(name: str, errors: dict[str, list[str]]) -> date | None:
    raw = request.args.get(name) or ""
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        errors[name] = ["Use a date like 2026-03-01."]
        return None
    if not date(2000, 1, 1) <= day <= date(2100, 12, 31):
        errors[name] = ["Pick a date between 2000-01-01 and 2100-12-31."]
        return None
    return day


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    s = settings()
    errors: dict[str, list[str]] = {}
    group_by = request.args.get("group_by") or "vector"
    since_day = _local_day("since", errors)
    until_day = _local_day("until", errors)
    since = datetime.combine(since_day, time(), s.zone) if since_day else None
    # `until` is inclusive on the page: the whole of that local day.
    until = datetime.combine(until_day + timedelta(days=1), time(), s.zone) if until_day else None
    filters = IncidentFilters(
        vector=request.args.get("vector") or None,
        severity=request.args.get("severity") or None,
        since=since,
        until=until,
    )
    report = None
    if not errors:
        try:
            report = compute_metrics(get_session(), s, group_by=group_by, filters=filters)
        except ValidationError as exc:
            errors.update(exc.fields)
    return render_template(
        "reports/index.html",
        report=report,
        errors=errors,
        group_bys=GROUP_BYS,
        group_by=group_by,
        vectors=list_vectors(get_session()),
        severities=SEVERITIES,
        args=request.args,
    ), (400 if errors else 200)
