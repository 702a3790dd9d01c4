"""Helpers the HTML views share: a posted form saved through catalog.outcomes, refusals shown."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import flash, render_template
from flask_wtf import FlaskForm

from catalog.errors import DomainError, FieldErrors, VersionConflict
from catalog.fields import Spec, unreadable
from catalog.outcomes import commit, one_line
from catalog.sessions import get_session
from catalog.web.forms import EmptyForm, apply_domain_errors

T = TypeVar("T")


def expired(form: FlaskForm) -> bool:
    """A stale or forged post (CSRF): the form's summary says so, and nothing is saved.
    Call after `form.validate()`."""
    return bool(form.meta.csrf and form.csrf_token.errors)


def submit(
    form: FlaskForm,
    spec: Spec,
    action: Callable[[FieldErrors], T],
    *,
    current_version: Callable[[], int] | None = None,
) -> T | None:
    """A posted form whose rules all live in the domain, checked in one pass.

    The form only reads the input (CSRF, a time in the right format); what it
    could not read goes to `action` as errors already found, and the domain adds
    every other message to them: an empty title, times out of order and a time in
    the future show together, as the API reports them. None on a GET, on a stale or
    forged form (CSRF) and when the action is refused.
    """
    if not form.is_submitted():
        return None
    form.validate()
    if expired(form):
        return None
    errors = unreadable(form, spec)
    return save_or_report(form, lambda: action(errors), current_version=current_version)


def save_or_report(
    form: FlaskForm, action: Callable[[], T], *, current_version: Callable[[], int] | None = None
) -> T | None:
    """Run a domain action and commit; on a refusal, roll back and put the reasons on the page.

    Returns the action's result, or None when it was refused. On a version
    conflict the form keeps the user's input and moves its hidden version on,
    so a deliberate second save overwrites with eyes open.
    """
    try:
        return commit(get_session(), action)
    except VersionConflict:
        _keep_input_after_conflict(form, current_version)
    except DomainError as refusal:
        fields = refusal.fields
        for message in apply_domain_errors(form, fields):
            flash(message, "error")
        if not fields:
            flash(refusal.message, "error")
    return None


def confirm_page(
    question: str,
    *,
    action: str,
    button: str,
    cancel: str,
    consequences: list[str] | None = None,
    lead: str = "This also:",
    note: str = "",
    hidden: dict[str, str] | None = None,
    blocked: str = "",
) -> str:
    """A page of its own that asks before something is destroyed, saying what goes with
    it; its button posts to `action`, where the deed is done (no script needed)."""
    return render_template(
        "confirm.html",
        question=question,
        action=action,
        button=button,
        cancel=cancel,
        consequences=consequences or [],
        lead=lead,
        note=note,
        hidden=hidden or {},
        blocked=blocked,
        form=EmptyForm(),
    )


def act(action: Callable[[], object]) -> bool:
    """A button's action (archive, delete, a role change): committed and True, or its
    refusal flashed in one line and False. The caller redirects either way."""
    try:
        commit(get_session(), action)
    except DomainError as refusal:
        flash(one_line(refusal), "error")
        return False
    return True


def _keep_input_after_conflict(form: FlaskForm, current_version: Callable[[], int] | None) -> None:
    flash(
        "Someone else saved a change to this while you were editing. Your input is kept "
        "below; open the page in a new tab to compare, then save again to overwrite theirs.",
        "error",
    )
    if current_version is not None and hasattr(form, "version"):
        get_session().expire_all()
        form.version.data = current_version()
        # The hidden input renders raw_data (the stale posted value) when it has any.
        form.version.raw_data = [str(form.version.data)]
