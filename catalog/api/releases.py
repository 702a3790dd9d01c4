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
from catalog.releases import service
from catalog.releases.loadtests import FORMATS
from catalog.releases.models import CanaryAnalysis, LoadTest, Release
from catalog.releases.spec import (
    BARS,
    LOAD_SOURCES,
    LOAD_TEST,
    OUTCOMES,
    RELEASE,
    RELEASE_TIMES,
)
from catalog.sessions import get_session
from catalog.timefmt import iso_utc


def load_test_to_dict(test: LoadTest, bars: service.Bars) -> dict[str, Any]:
    verdict = service.judge(test, bars)
    return {
        "id": test.id,
        "tier": test.tier,
        "multiplier": test.multiplier,
        **{name: getattr(test, name) for name in LOAD_TEST.names[1:]},
        "source": test.source,
        "bar": verdict.bar or None,
        "met": verdict.met,
        "created_at": iso_utc(test.created_at),
    }


def canary_to_dict(analysis: CanaryAnalysis | None) -> dict[str, Any] | None:
    if analysis is None:
        return None
    return {
        "verdict": analysis.verdict,
        "reasons": analysis.reasons.split("\n"),
        "ks_statistic": analysis.ks_statistic,
        "p_value": analysis.p_value,
        "baseline_count": analysis.baseline_count,
        "canary_count": analysis.canary_count,
        "baseline_p99_ms": analysis.baseline_p99_ms,
        "canary_p99_ms": analysis.canary_p99_ms,
        "p99_difference_ms": analysis.canary_p99_ms - analysis.baseline_p99_ms,
        "baseline_error_rate": analysis.baseline_error_rate,
        "canary_error_rate": analysis.canary_error_rate,
        "created_at": iso_utc(analysis.created_at),
    }


def release_to_dict(release: Release, bars: service.Bars | None = None) -> dict[str, Any]:
    """A release as the API shows it: its fields, the measured rollback time, its load
    tiers judged against its service's bars, and its canary analysis."""
    bars = bars or service.bars_for(get_session(), release.service)
    return {
        "id": release.id,
        **{
            name: iso_utc(value) if name in RELEASE_TIMES else value
            for name, value in RELEASE.values_of(release).items()
        },
        "rollback_seconds": release.rollback_seconds,
        "rollback_within_window": release.rollback_within_window,
        "load_tests": [load_test_to_dict(t, bars) for t in release.load_tests],
        "canary": canary_to_dict(release.canary),
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
    session = get_session()
    listed = service.list_releases(session, filters, page=page, per_page=per_page)
    bars = {name: service.bars_for(session, name) for name in {r.service for r in listed.items}}
    return list_envelope(
        [release_to_dict(r, bars[r.service]) for r in listed.items],
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
    data = read_timestamps(errors, data, RELEASE_TIMES)
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
    data = read_timestamps(errors, data, RELEASE_TIMES)
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


@bp.post("/releases/<int:release_id>/load-tests")
@operation(
    "releases",
    "Record a load-test tier typed in (replaces the same tier's earlier result)",
    {**ok(201, "Recorded.", ref("LoadTest")), **errors(*WRITE_ERRORS, 404)},
    requestBody=body("LoadTestCreate"),
)
def create_load_test(release_id: int):  # type: ignore[no-untyped-def]
    data = json_body()
    refuse_unknown(data, LOAD_TEST.names)
    session = get_session()
    release = service.get_release(session, release_id)
    test = service.record_load_test(session, release, data)
    session.commit()
    return load_test_to_dict(test, service.bars_for(session, release.service)), 201


@bp.post("/releases/<int:release_id>/load-tests/import")
@operation(
    "releases",
    "Record a load-test tier from a k6, wrk or Locust result file (the request body)",
    {**ok(201, "Recorded.", ref("LoadTest")), **errors(*WRITE_ERRORS, 404)},
    parameters=[
        query("tier", {"type": "string", "maxLength": 40}, "`1x`, `5x`, `10x`… or a name."),
        query(
            "format",
            {"type": "string", "enum": list(FORMATS)},
            "k6 `--summary-export` JSON, wrk `--latency` text, or Locust's `*_stats.csv`.",
        ),
    ],
    requestBody={
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string"}}},
    },
)
def import_load_test(release_id: int):  # type: ignore[no-untyped-def]
    session = get_session()
    release = service.get_release(session, release_id)
    test = service.import_load_test(
        session, release, request.args.get("tier"), request.args.get("format"), request.get_data()
    )
    session.commit()
    return load_test_to_dict(test, service.bars_for(session, release.service)), 201


@bp.delete("/releases/<int:release_id>/load-tests/<int:load_test_id>")
@operation(
    "releases",
    "Delete one load-test tier of a release",
    {"204": {"description": "Deleted."}, **errors(404)},
)
def delete_load_test(release_id: int, load_test_id: int):  # type: ignore[no-untyped-def]
    session = get_session()
    release = service.get_release(session, release_id)
    service.delete_load_test(
        session, release, service.get_load_test(session, release, load_test_id)
    )
    session.commit()
    return "", 204


@bp.post("/releases/<int:release_id>/canary")
@operation(
    "releases",
    "Analyse a canary: baseline and canary latency samples (multipart files)",
    {
        **ok(201, "The analysis, kept with the release.", ref("CanaryAnalysis")),
        **errors(*WRITE_ERRORS, 404),
    },
    requestBody={
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["baseline", "canary"],
                    "properties": {
                        "baseline": {"type": "string", "format": "binary"},
                        "canary": {"type": "string", "format": "binary"},
                    },
                }
            }
        },
    },
)
def analyse_canary(release_id: int):  # type: ignore[no-untyped-def]
    session = get_session()
    release = service.get_release(session, release_id)
    files = {name: request.files.get(name) for name in ("baseline", "canary")}
    missing = {
        name: ["Send this file (multipart/form-data)."] for name, f in files.items() if f is None
    }
    if missing:
        raise ValidationError(missing, "Both samples are needed.")
    analysis = service.save_canary(
        session,
        release,
        files["baseline"].read(),
        files["canary"].read(),  # type: ignore[union-attr]
    )
    session.commit()
    return canary_to_dict(analysis), 201


