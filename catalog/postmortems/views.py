"""The post-mortem editor: a body drafted from the record, Markdown preview, action items."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from catalog.auth.service import active_people
from catalog.db import utcnow
from catalog.incidents.models import Incident
from catalog.incidents.service import Page, get_incident
from catalog.incidents.timeline import timeline_of
from catalog.postmortems import service
from catalog.postmortems.draft import TIMELINE_ENTRIES, VectorLine, draft_body
from catalog.postmortems.forms import PostmortemForm
from catalog.postmortems.spec import ACTION_ITEM, POSTMORTEM
from catalog.reports.metrics import incident_durations
from catalog.sessions import get_session
from catalog.settings import current_settings
from catalog.web.filters import display_zone
from catalog.web.pages import expired, submit

bp = Blueprint("postmortems", __name__, url_prefix="/incidents")


@bp.route("/<int:incident_id>/postmortem", methods=["GET", "POST"])
def edit(incident_id: int):  # type: ignore[no-untyped-def]
    incident = get_incident(get_session(), incident_id)
    pm = incident.postmortem
    zone = display_zone()
    form = PostmortemForm()
    if request.method == "GET":
        if pm is not None:
            form.load(pm, zone)
        else:
            form.body.data = _draft(incident, zone)
        form.add_blank_rows()
    previewing = bool(form.is_submitted() and form.preview.data)
    if previewing:
        form.validate()  # reads the input (and CSRF) for the preview; nothing is saved
        previewing = not expired(form)
    else:
        saved = submit(
            form,
            POSTMORTEM,
            lambda errors: service.save_postmortem(
                get_session(),
                incident,
                form.to_domain(zone, pm, utcnow()),
                errors=form.with_unreadable_rows(errors),
            ),
            current_version=(lambda: incident.postmortem.version) if pm else None,
        )
        if saved is not None:
            flash("Post-mortem saved.", "success")
            return redirect(url_for("incidents.detail", incident_id=incident.id) + "#postmortem")
    status = 422 if request.method == "POST" and not previewing else 200
    return render_template(
        "postmortems/edit.html",
        form=form,
        incident=incident,
        pm=pm,
        previewing=previewing,
        item_labels=ACTION_ITEM.labels(),
        people=active_people(get_session()),
    ), status


def _draft(incident: Incident, zone: ZoneInfo) -> str:
    """A new post-mortem's body: the incident's record, in the viewer's zone."""
    session = get_session()
    return draft_body(
        incident,
        timeline_of(session, incident.id, limit=TIMELINE_ENTRIES + 1),
        incident_durations(incident, current_settings(), now=utcnow()),
        [
            VectorLine(
                v.name,
                url_for("vectors.detail", slug=v.slug),
                v.mttd_target_minutes,
                v.mttr_target_minutes,
            )
            for v in incident.vectors
        ],
        zone=zone,
        incident_url=url_for("incidents.detail", incident_id=incident.id),
    )


ACTION_ITEMS_PER_PAGE = 50


@bp.get("/action-items/overdue")
def overdue_items():  # type: ignore[no-untyped-def]
    """Every overdue action item, oldest first, a page at a time: *Needs attention*'s
    "see all" (the dashboard shows the ten most overdue)."""
    session = get_session()
    today = utcnow().date()
    total = service.count_overdue_action_items(session, today=today)
    pages = max(1, -(-total // ACTION_ITEMS_PER_PAGE))
    page = request.args.get("page", "1")
    number = int(page) if page.isdigit() and 1 <= int(page) <= pages else None
    if number is None:
        abort(400, description=f"Page must be a whole number from 1 to {pages}.")
    items = service.overdue_action_items(
        session,
        today=today,
        limit=ACTION_ITEMS_PER_PAGE,
        offset=(number - 1) * ACTION_ITEMS_PER_PAGE,
    )
    return render_template(
        "postmortems/overdue_items.html",
        items=items,
        page=Page(items=items, page=number, per_page=ACTION_ITEMS_PER_PAGE, total=total),
        today=today,
    )
