"""GET /healthz: for load balancers and uptime checks; no auth, no session."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from catalog.db import ping

bp = Blueprint("health", __name__)

RETRY_AFTER_SECONDS = 30


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    problem = ping(current_app.extensions["catalog.engine"])
    if problem is None:
        return jsonify(status="ok", database="ok")
    # The driver's words (host, port, database name) go to the log, not to the public.
    current_app.logger.warning("Health check: database unreachable: %s", problem)
    response = jsonify(
        status="degraded",
        database="unreachable",
        message="Database unavailable: it does not answer; the service resumes when it does.",
    )
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
