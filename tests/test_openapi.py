"""The OpenAPI document matches the routes, and the API keeps what the document promises.

Two guards: a route under /api/v1 that is not documented (or a documented one
that is gone) fails `test_document_matches_url_map`; schemathesis then drives
every documented operation in-process over the WSGI app, once per database
backend, and fails on a 5xx, an undocumented status code or content type, or a
body that does not match its schema.
"""

from __future__ import annotations

import re
from typing import Any

import hypothesis
import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck
from schemathesis import checks

from catalog.api.openapi import openapi_document
from tests.factories import api_payload

API_PREFIX = "/api/v1"
DOC_URL = f"{API_PREFIX}/openapi.json"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
IGNORED_METHODS = {"HEAD", "OPTIONS"}
_CONVERTER = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")

# Bounded and repeatable: a fixed seed, derandomized, no example database, no shrinking.
# Per operation: the document's examples, the deterministic coverage cases (boundaries,
# missing, wrong-typed and unknown fields, wrong methods) and 40 generated ones.
SEED = 20260301
SCHEMATHESIS_CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {
            "max-examples": 40,
            "deterministic": True,
            "database": "none",
            "no-shrink": True,
            # The real token comes from `api_headers`; generated Authorization values would only
            # exercise the 401 path.
            "with-security-parameters": False,
        },
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
        },
    }
)
# Without a token: one request per operation (its documented example, or a filled-in one).
ANONYMOUS_CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {
            "deterministic": True,
            "database": "none",
            "with-security-parameters": False,
        },
        "phases": {
            "examples": {"enabled": True, "fill-missing": True},
            "coverage": {"enabled": False},
            "fuzzing": {"enabled": False},
        },
    }
)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


# Built from the module rather than fetched from the app: the app (and so the database
# backend) is a per-test fixture, handed to each call as `app=`; the served document is
# compared with this one in `test_served_document_is_the_built_one`. (The fixture-based
# `schemathesis.pytest.from_fixture` loader would fetch it, but in schemathesis 4.32.5 it
# reads `Node._nodeid`, which pytest 9.2 no longer has.)
schema = schemathesis.openapi.from_dict(openapi_document(), config=SCHEMATHESIS_CONFIG)
anonymous_schema = schemathesis.openapi.from_dict(openapi_document(), config=ANONYMOUS_CONFIG)


def openapi_path(rule: str) -> str:
    """Flask's `/incidents/<int:incident_id>` as OpenAPI's `/incidents/{incident_id}`."""
    return _CONVERTER.sub(r"{\1}", rule)


def get_document(client: FlaskClient, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get(DOC_URL, headers=headers)
    assert response.status_code == 200, response.get_data()[:300]
    assert response.mimetype == "application/json"
    return response.get_json()


def test_document_matches_url_map(
    app: Flask, client: FlaskClient, api_headers: dict[str, str]
) -> None:
    doc = get_document(client, api_headers)
    routed: dict[str, dict[str, str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule != API_PREFIX and not rule.rule.startswith(API_PREFIX + "/"):
            continue
        methods = routed.setdefault(openapi_path(rule.rule), {})
        for method in (rule.methods or set()) - IGNORED_METHODS:
            methods[method.lower()] = rule.endpoint
    documented = {
        path: {method: op for method, op in item.items() if method in HTTP_METHODS}
        for path, item in doc["paths"].items()
    }

    missing = {
        f"{method.upper()} {path}"
        for path, methods in routed.items()
        for method in methods
        if method not in documented.get(path, {})
    }
    assert not missing, f"routes under {API_PREFIX} missing from the OpenAPI document: {missing}"
    stale = {
        f"{method.upper()} {path}"
        for path, methods in documented.items()
        for method in methods
        if method not in routed.get(path, {})
    }
    assert not stale, f"documented operations with no route: {stale}"
    for path, methods in routed.items():
        for method, endpoint in methods.items():
            assert documented[path][method]["operationId"] == endpoint.removeprefix("api."), (
                method,
                path,
            )


def test_served_document_is_the_built_one(client: FlaskClient, api_headers: dict[str, str]) -> None:
    assert get_document(client, api_headers) == openapi_document()


def test_document_is_valid_openapi_31() -> None:
    schema.validate()  # against the OpenAPI 3.1 meta-schema
    raw = schema.raw_schema
    assert raw["openapi"].startswith("3.1.")
    bearer = raw["components"]["securitySchemes"]["bearerAuth"]
    assert (bearer["type"], bearer["scheme"]) == ("http", "bearer")
    assert raw["security"] == [{"bearerAuth": []}]
    for path, item in raw["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                assert {"401", "403"} <= set(operation["responses"]), (method, path)


def _seed(client: FlaskClient, headers: dict[str, str]) -> None:
    """A few incidents (one with a post-mortem) and a release with a load-test tier, so
    generated ids and slugs find real objects."""
    for n in range(3):
        response = client.post(
            f"{API_PREFIX}/incidents",
            json=api_payload(title=f"Seeded incident {n}"),
            headers=headers,
        )
        assert response.status_code == 201, response.get_data()[:300]
    response = client.put(
        f"{API_PREFIX}/incidents/1/postmortem",
        json={"root_cause": "Pool too small.", "action_items": [{"title": "Resize the pool"}]},
        headers=headers,
    )
    assert response.status_code == 201, response.get_data()[:300]
    release = client.post(  # a release with a tier, so release and tier ids find objects
        f"{API_PREFIX}/releases",
        json={"service": "chat-api", "tag": "v1", "deployed_at": "2026-03-02T12:00:00Z"},
        headers=headers,
    )
    assert release.status_code == 201, release.get_data()[:300]
    tier = client.post(
        f"{API_PREFIX}/releases/1/load-tests",
        json={"tier": "1x", "rps": 9, "p50_ms": 5, "p99_ms": 9, "error_rate": 0, "requests": 9},
        headers=headers,
    )
    assert tier.status_code == 201, tier.get_data()[:300]


@pytest.fixture
def seeded_app(app: Flask, client: FlaskClient, api_headers: dict[str, str]) -> Flask:
    _seed(client, api_headers)
    return app


# One app per operation and backend, shared by that operation's cases on purpose (what one
# case creates, the next may read or change); hence the function-scoped fixture is fine.
@schema.parametrize()
@hypothesis.settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api_conforms_to_document(
    case: schemathesis.Case, seeded_app: Flask, api_headers: dict[str, str]
) -> None:
    case.call_and_validate(app=seeded_app, headers=api_headers, checks=CHECKS)


@anonymous_schema.parametrize()
@hypothesis.settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api_without_token_is_refused_as_documented(case: schemathesis.Case, app: Flask) -> None:
    response = case.call_and_validate(app=app, checks=CHECKS)
    assert response.status_code == 401, (case.operation.label, response.status_code)
