"""GET /healthz: for load balancers and uptime checks; no auth, no session."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from catalog.db import ping

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    if ping(current_app.extensions["catalog.engine"]):
        return jsonify(status="ok", database="ok")
    return jsonify(status="degraded", database="unreachable"), 503