@bp.get("/readiness-bars")
@operation(
    "releases",
    "The bars a service's load tiers are judged against (defaults when not set)",
    {**ok(200, "The bars.", ref("ReadinessBars")), **errors(422)},
    parameters=[query("service", {"type": "string", "maxLength": 100}, "The service.")],
)
def get_bars():  # type: ignore[no-untyped-def]
    name = _service_arg()
    return _bars_to_dict(service.bars_for(get_session(), name))


@bp.put("/readiness-bars")
@operation(
    "releases",
    "Set a service's bars (`version` needed once they are set)",
    {**ok(200, "The bars.", ref("ReadinessBars")), **errors(*WRITE_ERRORS, 409)},
    parameters=[query("service", {"type": "string", "maxLength": 100}, "The service.")],
    requestBody=body("ReadinessBarsPut"),
)
def put_bars():  # type: ignore[no-untyped-def]
    name = _service_arg()
    data = json_body()
    refuse_unknown(data, (*BARS.names, "version"))
    session = get_session()
    bars = service.set_bars(session, name, data)
    session.commit()
    return _bars_to_dict(bars)


def _service_arg() -> str:
    name = request.args.get("service")
    if not name or not name.strip():
        raise ValidationError(
            {"service": ["Name the service: ?service=chat-api."]}, "Invalid query."
        )
    return name.strip()


def _bars_to_dict(bars: service.Bars) -> dict[str, Any]:
    return {
        "service": bars.service,
        **{name: getattr(bars, name) for name in BARS.names},
        "custom": bars.custom,
        "version": bars.version,
    }


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
    number = {"type": "number"}
    load_test = {
        "id": read_only({"type": "integer"}),
        "multiplier": read_only(
            {"type": ["integer", "null"], "description": "1, 5, 10…; null for a named tier."}
        ),
        **LOAD_TEST.read_properties(),
        "source": read_only({"type": "string", "enum": list(LOAD_SOURCES)}),
        "bar": read_only({"type": ["string", "null"], "description": "What the tier is held to."}),
        "met": read_only({"type": ["boolean", "null"], "description": "Null for a named tier."}),
        "created_at": read_only(TIMESTAMP),
    }
    canary = {
        "verdict": read_only({"type": "string", "enum": ["promote", "roll_back"]}),
        "reasons": read_only({"type": "array", "items": {"type": "string"}}),
        "ks_statistic": read_only({**number, "description": "Two-sample KS statistic D (SciPy)."}),
        "p_value": read_only(number),
        "baseline_count": read_only({"type": "integer"}),
        "canary_count": read_only({"type": "integer"}),
        "baseline_p99_ms": read_only(number),
        "canary_p99_ms": read_only(number),
        "p99_difference_ms": read_only(number),
        "baseline_error_rate": read_only({"type": ["number", "null"]}),
        "canary_error_rate": read_only({"type": ["number", "null"]}),
        "created_at": read_only(TIMESTAMP),
    }
    bars = {
        "service": read_only({"type": "string"}),
        **BARS.read_properties(),
        "custom": read_only({"type": "boolean", "description": "False while the defaults apply."}),
        "version": read_only({"type": "integer"}),
    }
    read["load_tests"] = read_only({"type": "array", "items": ref("LoadTest")})
    read["canary"] = read_only({"oneOf": [ref("CanaryAnalysis"), {"type": "null"}]})
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
        "LoadTest": obj(load_test, list(load_test), description="One load-test tier."),
        "LoadTestCreate": obj(
            LOAD_TEST.json_schema()["properties"],
            list(LOAD_TEST.required),
            description="A tier's figures typed in; unknown fields are refused (422).",
            example={
                "tier": "5x",
                "rps": 812.5,
                "p50_ms": 21,
                "p95_ms": 96,
                "p99_ms": 240,
                "error_rate": 0.05,
                "requests": 16250,
            },
        ),
        "CanaryAnalysis": obj(canary, list(canary), description="A canary against its baseline."),
        "ReadinessBars": obj(bars, list(bars), description="A service's readiness bars."),
        "ReadinessBarsPut": obj(
            {**BARS.json_schema()["properties"], "version": VERSION_IN},
            [],
            description="The bars; a field left out takes its default.",
            example={"p99_1x_ms": 200, "p99_5x_ms": 400, "error_rate_10x": 0.5},
        ),
    }
