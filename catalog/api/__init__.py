"""JSON API under /api/v1 (SPEC §4). Bearer-token auth arrives with accounts; CSRF-exempt."""

from __future__ import annotations

from flask import Blueprint, current_app, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import RequestEntityTooLarge

from catalog.api.errors import error_response
from catalog.api.parsing import MalformedRequest
from catalog.errors import ConflictError, NotFoundError, ValidationError, unique_clash_fields
from catalog.sessions import get_session
from catalog.web import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.errorhandler(ValidationError)
def _validation(exc: ValidationError):  # type: ignore[no-untyped-def]
    get_session().rollback()
    return error_response(422, "validation_error", exc.message, exc.fields)


@bp.errorhandler(ConflictError)
def _conflict(exc: ConflictError):  # type: ignore[no-untyped-def]
    get_session().rollback()
    return error_response(409, "conflict", exc.message)


@bp.errorhandler(StaleDataError)
def _stale(exc: StaleDataError):  # type: ignore[no-untyped-def]
    get_session().rollback()
    return error_response(
        409,
        "conflict",
        "This object was changed by someone else meanwhile; reload it and try again.",
    )


@bp.errorhandler(IntegrityError)
def _integrity(exc: IntegrityError):  # type: ignore[no-untyped-def]
    get_session().rollback()
    current_app.logger.warning("Integrity error turned into 409: %s", exc.orig)
    fields = unique_clash_fields(exc)  # a race two requests ran past the friendly check
    return error_response(
        409,
        "conflict",
        "The change clashes with data saved meanwhile (a duplicate?); reload and try again.",
        fields or None,
    )


@bp.errorhandler(NotFoundError)
def _not_found(exc: NotFoundError):  # type: ignore[no-untyped-def]
    return error_response(404, "not_found", exc.message)


@bp.errorhandler(MalformedRequest)
def _malformed(exc: MalformedRequest):  # type: ignore[no-untyped-def]
    return error_response(400, "bad_request", str(exc))


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge):  # type: ignore[no-untyped-def]
    limit = request.max_content_length or 0
    return error_response(
        413, "payload_too_large", f"The request body is larger than {limit / 2**20:g} MiB."
    )


from catalog.api import (  # noqa: E402,F401
    hooks,
    incidents,
    metrics,
    openapi,
    postmortems,
    transfer,
    vectors,
)
