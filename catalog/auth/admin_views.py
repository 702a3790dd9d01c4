"""Admin pages: invite users, change roles, deactivate, see anyone's tokens; the audit log."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import false, func, select

from catalog.audit.models import ACTIONS, AuditEvent
from catalog.audit.service import AUDITED
from catalog.auth import current_actor, service
from catalog.auth.forms import InviteForm, RoleForm
from catalog.errors import DomainError
from catalog.outcomes import commit, one_line
from catalog.rules import is_storable, parse_whole_number
from catalog.sessions import get_session
from catalog.web.forms import EmptyForm
from catalog.web.pages import act, confirm_page, save_or_report

bp = Blueprint("admin", __name__, url_prefix="/admin")
AUDIT_PER_PAGE = 50


@bp.route("/users", methods=["GET", "POST"])
def users():  # type: ignore[no-untyped-def]
    form = InviteForm()
    created = None
    if form.validate_on_submit():
        result = save_or_report(
            form,
            lambda: service.create_user(
                get_session(), email=form.email.data, role=form.role.data, name=form.name.data
            ),
        )
        if result is not None:
            created = result  # (user, one-time password): shown once, on this response only
            form = InviteForm(formdata=None)
    status = 201 if created else (422 if request.method == "POST" else 200)
    return render_template(
        "admin/users.html", form=form, users=service.list_users(get_session()), created=created
    ), status


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user(user_id: int):  # type: ignore[no-untyped-def]
    session = get_session()
    target = service.get_user(session, user_id)
    role_form = RoleForm(obj=target) if request.method == "GET" else RoleForm()
    if request.method == "POST":
        action = request.form.get("action")
        acting = current_actor()
        if action == "reset" and EmptyForm().validate_on_submit():
            try:
                one_time = commit(session, lambda: service.reset_password(session, target))
            except DomainError as refusal:
                flash(one_line(refusal), "error")
            else:  # rendered, not flashed: a flash would carry the password in the cookie
                return render_template(
                    "admin/user.html",
                    target=target,
                    role_form=role_form,
                    action_form=EmptyForm(),
                    one_time=one_time,
                )
        elif action == "role" and role_form.validate_on_submit():
            # a role not on the list, from a hand-made post, is the domain's refusal
            if act(lambda: service.set_role(session, target, role_form.role.data, acting=acting)):
                flash(f"{target.email} is now {target.role}.", "success")
        elif action in ("deactivate", "activate") and EmptyForm().validate_on_submit():
            active = action == "activate"
            if act(lambda: service.set_active(session, target, active, acting=acting)):
                outcome = (
                    "active again"
                    if active
                    else "deactivated: their sessions and tokens stopped working"
                )
                flash(f"{target.email} is {outcome}.", "success")
        else:
            flash("Nothing changed: the form expired or the choice was invalid.", "error")
        return redirect(url_for("admin.user", user_id=user_id))
    return render_template(
        "admin/user.html", target=target, role_form=role_form, action_form=EmptyForm()
    )


@bp.get("/users/<int:user_id>/deactivate")
def confirm_deactivate(user_id: int):  # type: ignore[no-untyped-def]
    """Asks first, saying what stops working at once."""
    target = service.get_user(get_session(), user_id)
    tokens = sum(1 for t in target.tokens if t.active)
    return confirm_page(
        f"Deactivate {target.email}?",
        action=url_for("admin.user", user_id=target.id),
        button="Deactivate",
        cancel=url_for("admin.user", user_id=target.id),
        lead="At once:",
        consequences=[
            "they are signed out everywhere and cannot sign in",
            f"their {tokens} active API token{'' if tokens == 1 else 's'} stop working "
            "(an Alertmanager or script using one gets 401)",
        ],
        note="Their incidents, notes and history stay, under their name. "
        "You can activate the account again later.",
        hidden={"action": "deactivate"},
    )


@bp.get("/audit")
def audit():  # type: ignore[no-untyped-def]
    session = get_session()
    query = select(AuditEvent)
    args = request.args
    object_type = args.get("object_type") or ""
    action = args.get("action") or ""
    actor = (args.get("actor") or "").strip()[:254]
    if object_type in AUDITED.values():
        query = query.where(AuditEvent.object_type == object_type)
    if action in ACTIONS:
        query = query.where(AuditEvent.action == action)
    if actor:  # a NUL matches no label, and PostgreSQL refuses it in a query
        query = query.where(
            AuditEvent.actor_label == actor.lower() if is_storable(actor) else false()
        )
    incident = args.get("incident", "")
    incident_id = parse_whole_number(incident)
    if incident_id is not None and 0 < incident_id < 10**9:  # else the filter is ignored
        query = query.where(AuditEvent.incident_id == incident_id)
    page = parse_whole_number(args.get("page"))
    page = page if page is not None and 0 < page < 10**6 else 1
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    events = session.scalars(
        query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(AUDIT_PER_PAGE)
        .offset((page - 1) * AUDIT_PER_PAGE)
    ).all()
    pages = max(1, -(-total // AUDIT_PER_PAGE))
    return render_template(
        "admin/audit.html",
        events=events,
        total=total,
        page=page,
        pages=pages,
        object_types=sorted(AUDITED.values()),
        actions=ACTIONS,
        filters={
            "object_type": object_type,
            "action": action,
            "actor": actor,
            "incident": incident,
        },
    )
