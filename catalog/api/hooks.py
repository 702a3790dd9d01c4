"""/api/v1/hooks: incidents opened and recovered by monitoring systems."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.exc import OperationalError

from catalog.alerts.alertmanager import DeliveryBusy, record_delivery
from catalog.api import bp
from catalog.api.errors import error_response
from catalog.api.parsing import json_body
from catalog.db import utcnow
from catalog.sessions import get_session


@bp.post("/hooks/alertmanager")
def alertmanager_hook():  # type: ignore[no-untyped-def]
    """A Prometheus Alertmanager webhook delivery (payload version 4).

    Alertmanager retries a 5xx and drops a 4xx, so being busy (races that would not
    settle, a database lock that outlasted its timeout) is a 503, never a 409.
    """
    session = get_session()
    payload = json_body()
    try:
        result = record_delivery(
            session,
            payload,
            received_at=utcnow(),
            default_vector=current_app.config.get("ALERT_DEFAULT_VECTOR") or None,
        )
    except (DeliveryBusy, OperationalError) as exc:
        session.rollback()
        current_app.logger.warning("Alertmanager delivery deferred: %s", exc)
        response, status = error_response(
            503, "busy", "The catalog is busy with concurrent deliveries; retry shortly."
        )
        response.headers["Retry-After"] = "5"
        return response, status
    return result.to_dict()
