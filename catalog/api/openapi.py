"""The OpenAPI 3.1 document of /api/v1 (SPEC §4), served at /api/v1/openapi.json.

Hand-written so it says what the API promises rather than what a framework
guesses. Enums and limits come from the modules that enforce them, so a new
severity or a longer title changes the document too. `tests/test_openapi.py`
fails when a route under /api/v1 is missing here (or documented but gone) and
runs schemathesis against the app to keep every schema and status code honest.
"""

from __future__ import annotations

from typing import Any

from catalog import __version__
from catalog.api import bp
from catalog.config import MTTR_FROM_CHOICES
from catalog.incidents.models import SEVERITIES, STATUSES
from catalog.incidents.service import MAX_ID, MAX_PAGE, MAX_PER_PAGE, SORTS
from catalog.incidents.spec import INCIDENT
from catalog.postmortems.models import PM_STATUSES
from catalog.postmortems.service import MAX_ACTION_ITEMS, ROOT_CAUSE_FLAGS
from catalog.postmortems.spec import ACTION_ITEM, POSTMORTEM
from catalog.reports.metrics import GROUP_BYS
from catalog.rules import SHORT_MAX
from catalog.vectors.spec import VECTOR

JSON = "application/json"
Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: Schema) -> Schema:
    """`type: X` → `type: [X, "null"]` (OpenAPI 3.1 has no `nullable`)."""
    out = dict(schema)
    out["type"] = [schema["type"], "null"]
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


def _object(
    properties: dict[str, Schema], required: list[str] | None = None, **extra: Any
) -> Schema:
    schema: Schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    schema.update(extra)
    return schema


def _read_only(schema: Schema) -> Schema:
    return {**schema, "readOnly": True}


TIMESTAMP: Schema = {
    "type": "string",
    "format": "date-time",
    "description": "ISO 8601 in UTC with `Z`, e.g. `2026-03-01T12:00:00Z`.",
}
TIMESTAMP_IN: Schema = {
    "type": "string",
    "format": "date-time",
    "maxLength": 64,
    "description": "ISO 8601 with a UTC offset or `Z`; naive times are refused. "
    "Not before 2000-01-01, not more than 5 minutes in the future.",
}
SECONDS: Schema = {"type": "number", "description": "A duration in seconds."}
VERSION_IN: Schema = {
    "type": "integer",
    "description": "The `version` of the copy you edited (optimistic locking; 409 when stale).",
}


