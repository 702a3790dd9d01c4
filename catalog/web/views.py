"""The home page: the catalog at a glance, open incidents, what is overdue."""

from __future__ import annotations

from flask import Blueprint, render_template

from catalog.db import get_session, utcnow
from catalog.incidents.service import IncidentFilters, incident_status, list_incidents
from catalog.postmortems.service import flagged_incidents, overdue_action_items
from catalog.reports.metrics import compute_metrics, incident_durations
from catalog.vectors.service import list_vectors
from catalog.web.filters import settings

bp = Blueprint("main", __name__)


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    session = get_session()
    s = settings()
    now = utcnow()
    vectors = list_vectors(session)
    by_vector = {g.key: g for g in compute_metrics(session, s, group_by="vector", now=now).groups}
    overall = compute_metrics(session, s, now=now).groups[0]
    open_page = list_incidents(session, IncidentFilters(status="open"), sort="started", per_page=20)
    open_rows = [
        (i, incident_durations(i, s, now=now), incident_status(i)) for i in open_page.items
    ]
    flagged, flagged_total = flagged_incidents(session, now=now, rca_hours=s.rca_hours)
    return render_template(
        "main/index.html",
        vectors=vectors,
        by_vector=by_vector,
        overall=overall,
        open_rows=open_rows,
        open_total=open_page.total,
        flagged=flagged,
        flagged_total=flagged_total,
        overdue_items=overdue_action_items(session, today=now.date())[:20],
    )
