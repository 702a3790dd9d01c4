"""The JSON API contract of SPEC §4: no input causes a 500.

NUL bytes and lone surrogates anywhere, wrong types and odd values in incidents, patches,
vectors, post-mortems and queries: each is refused with a 4xx, or accepted where it is
valid, and a refused write changes nothing.
"""

from __future__ import annotations

import pytest
from helpers.api import MIB, count, incident_at

from tests.factories import api_payload

NUL = "a\x00b"


@pytest.mark.parametrize(
    ("method", "url", "kwargs"),
    [
        ("post", "/api/v1/incidents", {"json": api_payload(title=NUL)}),
        ("post", "/api/v1/incidents", {"json": api_payload(vectors=[NUL])}),
        ("post", "/api/v1/incidents", {"json": api_payload(severity=NUL)}),
        ("post", "/api/v1/incidents", {"json": api_payload(started_at="2026-03-02\x00T12:00Z")}),
        ("post", "/api/v1/incidents", {"json": {**api_payload(), NUL: 1}}),
        ("post", "/api/v1/vectors", {"json": {"name": NUL}}),
        ("post", "/api/v1/vectors", {"json": {"name": "ok", "slug": NUL}}),
        ("post", "/api/v1/vectors", {"json": {"name": "ok", "category": NUL}}),
        ("put", "/api/v1/incidents/1/postmortem", {"json": {"action_items": [{"title": NUL}]}}),
        ("put", "/api/v1/incidents/1/postmortem", {"json": {"action_items": [{NUL: "x"}]}}),
        ("get", "/api/v1/incidents", {"query_string": {"vector": NUL}}),
        ("get", "/api/v1/incidents", {"query_string": {"service": NUL}}),
        ("get", "/api/v1/incidents", {"query_string": {"team": NUL}}),
        ("get", "/api/v1/incidents", {"query_string": {"q": NUL}}),
        ("get", "/api/v1/incidents", {"query_string": {"severity": NUL, "status": NUL}}),
        ("get", "/api/v1/incidents", {"query_string": {"since": NUL, "page": NUL}}),
        ("get", "/api/v1/metrics", {"query_string": {"vector": NUL}}),
        ("get", "/api/v1/metrics", {"query_string": {"group_by": NUL}}),
        ("get", "/api/v1/vectors/a%00b", {}),
        ("patch", "/api/v1/vectors/a%00b", {"json": {"version": 1}}),
        ("delete", "/api/v1/vectors/a%00b", {}),
        ("get", "/incidents/", {"query_string": {"q": NUL, "service": NUL, "vector": NUL}}),
        ("get", "/vectors/a%00b", {}),
    ],
)
def test_nul_bytes_never_cause_a_500(client, session, method, url, kwargs):
    incident_at(session)
    response = getattr(client, method)(url, **kwargs)
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    assert count(session, "incidents") == 1 and count(session, "vectors") == 5


SURROGATE = "bad \ud800 text"


@pytest.mark.parametrize(
    ("method", "url", "payload"),
    [
        ("post", "/api/v1/incidents", api_payload(title=SURROGATE)),
        ("post", "/api/v1/incidents", api_payload(summary=SURROGATE)),
        ("post", "/api/v1/incidents", api_payload(vectors=[SURROGATE])),
        ("post", "/api/v1/incidents", api_payload(severity=SURROGATE)),
        ("post", "/api/v1/incidents", {**api_payload(), SURROGATE: 1}),
        ("post", "/api/v1/vectors", {"name": SURROGATE}),
        ("post", "/api/v1/vectors", {"name": "ok", "slug": SURROGATE}),
        ("put", "/api/v1/incidents/1/postmortem", {"body": SURROGATE}),
        ("put", "/api/v1/incidents/1/postmortem", {"action_items": [{"title": SURROGATE}]}),
    ],
)
def test_lone_surrogates_never_cause_a_500(client, session, method, url, payload):
    incident_at(session)
    response = getattr(client, method)(url, json=payload)
    assert response.status_code in (400, 422), response.get_data(as_text=True)[:500]
    assert count(session, "incidents") == 1 and count(session, "postmortems") == 0


