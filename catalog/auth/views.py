"""Sign in and out, one's own account: name, time zone, password, API tokens."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_user, logout_user

from catalog.auth import current_actor, safe_next, service
from catalog.auth.forms import AccountForm, LoginForm, PasswordForm, TokenForm
from catalog.sessions import get_session
from catalog.web.forms import EmptyForm
from catalog.web.pages import act, confirm_page, save_or_report

bp = Blueprint("auth", __name__)
# The token form shares a page with the profile form: a prefix keeps their ids apart.
TOKEN_PREFIX = "token"


def _address() -> str:
    return (request.remote_addr or "unknown")[:64]


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
    status = 200
    if form.validate_on_submit():
        session = get_session()
        try:
            user = service.authenticate(
                session, form.email.data or "", form.password.data or "", address=_address()
            )
        except service.Throttled as exc:
            session.rollback()
            response = render_template("auth/login.html", form=form, throttled=str(exc))
            return response, 429, {"Retry-After": str(exc.retry_after)}
        if user is not None:
            service.start_session(session, user)
        session.commit()
        if user is not None:
            login_user(user)
            if user.must_change_password:
                flash("Welcome! Choose your own password to replace the one-time password.", "info")
                return redirect(url_for("auth.password"))
            return redirect(safe_next(form.next.data) or url_for("dashboard.index"))
        flash("Wrong e-mail or password, or the account is deactivated.", "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form, throttled=None), status


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    if EmptyForm().validate_on_submit():
        session = get_session()
        service.end_session(session, current_actor().web_session)  # a copied cookie stops too
        session.commit()
        logout_user()
        flash("Signed out.", "success")
        return redirect(url_for("auth.login"))
    flash("The form expired; please try again.", "error")
    return redirect(url_for("dashboard.index"))


@bp.route("/account", methods=["GET", "POST"])
def account():  # type: ignore[no-untyped-def]
    user = current_actor()
    form = AccountForm(obj=user) if request.method == "GET" else AccountForm()
    if request.method == "GET":
        form.timezone.data = user.timezone or ""
    if form.validate_on_submit():
        saved = save_or_report(
            form,
            lambda: service.update_profile(
                get_session(), user, name=form.name.data, timezone=form.timezone.data
            ),
        )
        if saved is not None:
            flash("Account saved.", "success")
            return redirect(url_for("auth.account"))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "auth/account.html",
        form=form,
        token_form=TokenForm(prefix=TOKEN_PREFIX),
        action_form=EmptyForm(),
        user=user,
        new_token=None,
    ), status


@bp.route("/account/password", methods=["GET", "POST"])
def password():  # type: ignore[no-untyped-def]
    user = current_actor()
    form = PasswordForm()
    if form.validate_on_submit():
        saved = save_or_report(
            form,
            lambda: service.change_password(
                get_session(),
                user,
                form.current_password.data,
                form.new_password.data,
                form.confirm_password.data,
                keep=user.web_session,
            ),
        )
        if saved is not None:
            login_user(saved)  # the epoch moved on: renew this session, others end
            flash("Password changed. Other sessions of yours were signed out.", "success")
            return redirect(url_for("dashboard.index"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/password.html", form=form, user=user), status


@bp.post("/account/tokens")
def create_token():  # type: ignore[no-untyped-def]
    user = current_actor()
    form = TokenForm(prefix=TOKEN_PREFIX)
    new = None
    if not form.validate_on_submit():
        flash("The form expired; please try again.", "error")
    else:
        new = save_or_report(
            form, lambda: service.create_token(get_session(), user, form.name.data)
        )
    # A refusal stays on the page (422) with its reason; the profile form shows the stored values.
    account_form = AccountForm(formdata=None, obj=user)
    account_form.timezone.data = user.timezone or ""
    return render_template(
        "auth/account.html",
        form=account_form,
        token_form=TokenForm(formdata=None, prefix=TOKEN_PREFIX) if new else form,
        action_form=EmptyForm(),
        user=user,
        new_token=new.secret if new else None,
    ), 201 if new else 422


def _revocable(token_id: int):  # type: ignore[no-untyped-def]
    """The token, when the signed-in user may revoke it (their own, or any for an admin)."""
    user = current_actor()
    token = service.get_token(get_session(), token_id)
    if token.user_id != user.id and not user.has_role("admin"):
        abort(403, description="You can only revoke your own tokens.")
    return user, token


@bp.get("/account/tokens/<int:token_id>/revoke")
def confirm_revoke_token(token_id: int):  # type: ignore[no-untyped-def]
    """Asks first: whatever uses the token stops at once."""
    user, token = _revocable(token_id)
    admin_page = request.args.get("back") == "admin" and user.has_role("admin")
    back = url_for("admin.user", user_id=token.user_id) if admin_page else url_for("auth.account")
    last = token.last_used_at.strftime("%Y-%m-%d") if token.last_used_at else "never"
    return confirm_page(
        f"Revoke the token {token.prefix}… “{token.name}”?",
        action=url_for("auth.revoke_token", token_id=token.id),
        button="Revoke token",
        cancel=back,
        lead="At once:",
        consequences=[
            f"every request with it gets 401 (last used: {last})",
            "it cannot be turned back on: a new token has a new secret",
        ],
        hidden={"back": "admin"} if admin_page else {},
    )


@bp.post("/account/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):  # type: ignore[no-untyped-def]
    user, token = _revocable(token_id)
    if not EmptyForm().validate_on_submit():
        flash("The form expired; nothing was revoked. Please try again.", "error")
    elif act(lambda: service.revoke_token(get_session(), token)):
        flash(f"Token {token.prefix}… revoked; it stops working now.", "success")
    back = request.form.get("back")
    if back == "admin" and user.has_role("admin"):
        return redirect(url_for("admin.user", user_id=token.user_id))
    return redirect(url_for("auth.account"))
