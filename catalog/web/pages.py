"""Helpers the HTML views share: the session-commit-redirect dance and conflict handling."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import flash
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from catalog.errors import (
    ConflictError,
    FieldErrors,
    ValidationError,
    VersionConflict,
    unique_clash_fields,
)
from catalog.fields import Spec, unreadable
from catalog.sessions import get_session
from catalog.web.forms import apply_domain_errors

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
    session = get_session()
    try:
        result = action()
        session.commit()
        return result
    except ValidationError as exc:
        session.rollback()
        for message in apply_domain_errors(form, exc):
            flash(message, "error")
        if not exc.fields:
            flash(exc.message, "error")
    except ConflictError as exc:
        session.rollback()
        if not isinstance(exc, VersionConflict):
            flash(exc.message, "error")
            return None
        _keep_input_after_conflict(form, current_version)
    except StaleDataError:
        session.rollback()
        _keep_input_after_conflict(form, current_version)
    except IntegrityError as exc:
        session.rollback()
        fields = unique_clash_fields(exc)  # saved meanwhile by someone else: say which field
        if fields:
            for message in apply_domain_errors(form, ValidationError(fields)):
                flash(message, "error")
        else:
            flash(
                "The change clashes with data saved meanwhile (a duplicate?). Check and save again.",
                "error",
            )
    return None


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
