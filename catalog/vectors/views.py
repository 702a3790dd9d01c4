"""Vector pages: catalog list, detail with its metrics, new, edit, archive, delete."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from catalog.db import utcnow
from catalog.incidents.service import IncidentFilters, list_incidents
from catalog.reports.cache import cached_values, metrics_cache
from catalog.reports.metrics import incident_durations
from catalog.sessions import get_session
from catalog.settings import current_settings
from catalog.vectors import service
from catalog.vectors.forms import VectorForm
from catalog.vectors.spec import VECTOR
from catalog.web.forms import EmptyForm
from catalog.web.pages import act, confirm_page, save_or_report, submit

bp = Blueprint("vectors", __name__, url_prefix="/vectors")


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    session = get_session()
    show_archived = request.args.get("archived") == "1"
    vectors = service.list_vectors(session, include_archived=show_archived)
    metrics = {
        g.key: g
        for g in metrics_cache().metrics(session, current_settings(), group_by="vector").groups
    }
    return render_template(
        "vectors/index.html", vectors=vectors, metrics=metrics, show_archived=show_archived
    )


@bp.get("/<slug>")
def detail(slug: str):  # type: ignore[no-untyped-def]
    session = get_session()
    vector = service.get_vector(get_session(), slug)
    now = utcnow()
    s = current_settings()
    report = metrics_cache().metrics(
        session, s, group_by="vector", filters=IncidentFilters(vector=slug), now=now
    )
    page = list_incidents(
        session, IncidentFilters(vector=slug), per_page=25, cached=cached_values(session)
    )
    rows = [(i, incident_durations(i, s, now=now)) for i in page.items]
    return render_template(
        "vectors/detail.html",
        vector=vector,
        group=report.groups[0] if report.groups else None,
        rows=rows,
        total=page.total,
        incident_count=service.incident_count(session, vector),
        action_form=EmptyForm(),
    )


@bp.route("/new", methods=["GET", "POST"])
def create():  # type: ignore[no-untyped-def]
    form = VectorForm()
    vector = submit(
        form,
        VECTOR,
        lambda errors: service.create_vector(get_session(), form.to_domain(), errors=errors),
    )
    if vector is not None:
        flash(f"Failure vector “{vector.name}” added to the catalog.", "success")
        return redirect(url_for("vectors.detail", slug=vector.slug))
    status = 422 if request.method == "POST" else 200
    return render_template("vectors/form.html", form=form, vector=None), status


@bp.route("/<slug>/edit", methods=["GET", "POST"])
def edit(slug: str):  # type: ignore[no-untyped-def]
    vector = service.get_vector(get_session(), slug)
    form = VectorForm(obj=vector) if request.method == "GET" else VectorForm()
    saved = submit(
        form,
        VECTOR,
        lambda errors: service.update_vector(
            get_session(), vector, form.to_domain(), errors=errors
        ),
        current_version=lambda: vector.version,
    )
    if saved is not None:
        flash("Changes saved.", "success")
        return redirect(url_for("vectors.detail", slug=saved.slug))
    status = 422 if request.method == "POST" else 200
    return render_template("vectors/form.html", form=form, vector=vector), status


@bp.post("/<slug>/archive")
def archive(slug: str):  # type: ignore[no-untyped-def]
    vector = service.get_vector(get_session(), slug)
    form = EmptyForm()
    if form.validate_on_submit():
        archived = request.form.get("archived", "1") == "1"
        if act(lambda: service.set_archived(get_session(), vector, archived)):
            flash(
                f"“{vector.name}” archived: it stays on its incidents but is no longer offered "
                "for new ones."
                if archived
                else f"“{vector.name}” restored to the catalog.",
                "success",
            )
    else:
        flash("The form expired; please try again.", "error")
    return redirect(url_for("vectors.detail", slug=vector.slug))


@bp.get("/<slug>/delete")
def confirm_delete(slug: str):  # type: ignore[no-untyped-def]
    """Asks first; a vector with incidents cannot go, and the page says so."""
    vector = service.get_vector(get_session(), slug)
    used = service.incident_count(get_session(), vector)
    return confirm_page(
        f"Delete the vector “{vector.name}”?",
        action=url_for("vectors.delete", slug=vector.slug),
        button="Delete permanently",
        cancel=url_for("vectors.detail", slug=vector.slug),
        lead="Deleting it removes, for good:",
        consequences=[
            "its description, detection signals and mitigation playbook",
            "its MTTD and MTTR targets and FMEA scores",
        ],
        note="Archiving keeps all of that and only stops offering it for new incidents.",
        blocked=f"It is linked to {used} incident{'' if used == 1 else 's'}, so it cannot be "
        "deleted; archive it instead."
        if used
        else "",
    )


@bp.post("/<slug>/delete")
def delete(slug: str):  # type: ignore[no-untyped-def]
    vector = service.get_vector(get_session(), slug)
    form = EmptyForm()
    if not form.validate_on_submit():
        flash("The form expired; please try again.", "error")
        return redirect(url_for("vectors.detail", slug=slug))
    name = vector.name
    if save_or_report(form, lambda: service.delete_vector(get_session(), vector) or True) is None:
        return redirect(url_for("vectors.detail", slug=slug))
    flash(f"“{name}” deleted.", "success")
    return redirect(url_for("vectors.index"))
