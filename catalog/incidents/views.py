"""Incident pages: list with filters, detail with timeline and flags, new, edit, delete."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from operator import itemgetter

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.api.serializers import next_clock_change
from catalog.audit.service import incident_history
from catalog.auth import email_or_me
from catalog.auth.service import active_people
from catalog.db import utcnow
from catalog.errors import FieldErrors, ValidationError
from catalog.exports.incidents_csv import incidents_csv_response
from catalog.fields import Spec, read_form
from catalog.incidents import milestones, service, timeline
from catalog.incidents.forms import (
    IncidentFilterForm,
    IncidentForm,
    MilestoneForm,
    NoteForm,
    ReopenForm,
)
from catalog.incidents.models import Incident
from catalog.incidents.spec import INCIDENT
from catalog.postmortems.service import (
    incident_root_cause_flag,
    is_action_item_overdue,
    root_cause_seconds,
)
from catalog.releases.service import release_choices
from catalog.reports.cache import cached_values
from catalog.reports.metrics import incident_durations
from catalog.reports.query import day_start, read_day
from catalog.reports.shared import KEPT_PAGE
from catalog.reports.views import services_and_teams
from catalog.rules import parse_whole_number
from catalog.sessions import get_session
from catalog.settings import current_settings
from catalog.timefmt import format_local
from catalog.vectors.models import Vector
from catalog.web.errors import plain_text_400
from catalog.web.filters import display_zone
from catalog.web.forms import EmptyForm, options
from catalog.web.pages import act, confirm_page, submit
from catalog.when import show_local

bp = Blueprint("incidents", __name__, url_prefix="/incidents")
PER_PAGE_CHOICES = (25, 50, 100)


def _vector_choices(current: Incident | None = None) -> list[Vector]:
    vectors = get_session().scalars(select(Vector).order_by(Vector.name)).all()
    linked = set(current.vector_slugs) if current else set()
    return [v for v in vectors if not v.archived or v.slug in linked]


def _int_arg(name: str, default: int) -> int:
    """A paging argument; not a number (`²`, `abc`) reads as -1, which paging refuses by name."""
    raw = request.args.get(name)
    if raw is None:
        return default
    value = parse_whole_number(raw)
    return -1 if value is None else value


def _list_filters() -> service.IncidentFilters:
    """The incident list's filters from the query string (the CSV export uses the same).

    `since`/`until` are whole days, both included, in the catalog's zone: the days a
    report's period or range covers, so a figure and its incident list agree.
    ValidationError names each bad parameter.
    """
    s = current_settings()
    errors = FieldErrors()
    first, last = read_day(request.args, "since", errors), read_day(request.args, "until", errors)
    breaching = request.args.get("breaching") or ""
    if breaching not in ("", "0", "1"):
        errors.add("breaching", "Breaching must be 1 (only incidents past their target) or empty.")
    caused_by = request.args.get("caused_by") or ""
    if caused_by not in ("", "release"):
        errors.add(
            "caused_by", "Caused by must be `release` (incidents a release caused) or empty."
        )
    errors.raise_if_any()
    rca = request.args.get("rca") or None
    # Only the filters that move with time need the clock; the others keep their answer
    # cacheable (the cache key is the filters' repr, which would change every request).
    clock = service.Clock.of(s, utcnow()) if rca or breaching == "1" else None
    return service.IncidentFilters(
        vector=request.args.get("vector") or None,
        severity=request.args.get("severity") or None,
        service=request.args.get("service") or None,
        team=request.args.get("team") or None,
        status=request.args.get("status") or None,
        q=(request.args.get("q") or "").strip()[:200] or None,
        lead=email_or_me(request.args.get("lead")),
        since=day_start(first, s.zone) if first else None,
        until=day_start(last + timedelta(days=1), s.zone) if last else None,
        rca=rca,
        breaching=breaching == "1",
        clock=clock,
        caused_by_release=caused_by == "release",
    )


@bp.get("/export.csv")
def export_csv():  # type: ignore[no-untyped-def]
    """The filtered list as CSV, streamed: every incident, not one page."""
    try:
        return incidents_csv_response(_list_filters())
    except ValidationError as exc:
        return plain_text_400(exc)


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    session = get_session()
    form = IncidentFilterForm(request.args)
    form.vector.choices = options(
        [("", "All vectors")] + [(v.slug, v.name) for v in _vector_choices()]
    )
    known = services_and_teams(session)
    form.service.choices = options([("", "All services")] + [(s, s) for s in known["services"]])
    form.team.choices = options([("", "All teams")] + [(t, t) for t in known["teams"]])
    form.lead.choices = options(
        [("", "Anyone"), ("me", "Me")] + [(e, n or e) for e, n in active_people(session)]
    )
    per_page = _int_arg("per_page", 25)
    now = utcnow()
    s = current_settings()

    def table() -> tuple[str, datetime | None, bool]:
        """The table of the page asked for ("" for none), when the clock changes it, and
        whether it may be kept."""
        page = service.list_incidents(
            session,
            filters,
            sort=request.args.get("sort") or "-started",
            page=_int_arg("page", 1),
            per_page=per_page,
            cached=cached_values(session),
        )
        if not page.items:
            return "", None, True
        rows = [
            (
                i,
                incident_durations(i, s, now=now),
                incident_root_cause_flag(i, now=now, rca_hours=s.rca_hours),
                service.incident_status(i),
            )
            for i in page.items
        ]
        html = render_template("incidents/_table.html", rows=rows, page=page)
        return html, next_clock_change(page.items, s, now=now), service.small_enough(page.items)

    try:
        filters = _list_filters()
        # Fifty rows of badges, times and durations were most of the page's cost on every
        # view: the table is kept like the page it shows (under the data versions, until
        # the clock changes a row), per reader's zone and URL (the pager's links), and
        # shared by the workers, so a write costs one new page and table, not one each.
        if filters.moves_with_time:
            table_html = table()[0]
        else:
            name = (
                f"incident-table:{filters!r}:{display_zone().key}:"
                f"{request.script_root}:{request.full_path}"
            )
            table_html, _, _ = cached_values(session)(
                name, table, itemgetter(2), valid_until=itemgetter(1), now=now, codec=KEPT_PAGE
            )
    except ValidationError as exc:
        messages = "; ".join(exc.field_lines())
        abort(400, description=f"The list cannot be shown with these filters — {messages}")
    return render_template(
        "incidents/index.html",
        form=form,
        table_html=Markup(table_html),  # noqa: S704 - our own template's output
        per_page_choices=PER_PAGE_CHOICES,
    )


MAX_HISTORY_PAGE = 10_000
TIMELINE_SHOWN = 200


@bp.get("/<int:incident_id>")
def detail(incident_id: int):  # type: ignore[no-untyped-def]
    return _show(service.get_incident(get_session(), incident_id))


def _show(
    incident: Incident,
    *,
    milestone_form: MilestoneForm | None = None,
    note_form: NoteForm | None = None,
    reopen_form: ReopenForm | None = None,
    status: int = 200,
):  # type: ignore[no-untyped-def]
    """The incident page; a refused click or note shows again on it with what was typed."""
    session = get_session()
    now = utcnow()
    s = current_settings()
    today = now.date()
    pm = incident.postmortem
    fresh = {"version": incident.version}
    history_page = _int_arg("history", 1)
    if not 0 < history_page <= MAX_HISTORY_PAGE:
        history_page = 1
    events, older = incident_history(session, incident.id, page=history_page)
    # The newest TIMELINE_SHOWN updates; a restored or imported history may hold thousands.
    total = timeline.count_of(session, incident.id)
    earlier = max(0, total - TIMELINE_SHOWN)
    updates = timeline.timeline_of(session, incident.id, offset=earlier)
    page = render_template(
        "incidents/detail.html",
        incident=incident,
        status=service.incident_status(incident),
        durations=incident_durations(incident, s, now=now),
        rca_flag=incident_root_cause_flag(incident, now=now, rca_hours=s.rca_hours),
        rca_seconds=root_cause_seconds(incident),
        overdue_ids={i.id for i in pm.action_items if is_action_item_overdue(i, today=today)}
        if pm
        else set(),
        action_form=EmptyForm(),
        milestone_form=milestone_form or MilestoneForm(formdata=None, data=fresh),
        note_form=note_form or NoteForm(formdata=None),
        reopen_form=reopen_form or ReopenForm(formdata=None, data=fresh),
        updates=updates,
        earlier_updates=earlier,
        kind_labels=timeline.KIND_LABELS,
        zone=display_zone(),
        events=events,
        history_page=history_page,
        older_history=older,
    )
    return page, status


def _respond(
    incident_id: int,
    form_class: type[FlaskForm],
    spec: Spec,
    action: Callable[[Session, Incident, FlaskForm, FieldErrors], object],
    *,
    done: Callable[[Incident], str],
    anchor: str,
):  # type: ignore[no-untyped-def]
    """A responder's post from the incident page (a milestone, a reopening, a note): saved
    and the page shown again at `anchor` with `done`'s message, or refused and shown with
    what was typed and every reason (422)."""
    session = get_session()
    incident = service.get_incident(session, incident_id)
    form = form_class()
    saved = submit(
        form,
        spec,
        lambda errors: action(session, incident, form, errors),
        current_version=(lambda: incident.version) if hasattr(form, "version") else None,
    )
    if saved is None:
        return _show(incident, status=422, **{_FORM_OF[form_class]: form})
    flash(done(incident), "success")
    return redirect(url_for("incidents.detail", incident_id=incident_id, _anchor=anchor))


_FORM_OF = {MilestoneForm: "milestone_form", ReopenForm: "reopen_form", NoteForm: "note_form"}


@bp.post("/<int:incident_id>/milestone")
def milestone(incident_id: int):  # type: ignore[no-untyped-def]
    """One click: Acknowledge, Mitigated or Recovered, now or at the corrected time."""
    name = request.form.get("milestone")
    return _respond(
        incident_id,
        MilestoneForm,
        milestones.STAMP,
        lambda session, incident, form, errors: milestones.stamp(
            session,
            incident,
            {"milestone": name, "at": form.at.data, "version": form.version.data},
            zone=display_zone(),
        ),
        done=lambda incident: _stamped(incident, name or ""),
        anchor="respond",
    )


def _stamped(incident: Incident, name: str) -> str:
    field, label = milestones.MILESTONES[name]
    when = format_local(getattr(incident, field), display_zone(), "%H:%M %Z, %Y-%m-%d")
    return f"Incident #{incident.id} marked {label.lower()} at {when}."


@bp.post("/<int:incident_id>/reopen")
def reopen(incident_id: int):  # type: ignore[no-untyped-def]
    return _respond(
        incident_id,
        ReopenForm,
        milestones.REOPEN,
        lambda session, incident, form, errors: milestones.reopen(
            session,
            incident,
            {**read_form(form, milestones.REOPEN), "version": form.version.data},
        ),
        done=lambda incident: (
            f"Incident #{incident.id} is open again; the reason is on its timeline."
        ),
        anchor="respond",
    )


@bp.post("/<int:incident_id>/notes")
def add_note(incident_id: int):  # type: ignore[no-untyped-def]
    return _respond(
        incident_id,
        NoteForm,
        timeline.NOTE,
        lambda session, incident, form, errors: timeline.add_note(
            session, incident, read_form(form, timeline.NOTE), errors=errors
        ),
        done=lambda incident: "Note added to the timeline.",
        anchor="updates",
    )


@bp.route("/new", methods=["GET", "POST"])
def create():  # type: ignore[no-untyped-def]
    form = IncidentForm()
    form.set_vector_choices(_vector_choices())
    form.set_people_choices(active_people(get_session()))
    form.set_release_choices(release_choices(get_session()))
    zone = display_zone()
    if request.method == "GET":
        # A sensible start: detected now, started now; the responder corrects both.
        now = show_local(utcnow(), zone)
        form.started_at.data = form.detected_at.data = now
        if request.args.get("vector"):
            form.vectors.data = [request.args["vector"]]
    incident = submit(
        form,
        INCIDENT,
        lambda errors: service.create_incident(get_session(), form.to_domain(zone), errors=errors),
    )
    if incident is not None:
        flash(f"Incident #{incident.id} logged.", "success")
        return redirect(url_for("incidents.detail", incident_id=incident.id))
    status = 422 if request.method == "POST" else 200
    return render_template("incidents/form.html", form=form, incident=None), status


@bp.route("/<int:incident_id>/edit", methods=["GET", "POST"])
def edit(incident_id: int):  # type: ignore[no-untyped-def]
    incident = service.get_incident(get_session(), incident_id)
    zone = display_zone()
    form = IncidentForm()
    form.set_vector_choices(_vector_choices(incident))
    form.set_people_choices(active_people(get_session()), incident)
    form.set_release_choices(release_choices(get_session(), incident.release))
    if request.method == "GET":
        form.load(incident, zone)
    saved = submit(
        form,
        INCIDENT,
        lambda errors: service.update_incident(
            get_session(), incident, form.to_domain(zone, incident), errors=errors
        ),
        current_version=lambda: incident.version,
    )
    if saved is not None:
        flash("Incident updated.", "success")
        return redirect(url_for("incidents.detail", incident_id=incident.id))
    status = 422 if request.method == "POST" else 200
    return render_template("incidents/form.html", form=form, incident=incident), status


@bp.get("/<int:incident_id>/delete")
def confirm_delete(incident_id: int):  # type: ignore[no-untyped-def]
    """Asks first, saying what goes with the incident."""
    session = get_session()
    incident = service.get_incident(session, incident_id)
    pm = incident.postmortem
    goes = []
    if pm is not None:
        items = len(pm.action_items)
        goes.append(
            f"its post-mortem ({pm.status.replace('_', ' ')}) and its {items} action "
            f"item{'' if items == 1 else 's'}"
        )
    updates = timeline.count_of(session, incident.id)
    if updates:
        goes.append(f"its timeline: {updates} update{'' if updates == 1 else 's'}")
    names = ", ".join(v.name for v in incident.vectors)
    stay = (
        f"its vector {names} stays" if len(incident.vectors) == 1 else f"its vectors {names} stay"
    )
    goes.append(f"its place in every report, MTTD/MTTR figure and the dossier ({stay})")
    return confirm_page(
        f"Delete incident #{incident.id} “{incident.title}”?",
        action=url_for("incidents.delete", incident_id=incident.id),
        button=f"Delete incident #{incident.id}",
        cancel=url_for("incidents.detail", incident_id=incident.id),
        lead="Deleting it also deletes, for good:",
        consequences=goes,
        note="The admin audit log keeps a record that it was deleted, and by whom. "
        "A backup taken before now still holds it.",
    )


@bp.post("/<int:incident_id>/delete")
def delete(incident_id: int):  # type: ignore[no-untyped-def]
    incident = service.get_incident(get_session(), incident_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        flash("The form expired; please try again.", "error")
        return redirect(url_for("incidents.detail", incident_id=incident_id))
    if act(lambda: service.delete_incident(get_session(), incident)):
        flash(f"Incident #{incident_id} and its post-mortem were deleted.", "success")
        return redirect(url_for("incidents.index"))
    return redirect(url_for("incidents.detail", incident_id=incident_id))
