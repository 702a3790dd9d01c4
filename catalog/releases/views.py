"""Release pages: the list, one release with the incidents it caused, new, edit, delete."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from catalog.db import utcnow
from catalog.incidents.models import Incident
from catalog.incidents.service import incident_status
from catalog.releases import service
from catalog.releases.forms import ReleaseForm
from catalog.releases.models import Release
from catalog.releases.spec import OUTCOME_LABELS, RELEASE
from catalog.rules import parse_whole_number
from catalog.sessions import get_session
from catalog.web.filters import display_zone
from catalog.web.forms import EmptyForm
from catalog.web.pages import confirm_page, save_or_report, submit
from catalog.when import show_local

bp = Blueprint("releases", __name__, url_prefix="/releases")
PER_PAGE = 50


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    session = get_session()
    outcome = request.args.get("outcome") or None
    if outcome is not None and outcome not in OUTCOME_LABELS:
        abort(400, description=f"Outcome must be one of: {', '.join(OUTCOME_LABELS)}.")
    page = parse_whole_number(request.args.get("page") or "1")
    if page is None or not 1 <= page <= 100_000:
        abort(400, description="Page must be a whole number from 1.")
    filters = service.ReleaseFilters(
        service=(request.args.get("service") or "")[:100] or None,
        team=(request.args.get("team") or "")[:100] or None,
        outcome=outcome,
    )
    listed = service.list_releases(session, filters, page=page, per_page=PER_PAGE)
    services = session.scalars(select(Release.service).distinct().order_by(Release.service)).all()
    return render_template(
        "releases/index.html",
        page=listed,
        pages=max(1, -(-listed.total // PER_PAGE)),
        filters=filters,
        services=services,
        outcomes=OUTCOME_LABELS,
    )


@bp.get("/<int:release_id>")
def detail(release_id: int):  # type: ignore[no-untyped-def]
    session = get_session()
    release = service.get_release(session, release_id)
    incidents = session.scalars(
        select(Incident).where(Incident.release_id == release.id).order_by(Incident.started_at)
    ).all()
    return render_template(
        "releases/detail.html",
        release=release,
        incidents=incidents,
        statuses={i.id: incident_status(i) for i in incidents},
    )


@bp.route("/new", methods=["GET", "POST"])
def create():  # type: ignore[no-untyped-def]
    form = ReleaseForm()
    zone = display_zone()
    if request.method == "GET":
        form.deployed_at.data = show_local(utcnow(), zone)  # a start; corrected if earlier
        for name in ("service", "team"):  # "Record a release" from a service's list
            if request.args.get(name):
                getattr(form, name).data = request.args[name][:100]
    release = submit(
        form,
        RELEASE,
        lambda errors: service.create_release(get_session(), form.to_domain(zone), errors=errors),
    )
    if release is not None:
        flash(f"Release {release.label} recorded.", "success")
        return redirect(url_for("releases.detail", release_id=release.id))
    status = 422 if request.method == "POST" else 200
    return render_template("releases/form.html", form=form, release=None), status


@bp.route("/<int:release_id>/edit", methods=["GET", "POST"])
def edit(release_id: int):  # type: ignore[no-untyped-def]
    release = service.get_release(get_session(), release_id)
    zone = display_zone()
    form = ReleaseForm()
    if request.method == "GET":
        form.load(release, zone)
    saved = submit(
        form,
        RELEASE,
        lambda errors: service.update_release(
            get_session(), release, form.to_domain(zone, release), errors=errors
        ),
        current_version=lambda: release.version,
    )
    if saved is not None:
        flash("Changes saved.", "success")
        return redirect(url_for("releases.detail", release_id=saved.id))
    status = 422 if request.method == "POST" else 200
    return render_template("releases/form.html", form=form, release=release), status


@bp.get("/<int:release_id>/delete")
def confirm_delete(release_id: int):  # type: ignore[no-untyped-def]
    """Asks first; a release that incidents name cannot go, and the page says so."""
    release = service.get_release(get_session(), release_id)
    linked = service.linked_incidents(get_session(), release)
    return confirm_page(
        f"Delete the release {release.label}?",
        action=url_for("releases.delete", release_id=release.id),
        button="Delete permanently",
        cancel=url_for("releases.detail", release_id=release.id),
        lead="Deleting it removes, for good:",
        consequences=["its deployment time, canary share and guardrails", "its outcome and notes"],
        note="It then no longer counts in deployment frequency.",
        blocked=f"{linked} incident{' names' if linked == 1 else 's name'} it as the cause, "
        "so it cannot be deleted."
        if linked
        else "",
    )


@bp.post("/<int:release_id>/delete")
def delete(release_id: int):  # type: ignore[no-untyped-def]
    release = service.get_release(get_session(), release_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        flash("The form expired; please try again.", "error")
        return redirect(url_for("releases.detail", release_id=release_id))
    label = release.label
    if save_or_report(form, lambda: service.delete_release(get_session(), release) or True) is None:
        return redirect(url_for("releases.detail", release_id=release_id))
    flash(f"Release {label} deleted.", "success")
    return redirect(url_for("releases.index"))
