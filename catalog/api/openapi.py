"""The OpenAPI 3.1 document of /api/v1 (SPEC §4), served at /api/v1/openapi.json.

Assembled, not written: the fields of every body and answer come from their
declarations (catalog/*/spec.py, `Spec.json_schema` and `read_properties`),
each operation's facts (summary, responses, parameters) from its route
(`catalog.api.docs.operation`), and the paths from the URL map. What is left
here is what only the answers have: the derived values the serializers add.
`tests/test_openapi.py` fails when a route under /api/v1 is undocumented (or a
documented one is gone) and runs schemathesis against the app to keep every
schema and status code honest.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, current_app, has_app_context

from catalog import __version__
from catalog.api import bp
from catalog.api.docs import (
    ERROR_SCHEMA,
    PARAMETERS,
    PATH_PARAMETERS,
    SECONDS,
    TIMESTAMP,
    VERSION_IN,
    Schema,
    error_responses,
    errors,
    list_schema,
    nullable,
    obj,
    ok,
    operation,
    params,
    read_only,
    ref,
)
from catalog.api.hooks import hook_schemas
from catalog.api.metrics import metrics_schemas
from catalog.api.releases import release_schemas
from catalog.api.timeline import timeline_schemas
from catalog.api.transfer import transfer_schemas
from catalog.incidents.models import STATUSES
from catalog.incidents.spec import INCIDENT
from catalog.postmortems.service import MAX_ACTION_ITEMS, ROOT_CAUSE_FLAGS
from catalog.postmortems.spec import ACTION_ITEM, POSTMORTEM
from catalog.vectors.spec import VECTOR

_VARIABLE = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")

# ---- vectors ----------------------------------------------------------------


def _vector_fields() -> dict[str, Schema]:
    return {
        **VECTOR.json_schema()["properties"],
        "archived": {
            "type": "boolean",
            "description": "true archives (sets `archived_at`), false restores. "
            "Admins only: an editor sending this field gets 403.",
        },
    }


def _vector_schemas() -> dict[str, Schema]:
    fields = _vector_fields()
    read = {
        **VECTOR.read_properties(),
        "rpn": read_only(
            {
                "type": ["integer", "null"],
                "description": "FMEA risk priority number, severity × occurrence × "
                "detectability; null unless all three are set.",
            }
        ),
        "archived": read_only({"type": "boolean"}),
        "archived_at": read_only(nullable(TIMESTAMP)),
        "created_at": read_only(TIMESTAMP),
        "updated_at": read_only(TIMESTAMP),
        "version": read_only({"type": "integer"}),
    }
    return {
        "Vector": obj(read, list(read), description="A failure vector as the API returns it."),
        "VectorCreate": obj(
            fields,
            list(VECTOR.required),
            description="A new failure vector; unknown fields are refused (422).",
            example={
                "name": "Embedding drift",
                "category": "drift",
                "mttd_target_minutes": 10,
                "mttr_target_minutes": 60,
            },
        ),
        "VectorPatch": obj(
            {**fields, "version": VERSION_IN},
            ["version"],
            description="A partial change; fields left out keep their value.",
            example={"version": 1, "mttr_target_minutes": 30},
        ),
    }


# ---- incidents --------------------------------------------------------------


def _incident_schemas() -> dict[str, Schema]:
    fields = INCIDENT.json_schema()["properties"]
    read = {
        "id": read_only({"type": "integer"}),
        **INCIDENT.read_properties(),
        "status": read_only({"type": "string", "enum": list(STATUSES)}),
        "ttd_seconds": read_only({**SECONDS, "description": "detected_at - started_at."}),
        "ttr_seconds": read_only(
            nullable({**SECONDS, "description": "recovered_at - detected_at (or started_at)."})
        ),
        "impact_seconds": read_only(
            nullable({**SECONDS, "description": "recovered_at - started_at."})
        ),
        "breaching": read_only(
            {"type": "boolean", "description": "Open and already past its TTR target."}
        ),
        "root_cause_flag": read_only({"type": "string", "enum": list(ROOT_CAUSE_FLAGS)}),
        "has_postmortem": read_only({"type": "boolean"}),
        "created_at": read_only(TIMESTAMP),
        "updated_at": read_only(TIMESTAMP),
        "version": read_only({"type": "integer"}),
    }
    example = {
        "title": "Vector DB p99 at 4 s",
        "severity": "SEV2",
        "service": "rag-search",
        "team": "search",
        "vectors": ["dependency-latency"],
        "started_at": "2026-03-02T12:00:00Z",
        "detected_at": "2026-03-02T12:04:00Z",
    }
    return {
        "Incident": obj(read, list(read), description="An incident with its derived values."),
        "IncidentCreate": obj(
            fields,
            list(INCIDENT.required),
            description="A new incident; unknown fields are refused (422).",
            example=example,
        ),
        "IncidentPatch": obj(
            {**fields, "version": VERSION_IN},
            ["version"],
            description="A partial change; fields left out keep their value.",
            example={"version": 1, "recovered_at": "2026-03-02T12:30:00Z"},
        ),
    }


# ---- post-mortems -----------------------------------------------------------


def _postmortem_schemas() -> dict[str, Schema]:
    item_in = obj(
        {
            "id": {
                "type": ["integer", "null"],
                "description": "Send an existing item's id back to keep it; leave out for a new one.",
            },
            **ACTION_ITEM.json_schema()["properties"],
        },
        list(ACTION_ITEM.required),
    )
    item_out = obj(
        {
            "id": {"type": "integer"},
            **ACTION_ITEM.read_properties(),
            "overdue": read_only(
                {"type": "boolean", "description": "Not done and past its due date."}
            ),
        },
        ["id", *ACTION_ITEM.names, "overdue"],
    )
    read = {
        "incident_id": read_only({"type": "integer"}),
        **POSTMORTEM.read_properties(),
        "root_cause_seconds": read_only(
            nullable({**SECONDS, "description": "root_cause_at - detected_at."})
        ),
        "root_cause_flag": read_only({"type": "string", "enum": list(ROOT_CAUSE_FLAGS)}),
        "action_items": {"type": "array", "items": ref("ActionItem")},
        "created_at": read_only(TIMESTAMP),
        "updated_at": read_only(TIMESTAMP),
        "version": read_only({"type": "integer"}),
    }
    write = {
        **POSTMORTEM.json_schema()["properties"],
        "action_items": {
            "type": ["array", "null"],
            "items": ref("ActionItemInput"),
            "maxItems": MAX_ACTION_ITEMS,
            "description": "The whole list: items whose id is not sent back are deleted.",
        },
        "version": {
            **VERSION_IN,
            "description": "Required when replacing an existing post-mortem (409 when stale).",
        },
    }
    return {
        "ActionItem": item_out,
        "ActionItemInput": item_in,
        "Postmortem": obj(read, list(read)),
        "PostmortemPut": obj(
            write,
            description="Creates the post-mortem (201) or replaces it (200, needs `version`).",
            example={
                "status": "draft",
                "root_cause": "Connection pool too small for the re-index job.",
                "root_cause_at": "2026-03-02T15:00:00Z",
                "action_items": [{"title": "Size the pool from load tests", "owner": "search"}],
                "version": 1,
            },
        ),
    }


# ---- parameters and operations ----------------------------------------------


def _api_only() -> Flask:
    """The API's routes without an app (a test or a script reading the document)."""
    app = Flask(__name__)
    app.register_blueprint(bp)
    return app


