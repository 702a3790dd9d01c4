"""What the OpenAPI document is built from: schema helpers, shared parameters and errors,
and `operation`, which puts an operation's facts (summary, responses, body) on its route.

The fields of every body come from the declarations (catalog/*/spec.py); the facts of
each route sit on the route itself (catalog/api/*.py); catalog/api/openapi.py only
assembles them with the URL map, so no fact is written twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from catalog.fields import Timestamp
from catalog.incidents.models import SEVERITIES, STATUSES
from catalog.incidents.service import MAX_PAGE, MAX_PER_PAGE
from catalog.rules import MAX_ID, SHORT_MAX

V = TypeVar("V", bound=Callable[..., Any])

JSON = "application/json"
Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    """`type: X` → `type: [X, "null"]` (OpenAPI 3.1 has no `nullable`)."""
    out = dict(schema)
    out["type"] = [schema["type"], "null"]
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


def obj(properties: dict[str, Schema], required: list[str] | None = None, **extra: Any) -> Schema:
    schema: Schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    schema.update(extra)
    return schema


def read_only(schema: Schema) -> Schema:
    return {**schema, "readOnly": True}


# A moment outside any declaration (created_at, Alertmanager's startsAt), described as the
# declared ones are: the field kind says how the API answers with one and takes one.
_MOMENT = Timestamp(name="moment", label="Moment", required=True)
TIMESTAMP: Schema = _MOMENT.read_schema()
TIMESTAMP_IN: Schema = _MOMENT.schema()
SECONDS: Schema = {"type": "number", "description": "A duration in seconds."}
VERSION_IN: Schema = {
    "type": "integer",
    "description": "The `version` of the copy you edited (optimistic locking; 409 when stale).",
}


def list_schema(item: str) -> Schema:
    return obj(
        {
            "items": {"type": "array", "items": ref(item)},
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


ERROR_SCHEMA: Schema = obj(
    {
        "error": obj(
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
        "for an import or a canary's samples).",
    ),
    422: ("ValidationFailed", "Validation failed; `fields` names every offending field."),
    503: ("Busy", "The database is busy or unreachable; retry after `Retry-After` seconds."),
}


def error_responses() -> dict[str, Schema]:
    return {
        name: {"description": text, "content": {JSON: {"schema": ref("Error")}}}
        for name, text in ERRORS.values()
    }


def query(name: str, schema: Schema, description: str) -> Schema:
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
    "ReleaseId": {
        "name": "release_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        "description": "The release's id.",
        "example": 1,
    },
    "LoadTestId": {
        "name": "load_test_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        "description": "The load-test tier's id.",
        "example": 1,
    },
    "Page": query("page", {"type": "integer", "minimum": 1, "default": 1}, "Page number, from 1."),
    "IncidentPage": query(
        "page",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
        "Page number, from 1.",
    ),
    "PerPage": query(
        "per_page",
        {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 50},
        f"Items per page, 1 to {MAX_PER_PAGE}.",
    ),
    "Vector": query("vector", {"type": "string"}, "Only incidents linked to this vector slug."),
    "Severity": query(
        "severity", {"type": "string", "enum": list(SEVERITIES)}, "Only this severity."
    ),
    "Service": query("service", {"type": "string"}, "Only this service (exact)."),
    "Team": query("team", {"type": "string"}, "Only this team (exact)."),
    "Status": query(
        "status",
        {"type": "string", "enum": [*STATUSES, "open"]},
        "Derived status; `open` is investigating or mitigated.",
    ),
    "Since": query(
        "since", {"type": "string", "format": "date-time"}, "Incidents started at or after."
    ),
    "Until": query(
        "until",
        {"type": "string", "format": "date-time"},
        "Incidents started before; not before `since`.",
    ),
    "Q": query("q", {"type": "string"}, "Substring of the title or service, case-insensitive."),
    "Lead": query(
        "lead",
        {"type": "string"},
        "Incidents led by this account (its e-mail), or `me` for the caller's.",
    ),
}


def params(*names: str) -> list[Schema]:
    return [{"$ref": f"#/components/parameters/{name}"} for name in names]


def ok(status: int, description: str, schema: Schema) -> dict[str, Schema]:
    return {str(status): {"description": description, "content": {JSON: {"schema": schema}}}}


def errors(*statuses: int) -> dict[str, Schema]:
    """Documented error responses; 401 and 403 on every operation (bearer auth)."""
    return {
        str(status): {"$ref": f"#/components/responses/{ERRORS[status][0]}"}
        for status in sorted({401, 403, *statuses})
    }


def body(schema: str) -> Schema:
    return {"required": True, "content": {JSON: {"schema": ref(schema)}}}


WRITE_ERRORS = (400, 413, 422)
PATH_PARAMETERS = {
    "slug": "Slug",
    "incident_id": "IncidentId",
    "release_id": "ReleaseId",
    "load_test_id": "LoadTestId",
}
"""The URL map's variables and the parameters that describe them."""


def operation(
    tag: str, summary: str, responses: dict[str, Schema], **extra: Any
) -> Callable[[V], V]:
    """The facts of one route's operation, kept on its view for the document to read."""

    def document(view: V) -> V:
        view.openapi_operation = {  # type: ignore[attr-defined]
            "tags": [tag],
            "summary": summary,
            "responses": responses,
            **extra,
        }
        return view

    return document
