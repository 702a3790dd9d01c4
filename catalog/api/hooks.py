"""/api/v1/hooks: incidents opened and recovered by monitoring systems."""

from __future__ import annotations

from flask import current_app

from catalog.alerts.alertmanager import apply_delivery
from catalog.api import bp
from catalog.api.parsing import json_body
from catalog.db import get_session, utcnow


@bp.post("/hooks/alertmanager")
def alertmanager_hook():  # type: ignore[no-untyped-def]
    """A Prometheus Alertmanager webhook delivery (payload version 4)."""
    session = get_session()
    result = apply_delivery(
        session,
        json_body(),
        received_at=utcnow(),
        default_vector=current_app.config.get("ALERT_DEFAULT_VECTOR") or None,
    )
    session.commit()
    return result.to_dict()
