"""/api/v1/hooks: incidents opened and recovered by monitoring systems."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.exc import OperationalError

from catalog.alerts.alertmanager import DeliveryBusy, record_delivery
from catalog.api import bp
from catalog.api.docs import (
    TIMESTAMP_IN,
    WRITE_ERRORS,
    Schema,
    body,
    errors,
    obj,
    ok,
    operation,
    ref,
)
from catalog.api.errors import error_response
from catalog.api.parsing import json_body
from catalog.db import utcnow
from catalog.sessions import get_session
from catalog.settings import current_settings


@bp.post("/hooks/alertmanager")
@operation(
    "hooks",
    "Receive a Prometheus Alertmanager webhook delivery (payload version 4)",
    {
        **ok(200, "What each alert did (incident ids).", ref("HookResult")),
        **errors(*WRITE_ERRORS, 503),
    },
    requestBody=body("AlertmanagerDelivery"),
    description="A firing alert opens an incident (started = `startsAt`, detected = when "
    "received, vector from the label `failure_vector` or `CATALOG_ALERT_DEFAULT_VECTOR`, "
    "severity from `severity`, service from `service` or `job`); the resolved alert sets "
    "recovered = `endsAt`. Idempotent by `fingerprint` and `startsAt`: repeated, reordered or "
    "batched deliveries never duplicate an incident or move a timestamp back. All or nothing "
    "per delivery: a bad alert is a 422 naming `alerts[i].field`, and nothing is kept.",
)
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
            default_vector=current_settings().alert_default_vector,
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


def hook_schemas() -> dict[str, Schema]:
    """The schemas this route's body and answer refer to, for the OpenAPI document."""
    strings = {"type": "object", "additionalProperties": {"type": "string", "maxLength": 10000}}
    alert: Schema = {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["firing", "resolved"]},
            "fingerprint": {"type": "string", "pattern": "^[0-9A-Za-z]{1,64}$"},
            "startsAt": TIMESTAMP_IN,
            "endsAt": {
                **TIMESTAMP_IN,
                "description": "Required when resolved; `0001-01-01T00:00:00Z` means not set.",
            },
            "labels": strings,
            "annotations": strings,
            "generatorURL": {"type": "string"},
        },
        "required": ["status", "fingerprint", "startsAt"],
        "additionalProperties": True,  # Alertmanager may add fields
    }
    ids = {"type": "array", "items": {"type": "integer"}}
    return {
        "AlertmanagerDelivery": {
            "type": "object",
            "properties": {
                "version": {"type": "string"},
                "status": {"type": "string"},
                "alerts": {"type": "array", "items": alert, "minItems": 1, "maxItems": 1000},
            },
            "required": ["alerts"],
            "additionalProperties": True,
        },
        "HookResult": obj(
            {"created": ids, "updated": ids, "unchanged": ids},
            ["created", "updated", "unchanged"],
        ),
    }
