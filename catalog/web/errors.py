"""Error pages that look like the app, and JSON errors under /api."""

from __future__ import annotations

from flask import Flask, Response, g, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError, NotFound, SecurityError

from catalog.api.errors import error_response
from catalog.auth import login_manager
from catalog.db import DATABASE_ERRORS, unavailable_kind
from catalog.errors import NotFoundError, ValidationError

UNAVAILABLE = {
    # kind: (Retry-After seconds, what the user reads)
    "busy": (5, "The database is busy with another change; try again in a few seconds."),
    "unavailable": (30, "The database is unavailable right now; try again in a minute."),
}


def plain_text_400(exc: ValidationError) -> Response:
    """A bad query for a file download (CSV, SVG): one `field: message` line per field.

    A download has no page to show a form error on; the text says what to fix.
    """
    return Response("\n".join(exc.field_lines()) + "\n", 400, mimetype="text/plain")


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    @app.errorhandler(SecurityError)
    def _untrusted_host(exc: SecurityError):  # type: ignore[no-untyped-def]
        """A Host outside CATALOG_TRUSTED_HOSTS: no URL can be built for it, so no page."""
        message = "This server does not answer for that host name."
        if _wants_json():
            return error_response(400, "bad_request", message)
        return Response(message + "\n", 400, mimetype="text/plain")

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        if _wants_json():
            return error_response(
                exc.code or 500, _code_for(exc.code or 500), exc.description or ""
            )
        try:  # the page shows who is signed in: loaded from the database
            page = render_template(
                "errors/error.html", code=exc.code, name=exc.name, description=exc.description
            )
        except DATABASE_ERRORS as db_exc:
            return _database(db_exc)
        return page, exc.code or 500

    @app.errorhandler(NotFoundError)
    def _not_found(exc: NotFoundError):  # type: ignore[no-untyped-def]
        """A record the URL names is not there: the domain says which, once, for every view."""
        return _http_error(NotFound(description=exc.message))

    @app.errorhandler(DATABASE_ERRORS[0])
    @app.errorhandler(DATABASE_ERRORS[1])
    def _database(exc: Exception):  # type: ignore[no-untyped-def]
        kind = unavailable_kind(exc)
        if kind is None:  # a bug or a constraint: what any other error gets
            return _unexpected(exc)
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""]
        app.logger.warning(
            "Database %s on %s %s: %s", kind, request.method, request.path, reason[0]
        )
        _discard_session()
        retry_after, message = UNAVAILABLE[kind]
        if _wants_json():
            response, _ = error_response(503, "database_unavailable", message)
            response.status_code = 503
        else:
            # The page is drawn without the database: no signed-in user to show
            # (Flask-Login's template context would load one from it), no nav.
            g.actor = None
            g._login_user = login_manager.anonymous_user()
            page = render_template(
                "errors/error.html", code=503, name="Database unavailable", description=message
            )
            response = Response(page, 503, mimetype="text/html")
        response.headers["Retry-After"] = str(retry_after)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        if "db_session" in g:  # a failed flush leaves it unusable; the error page reads from it
            try:
                g.db_session.rollback()
            except Exception:  # the database itself is gone: the page still renders
                app.logger.warning("Rollback after an unhandled error failed too.")
        if _wants_json():
            return error_response(500, "internal_error", "Something went wrong on our side.")
        err = InternalServerError()
        return render_template(
            "errors/error.html", code=500, name=err.name, description=err.description
        ), 500


def _discard_session() -> None:
    """Roll the request's session back; on a dead connection that fails too, harmlessly."""
    session = g.pop("db_session", None)
    if session is None:
        return
    try:
        session.rollback()
        session.close()
    except Exception:  # noqa: BLE001 - the connection is gone; the pool replaces it
        pass


def _code_for(status: int) -> str:
    return {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        413: "payload_too_large",
        415: "unsupported_media_type",
        422: "validation_error",
        429: "too_many_requests",
    }.get(status, "error")