def _paths() -> dict[str, Schema]:
    """Every route under /api/v1 with the facts its view carries (catalog.api.docs.operation);
    one without them is left out, which tests/test_openapi.py refuses."""
    app = current_app if has_app_context() else _api_only()
    paths: dict[str, Schema] = {}
    for rule in app.url_map.iter_rules():
        facts = getattr(app.view_functions[rule.endpoint], "openapi_operation", None)
        if not rule.rule.startswith("/api/v1/") or facts is None:
            continue
        item = paths.setdefault(_VARIABLE.sub(r"{\1}", rule.rule), {})
        if rule.arguments:
            item["parameters"] = params(*(PATH_PARAMETERS[name] for name in sorted(rule.arguments)))
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            item[method.lower()] = {"operationId": rule.endpoint.rsplit(".", 1)[-1], **facts}
    return paths


def openapi_document() -> dict[str, Any]:
    """The whole document, built afresh (cheap) so no caller can change a shared copy."""
    schemas: dict[str, Schema] = {
        **_vector_schemas(),
        **_incident_schemas(),
        **_postmortem_schemas(),
        **metrics_schemas(),
        **hook_schemas(),
        **timeline_schemas(),
        **release_schemas(),
        **transfer_schemas(),
        "VectorList": list_schema("Vector"),
        "IncidentList": list_schema("Incident"),
        "Error": ERROR_SCHEMA,
    }
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "Failure Catalog API",
            "version": __version__,
            "description": "Incidents of ML services, their failure vectors, MTTD/MTTR against "
            "targets. JSON in and out; timestamps ISO 8601 UTC with `Z`; durations in seconds; "
            "a PATCH (and a PUT replacing a post-mortem) carries the `version` it edits.",
        },
        "tags": [
            {"name": "vectors", "description": "Failure vectors and their targets."},
            {"name": "incidents", "description": "Incidents with derived TTD/TTR."},
            {"name": "postmortems", "description": "One post-mortem per incident."},
            {"name": "releases", "description": "Deployments, guardrails and rollbacks."},
            {"name": "metrics", "description": "MTTD/MTTR statistics."},
            {"name": "hooks", "description": "Incidents opened and closed by monitoring."},
            {"name": "transfer", "description": "Exports (backup, dossier) and imports."},
            {"name": "meta", "description": "About the API itself."},
        ],
        "security": [{"bearerAuth": []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal API token: `Authorization: Bearer <token>`.",
                }
            },
            "schemas": schemas,
            "parameters": PARAMETERS,
            "responses": error_responses(),
        },
    }


@bp.get("/openapi.json")
@operation(
    "meta",
    "This document",
    {**ok(200, "The OpenAPI 3.1 document.", {"type": "object"}), **errors()},
)
def openapi():  # type: ignore[no-untyped-def]
    return openapi_document()
