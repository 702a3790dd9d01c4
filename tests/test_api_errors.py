"""The JSON API contract of SPEC §4 for the errors every resource answers the same way.

Paging out of range (422 naming the field), a stale version (409) or none (422), unknown
fields (422), malformed bodies (400), bodies over 2 MiB (413), unknown ids and slugs (404)
and a wrong method (405): each answers the JSON error envelope with its code, and none
changes anything.
"""

from __future__ import annotations

from typing import Any

import pytest
from helpers.api import MIB, assert_error, assert_fields, count, incident_at

from catalog.postmortems.service import save_postmortem
from tests.factories import T0, api_payload, iso

# ---- paging -------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/incidents", "/api/v1/vectors"])
def test_per_page_500_is_the_maximum(client, url):
    assert client.get(url, query_string={"per_page": 500}).get_json()["per_page"] == 500
    fields = assert_fields(client.get(url, query_string={"per_page": 501}), "per_page")
    assert "between 1 and 500" in fields["per_page"][0]


@pytest.mark.parametrize("url", ["/api/v1/incidents", "/api/v1/vectors"])
@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ({"page": 0}, {"page"}),
        ({"page": -1}, {"page"}),
        ({"page": "abc"}, {"page"}),
        ({"page": "1.5"}, {"page"}),
        ({"per_page": 0}, {"per_page"}),
        ({"per_page": -10}, {"per_page"}),
        ({"per_page": "ten"}, {"per_page"}),
        ({"per_page": "1e2"}, {"per_page"}),
        ({"page": "x", "per_page": 0}, {"page", "per_page"}),
    ],
)
def test_bad_paging_is_422_with_field_names(client, url, query, fields):
    assert_fields(client.get(url, query_string=query), *fields)


# ---- versions and unknown fields ----------------------------------------------------------


@pytest.mark.parametrize("kind", ["incident", "vector", "postmortem"])
def test_a_stale_version_is_409_and_changes_nothing(client, session, kind):
    incident = incident_at(session)
    if kind == "incident":
        url, method, first, second = (
            f"/api/v1/incidents/{incident.id}",
            client.patch,
            {"title": "Alice's edit"},
            {"title": "Bob's edit"},
        )
    elif kind == "vector":
        url, method, first, second = (
            "/api/v1/vectors/data-drift",
            client.patch,
            {"description": "Alice's edit"},
            {"description": "Bob's edit"},
        )
    else:
        url = f"/api/v1/incidents/{incident.id}/postmortem"
        assert client.put(url, json={"root_cause": "draft"}).status_code == 201
        method, first, second = client.put, {"root_cause": "Alice's"}, {"root_cause": "Bob's"}
    assert method(url, json={**first, "version": 1}).status_code == 200
    saved = client.get(url).get_json()
    assert saved["version"] == 2
    error = assert_error(method(url, json={**second, "version": 1}), 409, "conflict")
    assert "version 1" in error["message"] and "version 2" in error["message"]
    assert client.get(url).get_json() == saved


@pytest.mark.parametrize("version", [None, "1", True, 1.0, [1], {"v": 1}])
@pytest.mark.parametrize("kind", ["incident", "vector", "postmortem"])
def test_a_change_without_a_whole_number_version_is_422(client, session, kind, version):
    incident = incident_at(session)
    if kind == "incident":
        url, method, change = f"/api/v1/incidents/{incident.id}", client.patch, {"team": "x"}
    elif kind == "vector":
        url, method, change = "/api/v1/vectors/data-drift", client.patch, {"name": "X"}
    else:
        url, method, change = f"/api/v1/incidents/{incident.id}/postmortem", client.put, {}
        save_postmortem(session, incident, {"root_cause": "known"})
        session.commit()
    before = client.get(url).get_json()
    payload = change if version is None else {**change, "version": version}
    fields = assert_fields(method(url, json=payload), "version")
    assert "Version" in fields["version"][0]
    assert client.get(url).get_json() == before


@pytest.mark.parametrize(
    ("method", "url", "payload", "unknown"),
    [
        ("post", "/api/v1/incidents", api_payload(status="recovered"), "status"),
        ("post", "/api/v1/incidents", api_payload(id=7), "id"),
        ("post", "/api/v1/incidents", api_payload(ttd_seconds=1), "ttd_seconds"),
        ("post", "/api/v1/incidents", api_payload(priority="high"), "priority"),
        ("patch", "/api/v1/incidents/1", {"version": 1, "breaching": False}, "breaching"),
        ("patch", "/api/v1/incidents/1", {"version": 1, "created_at": iso(T0)}, "created_at"),
        ("post", "/api/v1/vectors", {"name": "X", "rpn": 100}, "rpn"),
        ("patch", "/api/v1/vectors/data-drift", {"version": 1, "colour": "red"}, "colour"),
        ("put", "/api/v1/incidents/1/postmortem", {"root_cause_flag": "late"}, "root_cause_flag"),
        ("put", "/api/v1/incidents/1/postmortem", {"incident_id": 2}, "incident_id"),
    ],
)
def test_unknown_fields_are_422(client, session, method, url, payload, unknown):
    incident_at(session)
    before = {t: count(session, t) for t in ("incidents", "vectors", "postmortems")}
    version_before = client.get("/api/v1/vectors/data-drift").get_json()["version"]
    fields = assert_fields(getattr(client, method)(url, json=payload), unknown)
    assert fields[unknown] == ["Unknown field."]
    assert {t: count(session, t) for t in before} == before
    assert client.get("/api/v1/incidents/1").get_json()["version"] == 1
    assert client.get("/api/v1/vectors/data-drift").get_json()["version"] == version_before


