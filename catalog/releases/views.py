"""Release pages: the list, one release with the incidents it caused, new, edit, delete."""

from __future__ import annotations

import json
from datetime import timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from catalog.db import utcnow
from catalog.errors import FieldErrors
from catalog.incidents.models import Incident
from catalog.incidents.service import incident_status
from catalog.releases import service
from catalog.releases.forms import BarsForm, CanaryForm, LoadImportForm, LoadTypedForm, ReleaseForm
from catalog.releases.models import Release
from catalog.releases.spec import BARS, LOAD_TEST, OUTCOME_LABELS, RELEASE
from catalog.reports.charts import SIZES, ecdf_chart, svg_response
from catalog.reports.query import day_start, read_day
from catalog.rules import parse_whole_number
from catalog.sessions import get_session
from catalog.settings import current_settings
from catalog.web.filters import display_zone
from catalog.web.forms import EmptyForm
from catalog.web.pages import act, confirm_page, save_or_report, submit
from catalog.when import show_local

bp = Blueprint("releases", __name__, url_prefix="/releases")
VERDICT_LABELS = {"promote": "Promote", "roll_back": "Roll back"}
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
    errors = FieldErrors()
    first, last = read_day(request.args, "since", errors), read_day(request.args, "until", errors)
    if errors:
        abort(400, description=" ".join(m for ms in errors.fields.values() for m in ms))
    zone = current_settings().zone
    filters = service.ReleaseFilters(
        service=(request.args.get("service") or "")[:100] or None,
        team=(request.args.get("team") or "")[:100] or None,
        outcome=outcome,
        since=day_start(first, zone) if first else None,
        until=day_start(last + timedelta(days=1), zone) if last else None,
    )
    listed = service.list_releases(session, filters, page=page, per_page=PER_PAGE)
    services = session.scalars(select(Release.service).distinct().order_by(Release.service)).all()
    return render_template(
        "releases/index.html",
        page=listed,
        pages=max(1, -(-listed.total // PER_PAGE)),
        filters=filters,
        days=(first, last),
        services=services,
        outcomes=OUTCOME_LABELS,
    )


@bp.get("/<int:release_id>")
def detail(release_id: int):  # type: ignore[no-untyped-def]
    return _detail(service.get_release(get_session(), release_id))


def _detail(
    release: Release,
    *,
    load_form: LoadImportForm | None = None,
    typed_form: LoadTypedForm | None = None,
    canary_form: CanaryForm | None = None,
    status: int = 200,
):  # type: ignore[no-untyped-def]
    """The release page; a refused form is shown in place with its messages (422)."""
    session = get_session()
    incidents = session.scalars(
        select(Incident).where(Incident.release_id == release.id).order_by(Incident.started_at)
    ).all()
    bars = service.bars_for(session, release.service)
    page = render_template(
        "releases/detail.html",
        release=release,
        incidents=incidents,
        statuses={i.id: incident_status(i) for i in incidents},
        bars=bars,
        verdicts={t.id: service.judge(t, bars) for t in release.load_tests},
        load_form=load_form or LoadImportForm(formdata=None),
        typed_form=typed_form or LoadTypedForm(formdata=None),
        canary_form=canary_form or CanaryForm(formdata=None),
        action_form=EmptyForm(),
        verdict_labels=VERDICT_LABELS,
    )
    return page, status


@bp.post("/<int:release_id>/load-tests/import")
def import_load_test(release_id: int):  # type: ignore[no-untyped-def]
    release = service.get_release(get_session(), release_id)
    form = LoadImportForm()
    if not form.validate_on_submit():
        flash("The form expired; please try again.", "error")
        return redirect(url_for("releases.detail", release_id=release.id))
    upload = form.file.data
    if upload is None or not getattr(upload, "filename", ""):
        form.file.errors = ["Choose the result file."]
        return _detail(release, load_form=form, status=422)
    raw = upload.read()
    test = save_or_report(
        form,
        lambda: service.import_load_test(
            get_session(), release, form.tier.data, form.format.data, raw
        ),
    )
    if test is None:
        return _detail(release, load_form=form, status=422)
    flash(f"Tier {test.tier} recorded from {test.source}.", "success")
    return redirect(url_for("releases.detail", release_id=release.id, _anchor="load-tests"))


@bp.post("/<int:release_id>/load-tests/new")
def type_load_test(release_id: int):  # type: ignore[no-untyped-def]
    release = service.get_release(get_session(), release_id)
    form = LoadTypedForm()
    test = submit(
        form,
        LOAD_TEST,
        lambda errors: service.record_load_test(
            get_session(), release, form.to_domain(), errors=errors
        ),
    )
    if test is None:
        return _detail(release, typed_form=form, status=422)
    flash(f"Tier {test.tier} recorded.", "success")
    return redirect(url_for("releases.detail", release_id=release.id, _anchor="load-tests"))


@bp.post("/<int:release_id>/load-tests/<int:load_test_id>/delete")
def delete_load_test(release_id: int, load_test_id: int):  # type: ignore[no-untyped-def]
    session = get_session()
    release = service.get_release(session, release_id)
    test = service.get_load_test(session, release, load_test_id)
    if EmptyForm().validate_on_submit():
        tier = test.tier
        if act(lambda: service.delete_load_test(get_session(), release, test)):
            flash(f"Tier {tier} deleted.", "success")
    else:
        flash("The form expired; please try again.", "error")
    return redirect(url_for("releases.detail", release_id=release.id, _anchor="load-tests"))


@bp.post("/<int:release_id>/canary")
def canary(release_id: int):  # type: ignore[no-untyped-def]
    release = service.get_release(get_session(), release_id)
    form = CanaryForm()
    if not form.validate_on_submit():
        flash("The form expired; please try again.", "error")
        return redirect(url_for("releases.detail", release_id=release.id))
    files = {"baseline": form.baseline.data, "canary": form.canary.data}
    chosen = True
    for name, upload in files.items():
        if upload is None or not getattr(upload, "filename", ""):
            getattr(form, name).errors = ["Choose this file."]
            chosen = False
    if not chosen:
        return _detail(release, canary_form=form, status=422)
    baseline, canary_ = files["baseline"].read(), files["canary"].read()
    analysis = save_or_report(
        form, lambda: service.save_canary(get_session(), release, baseline, canary_)
    )
    if analysis is None:
        return _detail(release, canary_form=form, status=422)
    flash(f"Canary analysed: {VERDICT_LABELS[analysis.verdict].lower()}.", "success")
    return redirect(url_for("releases.detail", release_id=release.id, _anchor="canary"))


@bp.get("/<int:release_id>/canary.svg")
def canary_chart(release_id: int):  # type: ignore[no-untyped-def]
    """Both samples' empirical CDFs, from the quantiles kept with the analysis."""
    release = service.get_release(get_session(), release_id)
    if release.canary is None:
        return Response("This release has no canary analysis.", 404, mimetype="text/plain")
    size = request.args.get("size") or "wide"
    if size not in SIZES:
        return Response("No such size: use wide or narrow.", 400, mimetype="text/plain")
    analysis = release.canary
    return svg_response(
        ecdf_chart(
            json.loads(analysis.baseline_quantiles),
            json.loads(analysis.canary_quantiles),
            size=size,
        )
    )


@bp.route("/bars", methods=["GET", "POST"])
def bars():  # type: ignore[no-untyped-def]
    """A service's readiness bars: what its 1×, 5× and 10× tiers are held to."""
    session = get_session()
    name = (request.args.get("service") or "").strip()
    if not name:
        abort(400, description="Name the service: /releases/bars?service=chat-api.")
    current = service.bars_for(session, name)
    form = BarsForm()
    if request.method == "GET":
        for field in BARS.names:
            getattr(form, field).data = getattr(current, field)
        form.version.data = current.version or None
    saved = submit(
        form,
        BARS,
        lambda errors: service.set_bars(get_session(), name, form.to_domain(), errors=errors),
        current_version=lambda: service.bars_for(get_session(), name).version,
    )
    if saved is not None:
        flash(f"Bars for {name} saved.", "success")
        return redirect(url_for("releases.index", service=name))
    status = 422 if request.method == "POST" else 200
    return render_template("releases/bars.html", form=form, bars=current), status


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
