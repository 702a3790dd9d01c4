"""The dashboard: the home page of a signed-in user.

Headline MTTD/MTTR against target for a range (default the last 90 days) with
the change versus the range before, the trend chart, what is open and
breaching, and what is overdue. Every figure comes from the metrics module
through its cache; the lists below are live queries of a handful of rows.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from flask import Blueprint, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.auth import current_actor
from catalog.db import utcnow
from catalog.errors import ValidationError
from catalog.incidents.models import Incident
from catalog.incidents.service import IncidentFilters, incident_status, list_incidents
from catalog.postmortems.service import (
    action_items_of,
    count_overdue_action_items,
    flagged_incidents,
    overdue_action_items,
)
from catalog.reports import analytics
from catalog.reports.cache import cached_values, metrics_cache
from catalog.reports.metrics import incident_durations
from catalog.reports.views import filter_choices, read_query
from catalog.sessions import get_session
from catalog.settings import current_settings

bp = Blueprint("dashboard", __name__)
NEEDS_ATTENTION = 10  # of each kind; "see all" lists the rest


@bp.get("/favicon.ico")
def favicon():  # type: ignore[no-untyped-def]
    """Browsers ask for /favicon.ico on their own (a saved dossier, a JSON answer): the app's icon."""
    return redirect(url_for("static", filename="favicon.svg"), 301)


def _mine(session: Session, now: datetime) -> dict[str, object]:
    """*My incidents*: the open incidents the reader leads, and the action items they own
    (by e-mail: names are not unique) that are due today or overdue."""
    me = current_actor()
    if me is None:
        return {"my_open": [], "my_open_total": 0, "my_items": [], "today": now.date()}
    # Most readers lead nothing open: one indexed probe, not a list page, answers that.
    leads_any = session.scalar(
        select(Incident.id)
        .where(Incident.lead_id == me.id, Incident.recovered_at.is_(None))
        .limit(1)
    )
    led = (
        list_incidents(
            session,
            IncidentFilters(status="open", lead=me.email),
            sort="started",
            per_page=10,
            cached=cached_values(session),
        )
        if leads_any is not None
        else None
    )
    return {
        "my_open": list(led.items) if led else [],
        "my_open_total": led.total if led else 0,
        "my_items": action_items_of(session, [me.email], due_by=now.date()),
        "today": now.date(),
    }


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    session = get_session()
    s = current_settings()
    now = utcnow()
    context = {"args": request.args, "errors": {}, **filter_choices(session)}
    try:
        query = read_query(now)
    except ValidationError as exc:
        context["errors"] = exc.fields
        return render_template("dashboard/index.html", query=None, **context), 400
    summary = analytics.summarize(session, s, query, now=now)
    by_vector = analytics.metrics_for(session, s, query, "vector", now=now)
    # Open incidents whenever they started, narrowed by the view's filters.
    open_filters = replace(query.filters(s), since=None, until=None, status="open")
    open_page = list_incidents(
        session, open_filters, sort="started", per_page=10, cached=cached_values(session)
    )
    flagged, flagged_total = flagged_incidents(
        session,
        limit=NEEDS_ATTENTION,
        now=now,
        rca_hours=s.rca_hours,
        cached=cached_values(session),
        chunks=metrics_cache().chunks,
    )
    return render_template(
        "dashboard/index.html",
        **_mine(session, now),
        # A catalog with no incident yet gets its first steps instead of empty charts.
        first_run=session.scalar(select(Incident.id).limit(1)) is None,
        query=query,
        summary=summary,
        # The catalog table is exactly its CSV: the vector breakdown, by name.
        vector_groups=analytics.sort_groups(by_vector.groups, "name", descending=False),
        vector_info={v.slug: v for v in context["vectors"]},  # filter_choices' list
        open_rows=[
            (i, incident_durations(i, s, now=now), incident_status(i)) for i in open_page.items
        ],
        open_total=open_page.total,
        flagged=flagged,
        flagged_total=flagged_total,
        overdue_items=overdue_action_items(session, today=now.date(), limit=NEEDS_ATTENTION),
        overdue_items_total=count_overdue_action_items(session, today=now.date()),
        **context,
    )