# ---- malformed and oversized bodies -------------------------------------------------------


WRITES = [
    ("post", "/api/v1/incidents"),
    ("patch", "/api/v1/incidents/1"),
    ("post", "/api/v1/vectors"),
    ("patch", "/api/v1/vectors/data-drift"),
    ("put", "/api/v1/incidents/1/postmortem"),
]


@pytest.mark.parametrize(("method", "url"), WRITES)
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"title": ', "application/json"),
        (b"{'title': 'single quotes'}", "application/json"),
        (b'{"title": "x",}', "application/json"),
        (b"NaN-ish nonsense", "application/json"),
        (b'{"title": "\xff\xfe"}', "application/json"),
        (b"", "application/json"),
        (b"[]", "application/json"),
        (b'[{"title": "x"}]', "application/json"),
        (b'"a string"', "application/json"),
        (b"42", "application/json"),
        (b"true", "application/json"),
        (b"null", "application/json"),
        (b'{"title": "x"}', "text/plain"),
        (b"title=x&severity=SEV1", "application/x-www-form-urlencoded"),
        (b'{"title": "x"}', None),
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),
    ],
    ids=[
        "truncated",
        "single-quotes",
        "trailing-comma",
        "not-json",
        "bad-utf8",
        "empty",
        "array",
        "array-of-objects",
        "string",
        "number",
        "boolean",
        "null",
        "text-plain",
        "form-encoded",
        "no-content-type",
        "deeply-nested",
    ],
)
def test_malformed_bodies_are_400(client, session, method, url, body, content_type):
    incident_at(session)
    kwargs: dict[str, Any] = {"data": body}
    if content_type:
        kwargs["content_type"] = content_type
    response = getattr(client, method)(url, **kwargs)
    assert_error(response, 400, "bad_request")
    assert count(session, "incidents") == 1 and count(session, "vectors") == 5
    assert count(session, "postmortems") == 0


@pytest.mark.parametrize(("method", "url"), WRITES)
def test_a_body_over_2_mib_is_413(client, session, method, url):
    incident_at(session)
    body = b'{"summary": "' + b"a" * (2 * MIB) + b'"}'
    response = getattr(client, method)(url, data=body, content_type="application/json")
    assert_error(response, 413, "payload_too_large")
    assert count(session, "incidents") == 1 and count(session, "postmortems") == 0


def test_a_form_over_2_mib_is_413_not_500(client, session):
    response = client.post("/incidents/new", data={"title": "x", "summary": "a" * (2 * MIB)})
    assert response.status_code == 413
    assert count(session, "incidents") == 0


# ---- not found and wrong method -----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "payload"),
    [
        ("get", "/api/v1/incidents/999", None),
        ("patch", "/api/v1/incidents/999", {"title": "x", "version": 1}),
        ("delete", "/api/v1/incidents/999", None),
        ("get", "/api/v1/incidents/999/postmortem", None),
        ("put", "/api/v1/incidents/999/postmortem", {"root_cause": "x"}),
        ("get", "/api/v1/vectors/no-such-vector", None),
        ("patch", "/api/v1/vectors/no-such-vector", {"name": "x", "version": 1}),
        ("delete", "/api/v1/vectors/no-such-vector", None),
        ("get", "/api/v1/vectors/Data-Drift", None),
        ("get", "/api/v1/incidents/abc", None),
        ("get", "/api/v1/incidents/-1", None),
        ("get", "/api/v1/incidents/0", None),
        ("get", "/api/v1/incidents/99999999999999999999", None),
        ("get", f"/api/v1/incidents/{2**31}", None),
        ("get", f"/api/v1/incidents/{2**63}", None),
        ("delete", "/api/v1/incidents/99999999999999999999", None),
        ("get", "/api/v1/nothing-here", None),
    ],
)
def test_unknown_ids_and_slugs_are_404_json(client, session, method, url, payload):
    incident_at(session)
    kwargs = {} if payload is None else {"json": payload}
    assert_error(getattr(client, method)(url, **kwargs), 404, "not_found")
    assert count(session, "incidents") == 1 and count(session, "vectors") == 5


def test_a_wrong_method_is_405_json(client):
    assert_error(client.put("/api/v1/incidents", json={}), 405, "method_not_allowed")
