"""/api/v1/releases: deployments, their guardrails and outcome (change metrics read them)."""

from __future__ import annotations

from typing import Any

from flask import request

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
    query,
    read_only,
    ref,
)
from catalog.api.parsing import json_body, read_timestamps, refuse_unknown
from catalog.errors import FieldErrors, ValidationError
from catalog.fields import Timestamp
from catalog.releases import service
from catalog.releases.models import Release
from catalog.releases.spec import OUTCOMES, RELEASE
from catalog.sessions import get_session
from catalog.timefmt import iso_utc

TIMES = tuple(f.name for f in RELEASE if isinstance(f, Timestamp))


def release_to_dict(release: Release) -> dict[str, Any]:
    """A release as the API shows it: its fields and the measured rollback time."""
    return {
        "id": release.id,
        **{
            name: iso_utc(value) if name in TIMES else value
            for name, value in RELEASE.values_of(release).items()
        },
        "rollback_seconds": release.rollback_seconds,
        "rollback_within_window": release.rollback_within_window,
        "created_at": iso_utc(release.created_at),
        "updated_at": iso_utc(release.updated_at),
        "version": release.version,
    }


@bp.get("/releases")
@operation(
    "releases",
    "List releases, newest deployment first",
    {**ok(200, "One page of releases.", ref("ReleaseList")), **errors(422)},
    parameters=[
        *params("Page", "PerPage", "Service", "Team"),
        query("outcome", {"type": "string", "enum": list(OUTCOMES)}, "Only this outcome."),
    ],
)
def list_releases():  # type: ignore[no-untyped-def]
    page, per_page = paging()
    outcome = request.args.get("outcome") or None
    if outcome is not None and outcome not in OUTCOMES:
        raise ValidationError(
            {"outcome": [f"Outcome must be one of: {', '.join(OUTCOMES)}."]}, "Invalid filter."
        )
    filters = service.ReleaseFilters(
        service=request.args.get("service") or None,
        team=request.args.get("team") or None,
        outcome=outcome,
    )
    listed = service.list_releases(get_session(), filters, page=page, per_page=per_page)
    return list_envelope(
        [release_to_dict(r) for r in listed.items],
        page=page,
        per_page=per_page,
        total=listed.total,
        endpoint="api.list_releases",
    )


@bp.post("/releases")
@operation(
    "releases",
    "Record a release",
    {**ok(201, "Recorded.", ref("Release")), **errors(*WRITE_ERRORS)},
    requestBody=body("ReleaseCreate"),
)
def create_release():  # type: ignore[no-untyped-def]
    data = json_body()
    refuse_unknown(data, RELEASE.names)
    errors = FieldErrors()
    data = read_timestamps(errors, data, TIMES)
    session = get_session()
    release = service.create_release(session, data, errors=errors)
    session.commit()
    return release_to_dict(release), 201


@bp.get("/releases/<int:release_id>")
@operation("releases", "Read a release", {**ok(200, "The release.", ref("Release")), **errors(404)})
def get_release(release_id: int):  # type: ignore[no-untyped-def]
    return release_to_dict(service.get_release(get_session(), release_id))


@bp.patch("/releases/<int:release_id>")
@operation(
    "releases",
    "Change a release (its outcome, a rollback's times)",
    {**ok(200, "The updated release.", ref("Release")), **errors(*WRITE_ERRORS, 404, 409)},
    requestBody=body("ReleasePatch"),
)
def update_release(release_id: int):  # type: ignore[no-untyped-def]
    data = json_body()
    refuse_unknown(data, (*RELEASE.names, "version"))
    errors = FieldErrors()
    data = read_timestamps(errors, data, TIMES)
    session = get_session()
    release = service.get_release(session, release_id)
    service.update_release(session, release, data, errors=errors)
    session.commit()
    return release_to_dict(release)


@bp.delete("/releases/<int:release_id>")
@operation(
    "releases",
    "Delete a release no incident names as its cause (409 otherwise)",
    {"204": {"description": "Deleted."}, **errors(404, 409)},
)
def delete_release(release_id: int):  # type: ignore[no-untyped-def]
    session = get_session()
    service.delete_release(session, service.get_release(session, release_id))
    session.commit()
    return "", 204


def release_schemas() -> dict[str, Schema]:
    """The schemas these routes' bodies and answers refer to, for the OpenAPI document."""
    fields = RELEASE.json_schema()["properties"]
    read = {
        "id": read_only({"type": "integer"}),
        **RELEASE.read_properties(),
        "rollback_seconds": read_only(
            {
                "type": ["number", "null"],
                "description": "rolled_back_at - rollback_started_at, in seconds.",
            }
        ),
        "rollback_within_window": read_only(
            {
                "type": ["boolean", "null"],
                "description": "rollback_seconds <= rollback_window_seconds; null when "
                "either is unknown.",
            }
        ),
        "created_at": read_only(TIMESTAMP),
        "updated_at": read_only(TIMESTAMP),
        "version": read_only({"type": "integer"}),
    }
    return {
        "Release": obj(read, list(read), description="A release as the API returns it."),
        "ReleaseCreate": obj(
            fields,
            list(RELEASE.required),
            description="A new release; unknown fields are refused (422).",
            example={
                "service": "chat-api",
                "tag": "v2.4.1",
                "deployed_at": "2026-03-01T12:00:00Z",
                "canary_percent": 5,
                "guard_p99_ms": 300,
                "guard_error_rate": 0.2,
                "rollback_window_seconds": 300,
            },
        ),
        "ReleasePatch": obj(
            {**fields, "version": VERSION_IN},
            ["version"],
            description="A partial change; fields left out keep their value.",
            example={
                "version": 1,
                "outcome": "rolled_back",
                "rollback_started_at": "2026-03-01T12:20:00Z",
                "rolled_back_at": "2026-03-01T12:23:10Z",
            },
        ),
        "ReleaseList": list_schema("Release"),
    }