@pytest.mark.parametrize(
    "overrides",
    [
        {"title": "x" * MIB},
        {"summary": "\n" * 200_000},
        {"title": ["x"] * 1000},
        {"title": {"nested": {"deeper": [1, 2, 3]}}},
        {"title": True},
        {"severity": 2},
        {"severity": {"SEV1": True}},
        {"vectors": [["data-drift"]]},
        {"vectors": [{"slug": "data-drift"}]},
        {"vectors": ["x" * 10_000]},
        {"vectors": ["data-drift"] * 10_000},
        {"vectors": [f"v-{i}" for i in range(2000)]},
        {"vectors": True},
        {"started_at": True},
        {"started_at": 1.5},
        {"started_at": "0001-01-01T00:00:00+14:00"},
        {"started_at": "9999-12-31T23:59:59-14:00"},
        {"recovered_at": "9999-12-31T23:59:59.999999Z"},
        {"started_at": "+002026-03-02T12:00:00Z"},
        {"detected_at": "2026-W10-1T12:00:00Z"},
        {"detected_at": "2026-03-02T12:00:00+24:00"},
        {"detected_at": "2026-03-02T25:00:00Z"},
    ],
)
def test_wrong_types_and_odd_values_never_cause_a_500(client, session, overrides):
    response = client.post("/api/v1/incidents", json=api_payload(**overrides))
    assert response.status_code in (201, 400, 422), response.get_data(as_text=True)[:500]
    if response.status_code != 201:
        assert count(session, "incidents") == 0


@pytest.mark.parametrize(
    "payload",
    [
        {"version": 10**30, "title": "x"},
        {"version": -1, "title": "x"},
        {"version": 1, "vectors": "data-drift"},
        {"version": 1, "started_at": None},
        {"version": 1, "recovered_at": False},
        {"version": [], "title": []},
    ],
)
def test_odd_patches_never_cause_a_500(client, session, payload):
    incident = incident_at(session)
    response = client.patch(f"/api/v1/incidents/{incident.id}", json=payload)
    assert response.status_code in (409, 422), response.get_data(as_text=True)[:500]
    assert client.get(f"/api/v1/incidents/{incident.id}").get_json()["version"] == 1


@pytest.mark.parametrize(
    "payload",
    [
        {"mttd_target_minutes": 10**40},
        {"mttd_target_minutes": -(10**40)},
        {"mttd_target_minutes": 1e308},
        {"severity": 3.0},
        {"name": "x", "slug": "y" * 10_000},
        {"name": "x", "archived": None},
        {"name": "x", "archived": 1},
        {"name": ["x"]},
        {},
    ],
)
def test_odd_vectors_never_cause_a_500(client, session, payload):
    response = client.post("/api/v1/vectors", json=payload)
    assert response.status_code in (201, 422), response.get_data(as_text=True)[:500]


@pytest.mark.parametrize(
    "query",
    [
        {"since": "0001-01-01T00:00:00+14:00"},
        {"until": "9999-12-31T23:59:59-14:00"},
        {"since": "0001-01-01T00:00:00Z", "until": "9999-12-31T23:59:59Z"},
        {"since": "9999-12-30T00:00:00Z", "until": "9999-12-31T23:59:59Z"},
        {"service": "x" * 50_000},
        {"per_page": "500", "page": "2147483648"},
    ],
)
@pytest.mark.parametrize("url", ["/api/v1/incidents", "/api/v1/metrics"])
def test_odd_queries_never_cause_a_500(client, session, url, query):
    incident_at(session)
    responses = [client.get(url, query_string=query)]
    if url.endswith("metrics"):
        responses += [
            client.get(url, query_string={**query, "group_by": g}) for g in ("week", "month")
        ]
    for response in responses:
        assert response.status_code in (200, 422), response.get_data(as_text=True)[:500]


@pytest.mark.parametrize(
    "payload",
    [
        {"action_items": [{"title": "x", "due_on": "9999-12-31"}]},
        {"action_items": [{"title": "x", "due_on": True}]},
        {"action_items": [{"title": "x", "done_at": "0001-01-01T00:00:00+10:00"}]},
        {"action_items": [{"title": "x", "id": 10**30}]},
        {"action_items": [{"title": "x", "id": 1.0}]},
        {"action_items": [None, 1, "x"]},
        {"action_items": [[]]},
        {"status": ["published"]},
        {"root_cause_at": "9999-12-31T23:59:59-14:00"},
        {"published_at": {"at": "now"}},
    ],
)
def test_odd_postmortems_never_cause_a_500(client, session, payload):
    incident = incident_at(session)
    response = client.put(f"/api/v1/incidents/{incident.id}/postmortem", json=payload)
    assert response.status_code in (201, 422), response.get_data(as_text=True)[:500]
