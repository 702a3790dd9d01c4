"""/api/v1/incidents/{id}/milestones and /updates: responding through the API."""

from __future__ import annotations

from typing import Any

from catalog.api import bp
from catalog.api.common import list_envelope, paging
from catalog.api.docs import (
    TIMESTAMP,
    VERSION_IN,
    WRITE_ERRORS,
    Schema,
    body,
    errors,
    list_schema,
    obj,
    ok,
    operation,
    params,
    read_only,
    ref,
)
from catalog.api.parsing import json_body, refuse_unknown
from catalog.api.serializers import incident_to_dict
from catalog.db import utcnow
from catalog.incidents import milestones, service, timeline
from catalog.incidents.models import UPDATE_KINDS, UPDATE_SOURCES, IncidentUpdate
from catalog.sessions import get_session
from catalog.settings import current_settings
from catalog.timefmt import iso_utc


def update_to_dict(entry: IncidentUpdate) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": iso_utc(entry.at),
        "kind": entry.kind,
        "source": entry.source,
        "author": entry.author_label,
        "author_id": entry.author_id,
        "body": entry.body,
    }


@bp.post("/incidents/<int:incident_id>/milestones")
@operation(
    "incidents",
    "Stamp a milestone (acknowledged, mitigated, recovered) now or at a corrected time",
    {
        **ok(200, "The incident, with the milestone stamped.", ref("Incident")),
        **errors(*WRITE_ERRORS, 404, 409),
    },
    requestBody=body("MilestoneStamp"),
    description="Goes through the incident's rules (times in order, none in the future) and "
    "its version check, and adds a `milestone` entry to the timeline. A milestone already "
    "stamped is a 409: change its time with PATCH. Recovering an incident never marked "
    "mitigated marks it mitigated at the same time.",
)
def stamp_milestone(incident_id: int):  # type: ignore[no-untyped-def]
    data = json_body()
    refuse_unknown(data, (*milestones.STAMP.names, "version"))
    session = get_session()
    incident = service.get_incident(session, incident_id)
    milestones.stamp(session, incident, data, zone=None)
    session.commit()
    return incident_to_dict(incident, current_settings(), now=utcnow())


@bp.get("/incidents/<int:incident_id>/updates")
@operation(
    "incidents",
    "List an incident's timeline, oldest first",
    {**ok(200, "One page of timeline entries.", ref("IncidentUpdateList")), **errors(404, 422)},
    parameters=params("IncidentPage", "PerPage"),
)
def list_updates(incident_id: int):  # type: ignore[no-untyped-def]
    page, per_page = paging()
    session = get_session()
    incident = service.get_incident(session, incident_id)
    entries = timeline.timeline_of(
        session, incident.id, offset=(page - 1) * per_page, limit=per_page
    )
    return list_envelope(
        [update_to_dict(e) for e in entries],
        page=page,
        per_page=per_page,
        total=timeline.count_of(session, incident.id),
        endpoint="api.list_updates",
    )


@bp.post("/incidents/<int:incident_id>/updates")
@operation(
    "incidents",
    "Add a note to an incident's timeline, stamped now",
    {**ok(201, "The new entry.", ref("IncidentUpdate")), **errors(*WRITE_ERRORS, 404)},
    requestBody=body("NoteCreate"),
)
def add_update(incident_id: int):  # type: ignore[no-untyped-def]
    data = json_body()
    refuse_unknown(data, timeline.NOTE.names)
    session = get_session()
    incident = service.get_incident(session, incident_id)
    entry = timeline.add_note(session, incident, data)
    session.commit()
    return update_to_dict(entry), 201


def timeline_schemas() -> dict[str, Schema]:
    """The schemas these routes' bodies and answers refer to, for the OpenAPI document."""
    entry = {
        "id": read_only({"type": "integer"}),
        "at": read_only(TIMESTAMP),
        "kind": read_only({"type": "string", "enum": list(UPDATE_KINDS)}),
        "source": read_only({"type": "string", "enum": list(UPDATE_SOURCES)}),
        "author": read_only(
            {"type": "string", "description": "The user's e-mail, or the system that wrote it."}
        ),
        "author_id": read_only({"type": ["integer", "null"]}),
        "body": read_only({"type": "string", "description": "Markdown."}),
    }
    return {
        "MilestoneStamp": obj(
            {**milestones.STAMP.json_schema()["properties"], "version": VERSION_IN},
            ["milestone", "version"],
            description="Which milestone, optionally when; unknown fields are refused (422).",
            example={"milestone": "mitigated", "at": "-7m", "version": 3},
        ),
        "NoteCreate": obj(
            timeline.NOTE.json_schema()["properties"],
            ["body"],
            description="A responder's note; unknown fields are refused (422).",
            example={"body": "Rolled back the tokenizer to 1.4.2; error rate falling."},
        ),
        "IncidentUpdate": obj(entry, list(entry), description="One timeline entry."),
        "IncidentUpdateList": list_schema("IncidentUpdate"),
    }