def _text(max_length: int, *, required: bool = False, **extra: Any) -> Schema:
    schema: Schema = {"type": "string", "maxLength": max_length}
    if required:
        schema["minLength"] = 1
    schema.update(extra)
    return schema


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
        "slug": {"type": "string"},
        "name": {"type": "string"},
        "category": fields["category"],
        "description": {"type": "string"},
        "detection": {"type": "string"},
        "mitigation": {"type": "string"},
        "mttd_target_minutes": {"type": "integer"},
        "mttr_target_minutes": {"type": "integer"},
        "severity": {"type": ["integer", "null"]},
        "occurrence": {"type": ["integer", "null"]},
        "detectability": {"type": ["integer", "null"]},
        "rpn": _read_only(
            {
                "type": ["integer", "null"],
                "description": "FMEA risk priority number, severity × occurrence × "
                "detectability; null unless all three are set.",
            }
        ),
        "archived": _read_only({"type": "boolean"}),
        "archived_at": _read_only(_nullable(TIMESTAMP)),
        "created_at": _read_only(TIMESTAMP),
        "updated_at": _read_only(TIMESTAMP),
        "version": _read_only({"type": "integer"}),
    }
    return {
        "Vector": _object(read, list(read), description="A failure vector as the API returns it."),
        "VectorCreate": _object(
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
        "VectorPatch": _object(
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
        "id": _read_only({"type": "integer"}),
        "title": {"type": "string"},
        "severity": fields["severity"],
        "service": {"type": "string"},
        "team": {"type": "string"},
        "vectors": {"type": "array", "items": {"type": "string"}, "description": "Vector slugs."},
        "summary": {"type": "string"},
        "detection_source": fields["detection_source"],
        "started_at": TIMESTAMP,
        "detected_at": TIMESTAMP,
        "acknowledged_at": _nullable(TIMESTAMP),
        "mitigated_at": _nullable(TIMESTAMP),
        "recovered_at": _nullable(TIMESTAMP),
        "status": _read_only({"type": "string", "enum": list(STATUSES)}),
        "ttd_seconds": _read_only({**SECONDS, "description": "detected_at - started_at."}),
        "ttr_seconds": _read_only(
            _nullable({**SECONDS, "description": "recovered_at - detected_at (or started_at)."})
        ),
        "impact_seconds": _read_only(
            _nullable({**SECONDS, "description": "recovered_at - started_at."})
        ),
        "breaching": _read_only(
            {"type": "boolean", "description": "Open and already past its TTR target."}
        ),
        "root_cause_flag": _read_only({"type": "string", "enum": list(ROOT_CAUSE_FLAGS)}),
        "has_postmortem": _read_only({"type": "boolean"}),
        "created_at": _read_only(TIMESTAMP),
        "updated_at": _read_only(TIMESTAMP),
        "version": _read_only({"type": "integer"}),
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
        "Incident": _object(read, list(read), description="An incident with its derived values."),
        "IncidentCreate": _object(
            fields,
            list(INCIDENT.required),
            description="A new incident; unknown fields are refused (422).",
            example=example,
        ),
        "IncidentPatch": _object(
            {**fields, "version": VERSION_IN},
            ["version"],
            description="A partial change; fields left out keep their value.",
            example={"version": 1, "recovered_at": "2026-03-02T12:30:00Z"},
        ),
    }


# ---- post-mortems -----------------------------------------------------------


def _postmortem_schemas() -> dict[str, Schema]:
    item_in = _object(
        {
            "id": {
                "type": ["integer", "null"],
                "description": "Send an existing item's id back to keep it; leave out for a new one.",
            },
            **ACTION_ITEM.json_schema()["properties"],
        },
        list(ACTION_ITEM.required),
    )
    item_out = _object(
        {
            "id": {"type": "integer"},
            "title": {"type": "string"},
            "owner": {"type": "string"},
            "due_on": {"type": ["string", "null"], "format": "date"},
            "done_at": _nullable(TIMESTAMP),
            "link": {"type": ["string", "null"]},
            "overdue": _read_only(
                {"type": "boolean", "description": "Not done and past its due date."}
            ),
        },
        ["id", "title", "owner", "due_on", "done_at", "link", "overdue"],
    )
    read = {
        "incident_id": _read_only({"type": "integer"}),
        "status": {"type": "string", "enum": list(PM_STATUSES)},
        "root_cause_at": _nullable(TIMESTAMP),
        "root_cause": {"type": "string"},
        "body": {"type": "string"},
        "published_at": _nullable(TIMESTAMP),
        "root_cause_seconds": _read_only(
            _nullable({**SECONDS, "description": "root_cause_at - detected_at."})
        ),
        "root_cause_flag": _read_only({"type": "string", "enum": list(ROOT_CAUSE_FLAGS)}),
        "action_items": {"type": "array", "items": _ref("ActionItem")},
        "created_at": _read_only(TIMESTAMP),
        "updated_at": _read_only(TIMESTAMP),
        "version": _read_only({"type": "integer"}),
    }
    write = {
        **POSTMORTEM.json_schema()["properties"],
        "action_items": {
            "type": ["array", "null"],
            "items": _ref("ActionItemInput"),
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
        "Postmortem": _object(read, list(read)),
        "PostmortemPut": _object(
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


# ---- metrics, envelopes, errors ----------------------------------------------


def _metrics_schemas() -> dict[str, Schema]:
    stat = {"type": ["number", "null"]}
    stats = _object(
        {
            "mean": stat,
            "median": stat,
            "p90": stat,
            "max": stat,
            "target": {"type": "integer", "description": "Target in seconds."},
            "attainment": {
                "type": ["number", "null"],
                "minimum": 0,
                "maximum": 1,
                "description": "Share of incidents at or under target; null without incidents.",
            },
            "breaches": {"type": "integer", "minimum": 0},
        },
        ["mean", "median", "p90", "max", "target", "attainment", "breaches"],
        description="Seconds; null statistics when the group has no values.",
    )
    group = _object(
        {
            "key": {
                "type": "string",
                "description": "Vector slug, severity, service, team, `overall`, or the "
                "period's first day (YYYY-MM-DD).",
            },
            "label": {"type": "string"},
            "count": {"type": "integer", "minimum": 0},
            "open": {"type": "integer", "minimum": 0},
            "breaching": {"type": "integer", "minimum": 0},
            "ttd": _ref("DurationStats"),
            "ttr": _ref("DurationStats"),
        },
        ["key", "label", "count", "open", "breaching", "ttd", "ttr"],
    )
    text = {"type": "string"}
    definition = _object(
        {
            "ttd": text,
            "ttr": text,
            "mttr_from": {"type": "string", "enum": list(MTTR_FROM_CHOICES)},
            "units": text,
            "percentile": text,
            "attainment": text,
            "breaching": text,
            "group_by": {"type": "string", "enum": list(GROUP_BYS)},
            "period_field": text,
            "period_zone": text,
            "default_targets": _object(
                {"ttd": {"type": "integer"}, "ttr": {"type": "integer"}}, ["ttd", "ttr"]
            ),
            "since": _nullable(TIMESTAMP),
            "until": _nullable(TIMESTAMP),
            "generated_at": TIMESTAMP,
        },
        [
            "ttd",
            "ttr",
            "mttr_from",
            "units",
            "percentile",
            "attainment",
            "breaching",
            "group_by",
            "period_field",
            "period_zone",
            "default_targets",
            "since",
            "until",
            "generated_at",
        ],
        description="How every number below was computed.",
    )
    return {
        "DurationStats": stats,
        "MetricsGroup": group,
        "MetricsDefinition": definition,
        "Metrics": _object(
            {
                "definition": _ref("MetricsDefinition"),
                "groups": {"type": "array", "items": _ref("MetricsGroup")},
            },
            ["definition", "groups"],
        ),
    }


def _hook_schemas() -> dict[str, Schema]:
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
        "HookResult": _object(
            {"created": ids, "updated": ids, "unchanged": ids},
            ["created", "updated", "unchanged"],
        ),
    }


def _list_schema(item: str) -> Schema:
    return _object(
        {
            "items": {"type": "array", "items": _ref(item)},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            "total": {"type": "integer", "minimum": 0},
            "next": {
                "type": ["string", "null"],
                "format": "uri",
                "description": "URL of the next page, null on the last one.",
            },
        },
        ["items", "page", "per_page", "total", "next"],
    )


ERROR_SCHEMA: Schema = _object(
    {
        "error": _object(
            {
                "code": {
                    "type": "string",
                    "description": "Stable machine-readable code, e.g. `validation_error`.",
                },
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "description": "Messages per offending field (422 only); nested ones "
                    "as `action_items.0.title`.",
                },
            },
            ["code", "message"],
        )
    },
    ["error"],
)

ERRORS = {
    400: ("BadRequest", "Malformed: no JSON body, invalid JSON, or not a JSON object."),
    401: ("Unauthorized", "No bearer token, or an unknown, revoked or deactivated user's token."),
    403: ("Forbidden", "The token's user lacks the role this operation needs."),
    404: ("NotFound", "No such object."),
    409: (
        "Conflict",
        "A stale `version`, a change clashing with one saved meanwhile, or a delete "
        "that would lose history.",
    ),
    413: (
        "PayloadTooLarge",
        "The request body is over 2 MiB (over CATALOG_IMPORT_MAX_MB, 64 MiB by default, "
        "for an import).",
    ),
    422: ("ValidationFailed", "Validation failed; `fields` names every offending field."),
    503: ("Busy", "The database is busy or unreachable; retry after `Retry-After` seconds."),
}


def _error_responses() -> dict[str, Schema]:
    return {
        name: {"description": text, "content": {JSON: {"schema": _ref("Error")}}}
        for name, text in ERRORS.values()
    }


# ---- parameters and operations ----------------------------------------------


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


PARAMETERS: dict[str, Schema] = {
    "Slug": {
        "name": "slug",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1, "maxLength": SHORT_MAX},
        "description": "The vector's slug.",
        "example": "dependency-latency",
    },
    "IncidentId": {
        "name": "incident_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        "description": "The incident's id.",
        "example": 1,
    },
    "Page": _query("page", {"type": "integer", "minimum": 1, "default": 1}, "Page number, from 1."),
    "IncidentPage": _query(
        "page",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
        "Page number, from 1.",
    ),
    "PerPage": _query(
        "per_page",
        {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 50},
        f"Items per page, 1 to {MAX_PER_PAGE}.",
    ),
    "Vector": _query("vector", {"type": "string"}, "Only incidents linked to this vector slug."),
    "Severity": _query(
        "severity", {"type": "string", "enum": list(SEVERITIES)}, "Only this severity."
    ),
    "Service": _query("service", {"type": "string"}, "Only this service (exact)."),
    "Team": _query("team", {"type": "string"}, "Only this team (exact)."),
    "Status": _query(
        "status",
        {"type": "string", "enum": [*STATUSES, "open"]},
        "Derived status; `open` is investigating or mitigated.",
    ),
    "Since": _query(
        "since", {"type": "string", "format": "date-time"}, "Incidents started at or after."
    ),
    "Until": _query(
        "until",
        {"type": "string", "format": "date-time"},
        "Incidents started before; not before `since`.",
    ),
    "Q": _query("q", {"type": "string"}, "Substring of the title or service, case-insensitive."),
}


def _params(*names: str) -> list[Schema]:
    return [{"$ref": f"#/components/parameters/{name}"} for name in names]


def _ok(status: int, description: str, schema: Schema) -> dict[str, Schema]:
    return {str(status): {"description": description, "content": {JSON: {"schema": schema}}}}


def _errors(*statuses: int) -> dict[str, Schema]:
    """Documented error responses; 401 and 403 on every operation (bearer auth)."""
    return {
        str(status): {"$ref": f"#/components/responses/{ERRORS[status][0]}"}
        for status in sorted({401, 403, *statuses})
    }


def _body(schema: str) -> Schema:
    return {"required": True, "content": {JSON: {"schema": _ref(schema)}}}


def _operation(
    endpoint: str, tag: str, summary: str, responses: dict[str, Schema], **extra: Any
) -> Schema:
    return {
        "operationId": endpoint,
        "tags": [tag],
        "summary": summary,
        "responses": responses,
        **extra,
    }


def _paths() -> dict[str, Schema]:
    write_errors = (400, 413, 422)
    return {
        "/api/v1/vectors": {
            "get": _operation(
                "list_vectors",
                "vectors",
                "List failure vectors by name",
                {**_ok(200, "One page of vectors.", _ref("VectorList")), **_errors(422)},
                parameters=[
                    *_params("Page", "PerPage"),
                    _query(
                        "archived",
                        {"type": "string", "enum": ["1", "true", "yes", "all", "0", "false", "no"]},
                        "`1`, `true`, `yes` or `all` include archived vectors.",
                    ),
                ],
            ),
            "post": _operation(
                "create_vector",
                "vectors",
                "Create a failure vector",
                {**_ok(201, "Created.", _ref("Vector")), **_errors(*write_errors, 409)},
                requestBody=_body("VectorCreate"),
            ),
        },
        "/api/v1/vectors/{slug}": {
            "parameters": _params("Slug"),
            "get": _operation(
                "get_vector",
                "vectors",
                "Read a failure vector",
                {**_ok(200, "The vector.", _ref("Vector")), **_errors(404)},
            ),
            "patch": _operation(
                "update_vector",
                "vectors",
                "Change a failure vector (archive with `archived: true`, admins only)",
                {
                    **_ok(200, "The updated vector.", _ref("Vector")),
                    **_errors(*write_errors, 404, 409),
                },
                requestBody=_body("VectorPatch"),
            ),
            "delete": _operation(
                "delete_vector",
                "vectors",
                "Delete a failure vector no incident refers to (409 otherwise: archive it)",
                {"204": {"description": "Deleted."}, **_errors(404, 409)},
            ),
        },
        "/api/v1/incidents": {
            "get": _operation(
                "list_incidents",
                "incidents",
                "List incidents (filter, sort, paginate)",
                {**_ok(200, "One page of incidents.", _ref("IncidentList")), **_errors(422)},
                parameters=[
                    *_params("IncidentPage", "PerPage"),
                    *_params(
                        "Vector", "Severity", "Service", "Team", "Status", "Since", "Until", "Q"
                    ),
                    _query(
                        "sort",
                        {"type": "string", "enum": list(SORTS), "default": "-started"},
                        "Sort key; `-` for descending.",
                    ),
                ],
            ),
            "post": _operation(
                "create_incident",
                "incidents",
                "Log an incident",
                {**_ok(201, "Created.", _ref("Incident")), **_errors(*write_errors, 409)},
                requestBody=_body("IncidentCreate"),
            ),
        },
        "/api/v1/incidents/{incident_id}": {
            "parameters": _params("IncidentId"),
            "get": _operation(
                "get_incident",
                "incidents",
                "Read an incident with its derived values",
                {**_ok(200, "The incident.", _ref("Incident")), **_errors(404)},
            ),
            "patch": _operation(
                "update_incident",
                "incidents",
                "Change an incident",
                {
                    **_ok(200, "The updated incident.", _ref("Incident")),
                    **_errors(*write_errors, 404, 409),
                },
                requestBody=_body("IncidentPatch"),
            ),
            "delete": _operation(
                "delete_incident",
                "incidents",
                "Delete an incident with its post-mortem and action items",
                {"204": {"description": "Deleted."}, **_errors(404, 409)},
            ),
        },
        "/api/v1/incidents/{incident_id}/postmortem": {
            "parameters": _params("IncidentId"),
            "get": _operation(
                "get_postmortem",
                "postmortems",
                "Read an incident's post-mortem (404 until one is written)",
                {**_ok(200, "The post-mortem.", _ref("Postmortem")), **_errors(404)},
            ),
            "put": _operation(
                "put_postmortem",
                "postmortems",
                "Create or replace an incident's post-mortem",
                {
                    **_ok(200, "Replaced.", _ref("Postmortem")),
                    **_ok(201, "Created.", _ref("Postmortem")),
                    **_errors(*write_errors, 404, 409),
                },
                requestBody=_body("PostmortemPut"),
            ),
        },
        "/api/v1/metrics": {
            "get": _operation(
                "metrics",
                "metrics",
                "MTTD/MTTR statistics per group (SPEC §3)",
                {**_ok(200, "Statistics per group.", _ref("Metrics")), **_errors(422)},
                parameters=[
                    _query(
                        "group_by",
                        {"type": "string", "enum": list(GROUP_BYS), "default": "overall"},
                        "How incidents are grouped.",
                    ),
                    *_params(
                        "Since", "Until", "Vector", "Severity", "Service", "Team", "Status", "Q"
                    ),
                ],
            ),
        },
        "/api/v1/exports/incidents.csv": {
            "get": _operation(
                "export_incidents_csv",
                "incidents",
                "Every incident matching the filters as CSV (streamed, not paginated)",
                {
                    "200": {
                        "description": "One row per incident: `vectors` joined by `;`, "
                        "timestamps ISO 8601 UTC, `ttd_s`/`ttr_s` in seconds, `ttr_from`. "
                        "Cells starting with = + - @ or ' get a leading `'`.",
                        "content": {"text/csv": {"schema": {"type": "string"}}},
                    },
                    **_errors(422),
                },
                parameters=_params(
                    "Vector", "Severity", "Service", "Team", "Status", "Since", "Until", "Q"
                ),
            ),
        },
        "/api/v1/exports/backup.json": {
            "get": _operation(
                "export_backup",
                "transfer",
                "The whole catalog as the JSON backup (streamed)",
                {
                    "200": {
                        "description": "Format `failure-catalog-backup`, version 1 (see the "
                        "README): vectors by slug, incidents by id with their vector slugs, "
                        "post-mortem and action items inline; no database ids, so export → "
                        "import into an empty catalog → export gives the same document.",
                        "content": {JSON: {"schema": _ref("Backup")}},
                    },
                    **_errors(),
                },
            ),
        },
        "/api/v1/exports/dossier.md": {
            "get": _operation(
                "export_dossier",
                "transfer",
                "The dossier in Markdown: catalog, MTTD/MTTR vs targets, post-mortems, trend",
                {
                    "200": {
                        "description": "Markdown; the last 12 months.",
                        "content": {"text/markdown": {"schema": {"type": "string"}}},
                    },
                    **_errors(),
                },
            ),
        },
        "/api/v1/imports": {
            "post": _operation(
                "import_file",
                "transfer",
                "Import a file: the JSON backup, the incident CSV or a Statuspage history",
                {
                    **_ok(
                        200, "What was (or, in a dry run, would be) created.", _ref("ImportSummary")
                    ),
                    **_errors(400, 413, 422),
                },
                parameters=[
                    {
                        **_query(
                            "format",
                            {"type": "string", "enum": ["json", "csv", "statuspage"]},
                            "`json` (this app's backup), `csv` (the incident CSV export's "
                            "columns) or `statuspage` (Statuspage v2 incidents.json).",
                        ),
                        "required": True,
                    },
                    _query(
                        "dry_run",
                        {"type": "string", "enum": ["true", "false", "1", "0", "yes", "no"]},
                        "Check everything and report; write nothing.",
                    ),
                    _query(
                        "vector",
                        {"type": "string", "maxLength": SHORT_MAX},
                        "Vector slug for records that name none (CSV) or that no rule matches "
                        "(Statuspage).",
                    ),
                    _query(
                        "vector_rule",
                        {"type": "string", "maxLength": 500},
                        "Statuspage: `PATTERN=slug`, repeatable; the first whose regex matches "
                        "the incident name wins.",
                    ),
                ],
                requestBody={
                    "required": True,
                    "content": {
                        "application/octet-stream": {
                            "schema": {"type": "string", "format": "binary"}
                        },
                    },
                    "description": "The file itself, UTF-8. Any content type is read as bytes.",
                },
                description="All or nothing: the first bad record is a 422 naming its place "
                "(`line 12: severity`, `incidents[3].started_at`) and nothing is written. "
                "Records already present (by uid, source id or, for a CSV row without uid, "
                "its title, service and start) are skipped, so a repeat creates nothing.",
            ),
        },
        "/api/v1/hooks/alertmanager": {
            "post": _operation(
                "alertmanager_hook",
                "hooks",
                "Receive a Prometheus Alertmanager webhook delivery (payload version 4)",
                {
                    **_ok(200, "What each alert did (incident ids).", _ref("HookResult")),
                    **_errors(*write_errors, 503),
                },
                requestBody=_body("AlertmanagerDelivery"),
                description="A firing alert opens an incident (started = `startsAt`, detected "
                "= when received, vector from the label `failure_vector` or "
                "`CATALOG_ALERT_DEFAULT_VECTOR`, severity from `severity`, service from "
                "`service` or `job`); the resolved alert sets recovered = `endsAt`. Idempotent "
                "by `fingerprint` and `startsAt`: repeated, reordered or batched deliveries "
                "never duplicate an incident or move a timestamp back. All or nothing per "
                "delivery: a bad alert is a 422 naming `alerts[i].field`, and nothing is kept.",
            ),
        },
        "/api/v1/openapi.json": {
            "get": _operation(
                "openapi",
                "meta",
                "This document",
                {**_ok(200, "The OpenAPI 3.1 document.", {"type": "object"}), **_errors()},
            ),
        },
    }


def _transfer_schemas() -> dict[str, Schema]:
    count = {"type": "integer", "minimum": 0}
    return {
        "ImportSummary": _object(
            {
                "source": {"type": "string", "enum": ["backup", "csv", "statuspage"]},
                "records": count,
                "created": count,
                "already_imported": count,
                "skipped_maintenance": count,
                "postmortems_created": count,
                "vectors_created": count,
                "vectors_updated": count,
                "dry_run": {"type": "boolean"},
                "message": {"type": "string"},
            },
            ["source", "records", "created", "already_imported", "dry_run", "message"],
        ),
        "Backup": {
            "type": "object",
            "required": ["format", "version", "vectors", "incidents"],
            "properties": {
                "format": {"const": "failure-catalog-backup"},
                "version": {"const": 1},
                "vectors": {"type": "array", "items": {"type": "object"}},
                "incidents": {"type": "array", "items": {"type": "object"}},
            },
        },
    }


def openapi_document() -> dict[str, Any]:
    """The whole document, built afresh (cheap) so no caller can change a shared copy."""
    schemas: dict[str, Schema] = {
        **_vector_schemas(),
        **_incident_schemas(),
        **_postmortem_schemas(),
        **_metrics_schemas(),
        **_hook_schemas(),
        **_transfer_schemas(),
        "VectorList": _list_schema("Vector"),
        "IncidentList": _list_schema("Incident"),
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
            "responses": _error_responses(),
        },
    }


@bp.get("/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    return openapi_document()
