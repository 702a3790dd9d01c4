"""JSON API under /api/v1 (SPEC §4). Bearer-token auth arrives with accounts; CSRF-exempt."""

from __future__ import annotations

from flask import Blueprint, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import RequestEntityTooLarge

from catalog.api.errors import error_response
from catalog.api.parsing import MalformedRequest
from catalog.errors import DomainError
from catalog.outcomes import as_domain_error, status_of
from catalog.sessions import get_session
from catalog.web import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.errorhandler(DomainError)
@bp.errorhandler(StaleDataError)
@bp.errorhandler(IntegrityError)
def _refused(exc: Exception):  # type: ignore[no-untyped-def]
    """A refusal from the domain or the database, in the one envelope (catalog.outcomes)."""
    get_session().rollback()
    refusal = as_domain_error(exc)
    assert refusal is not None  # registered for refusals only
    return error_response(
        status_of(refusal), refusal.code, refusal.message, dict(refusal.fields) or None
    )


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
    releases,
    timeline,
    transfer,
    vectors,
)
