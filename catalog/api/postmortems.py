"""/api/v1/incidents/<id>/postmortem (GET, PUT: create or replace)."""

from __future__ import annotations

from typing import Any

from catalog.api import bp
from catalog.api.docs import WRITE_ERRORS, body, errors, ok, operation, ref
from catalog.api.parsing import json_body, parse_date, parse_timestamp, refuse_unknown
from catalog.api.serializers import postmortem_to_dict
from catalog.db import utcnow
from catalog.errors import FieldErrors, NotFoundError
from catalog.incidents.service import get_incident
from catalog.postmortems import service
from catalog.postmortems.spec import ACTION_ITEM, POSTMORTEM
from catalog.sessions import get_session
from catalog.settings import current_settings

FIELDS = (*POSTMORTEM.names, "action_items", "version")
ITEM_FIELDS = ("id", *ACTION_ITEM.names)


def _parse(errors: FieldErrors, data: dict[str, Any]) -> dict[str, Any]:
    """Timestamps and dates as values; what cannot be read goes to `errors`, for the
    domain to report with everything else (see catalog.fields)."""
    out = dict(data)
    for field in ("root_cause_at", "published_at"):
        if field in data:
            out[field] = parse_timestamp(errors, field, data[field])
    items = data.get("action_items")
    if isinstance(items, list):
        parsed = []
        for i, raw in enumerate(items):
            if not isinstance(raw, dict):
                parsed.append(raw)
                continue
            for key in sorted(set(raw) - set(ITEM_FIELDS))[:20]:
                errors.add(f"action_items.{i}.{key[:50]}", "Unknown field.")
            item = dict(raw)
            item["due_on"] = parse_date(errors, f"action_items.{i}.due_on", raw.get("due_on"))
            item["done_at"] = parse_timestamp(
                errors, f"action_items.{i}.done_at", raw.get("done_at")
            )
            parsed.append(item)
        out["action_items"] = parsed
    return out


@bp.get("/incidents/<int:incident_id>/postmortem")
@operation(
    "postmortems",
    "Read an incident's post-mortem (404 until one is written)",
    {**ok(200, "The post-mortem.", ref("Postmortem")), **errors(404)},
)
def get_postmortem(incident_id: int):  # type: ignore[no-untyped-def]
    incident = get_incident(get_session(), incident_id)
    if incident.postmortem is None:
        raise NotFoundError(f"Incident {incident_id} has no post-mortem yet; PUT one to create it.")
    return postmortem_to_dict(incident.postmortem, current_settings(), now=utcnow())


@bp.put("/incidents/<int:incident_id>/postmortem")
@operation(
    "postmortems",
    "Create or replace an incident's post-mortem",
    {
        **ok(200, "Replaced.", ref("Postmortem")),
        **ok(201, "Created.", ref("Postmortem")),
        **errors(*WRITE_ERRORS, 404, 409),
    },
    requestBody=body("PostmortemPut"),
)
def put_postmortem(incident_id: int):  # type: ignore[no-untyped-def]
    data = json_body()
    refuse_unknown(data, FIELDS)
    session = get_session()
    incident = get_incident(session, incident_id)
    errors = FieldErrors()
    data = _parse(errors, data)
    pm, created = service.save_postmortem(session, incident, data, errors=errors)
    session.commit()
    return postmortem_to_dict(pm, current_settings(), now=utcnow()), 201 if created else 200
