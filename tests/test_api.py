"""The JSON API contract of SPEC §4: envelopes, status codes, derived fields, metrics."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from catalog.postmortems.service import save_postmortem
from tests.factories import T0, api_payload, iso, make_incident

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")
MIB = 1024 * 1024
INCIDENT_KEYS = {
    "id",
    "title",
    "severity",
    "service",
    "team",
    "vectors",
    "summary",
    "detection_source",
    "started_at",
    "detected_at",
    "acknowledged_at",
    "mitigated_at",
    "recovered_at",
    "status",
    "ttd_seconds",
    "ttr_seconds",
    "impact_seconds",
    "breaching",
    "root_cause_flag",
    "created_at",
    "updated_at",
    "version",
}
STAT_KEYS = {"mean", "median", "p90", "max", "target", "attainment", "breaches"}


def count(session: Session, table: str) -> int:
    session.rollback()
    n = session.scalar(text(f"SELECT count(*) FROM {table}"))
    session.rollback()
    return int(n or 0)


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_data()[:300])
    assert response.is_json, response.content_type
    error = response.get_json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return error


def assert_fields(response: Any, *fields: str) -> dict[str, list[str]]:
    error = assert_error(response, 422, "validation_error")
    assert set(error["fields"]) == set(fields), error["fields"]
    return error["fields"]


def incident_at(session: Session, hours: float = 0, **overrides: Any) -> Any:
    """The factory incident shifted by `hours`; pass timestamps as offsets in minutes."""
    base = T0 + timedelta(hours=hours)
    minutes = {"started_at": 0, "detected_at": 4, "recovered_at": 16}
    for field in ("started_at", "detected_at", "acknowledged_at", "mitigated_at", "recovered_at"):
        if field in overrides:
            value = overrides.pop(field)
            minutes[field] = value
    stamps = {f: None if m is None else base + timedelta(minutes=m) for f, m in minutes.items()}
    return make_incident(session, **stamps, **overrides)


def walk(client: Any, url: str, **query: Any) -> list[dict[str, Any]]:
    """Follow `next` links from the first page; return each page's body."""
    pages = []
    response = client.get(url, query_string=query)
    while True:
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        pages.append(body)
        if body["next"] is None:
            return pages
        assert len(pages) < 50
        response = client.get(body["next"])


# ---- lists ---------------------------------------------------------------------


def test_list_envelope_and_next_links(client, session):
    ids = [incident_at(session, hours=i, title=f"incident {i}").id for i in range(5)]
    pages = walk(client, "/api/v1/incidents", per_page=2)
    assert [p["page"] for p in pages] == [1, 2, 3]
    for body in pages:
        assert set(body) == {"items", "page", "per_page", "total", "next"}
        assert body["per_page"] == 2
        assert body["total"] == 5
    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    assert pages[0]["next"].startswith("http://catalog.test/api/v1/incidents?")
    seen = [item["id"] for p in pages for item in p["items"]]
    assert seen == list(reversed(ids))  # newest first, each once


def test_next_link_keeps_the_filters(client, session):
    for i in range(3):
        incident_at(session, hours=i, severity="SEV1")
    incident_at(session, hours=9, severity="SEV4")
    pages = walk(client, "/api/v1/incidents", severity="SEV1", per_page=1)
    assert len(pages) == 3
    assert all("severity=SEV1" in p["next"] for p in pages[:-1])
    assert {item["severity"] for p in pages for item in p["items"]} == {"SEV1"}


def test_list_defaults_and_empty_list(client):
    body = client.get("/api/v1/incidents").get_json()
    assert body == {"items": [], "page": 1, "per_page": 50, "total": 0, "next": None}


def test_a_page_past_the_end_is_empty(client, session):
    incident_at(session)
    body = client.get("/api/v1/incidents?page=7&per_page=10").get_json()
    assert body["items"] == [] and body["total"] == 1 and body["next"] is None


def test_vector_list_pages_too(client):
    pages = walk(client, "/api/v1/vectors", per_page=2)
    names = [v["name"] for p in pages for v in p["items"]]
    assert names == sorted(names) and len(names) == 5
    assert all(p["total"] == 5 for p in pages)


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


@pytest.mark.parametrize("page", ["99999999999999999999", str(2**63), "1" + "0" * 400])
def test_an_absurd_page_number_is_not_a_500(client, session, page):
    incident_at(session)
    response = client.get("/api/v1/incidents", query_string={"page": page})
    assert response.status_code in (200, 422)
    if response.status_code == 200:
        assert response.get_json()["items"] == []
    else:
        assert_fields(response, "page")


@pytest.fixture
def four_incidents(session):
    """A: drift SEV1 recovered; B: token+drift SEV2 mitigated; C: latency SEV3 investigating;
    D: latency SEV2 recovered, ten days later."""
    return {
        "A": incident_at(
            session,
            0,
            vectors=["data-drift"],
            severity="SEV1",
            service="chat-api",
            team="assistant",
        ).id,
        "B": incident_at(
            session,
            24,
            vectors=["token-limit-overflow", "data-drift"],
            severity="SEV2",
            service="chat-api",
            team="platform",
            mitigated_at=10,
            recovered_at=None,
        ).id,
        "C": incident_at(
            session,
            48,
            vectors=["dependency-latency"],
            severity="SEV3",
            service="rag-search",
            team="search",
            recovered_at=None,
        ).id,
        "D": incident_at(
            session,
            240,
            vectors=["dependency-latency"],
            severity="SEV2",
            service="rag-search",
            team="search",
        ).id,
    }


DAY1, DAY2 = iso(T0 + timedelta(days=1)), iso(T0 + timedelta(days=2))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"vector": "data-drift"}, "AB"),
        ({"vector": "dependency-latency", "severity": "SEV3"}, "C"),
        ({"vector": "model-poisoning"}, ""),
        ({"vector": "no-such-vector"}, ""),
        ({"severity": "SEV2"}, "BD"),
        ({"service": "rag-search"}, "CD"),
        ({"service": "nobody"}, ""),
        ({"team": "search"}, "CD"),
        ({"team": "platform"}, "B"),
        ({"status": "recovered"}, "AD"),
        ({"status": "mitigated"}, "B"),
        ({"status": "investigating"}, "C"),
        ({"status": "open"}, "BC"),
        ({"since": DAY1}, "BCD"),
        ({"until": DAY2}, "AB"),
        ({"since": DAY1, "until": DAY2}, "B"),
        ({"since": "2026-03-03T14:00:00+02:00"}, "BCD"),
        ({"severity": "SEV2", "team": "search", "status": "recovered"}, "D"),
    ],
)
def test_list_filters(client, four_incidents, query, expected):
    body = client.get("/api/v1/incidents", query_string={**query, "per_page": 500}).get_json()
    by_id = {v: k for k, v in four_incidents.items()}
    assert "".join(sorted(by_id[item["id"]] for item in body["items"])) == expected
    assert body["total"] == len(expected)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"severity": "SEV9"}, "severity"),
        ({"severity": "sev1"}, "severity"),
        ({"status": "closed"}, "status"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-03-02T12:00:00"}, "since"),
        ({"until": "2026-03-02"}, "until"),
        ({"since": DAY2, "until": DAY1}, "until"),
        ({"sort": "price"}, "sort"),
    ],
)
def test_bad_filters_are_422(client, query, field):
    assert_fields(client.get("/api/v1/incidents", query_string=query), field)


# ---- create, read, update ------------------------------------------------------


def test_create_answers_201_with_the_object_as_get_returns_it(client, session):
    response = client.post("/api/v1/incidents", json=api_payload())
    assert response.status_code == 201
    created = response.get_json()
    assert INCIDENT_KEYS <= set(created)
    assert created["version"] == 1
    assert created["title"] == "Vector DB latency spike"
    assert client.get(f"/api/v1/incidents/{created['id']}").get_json() == created
    assert count(session, "incidents") == 1


def test_vector_create_answers_201_with_the_object_as_get_returns_it(client):
    payload = {
        "slug": "prompt-injection",
        "name": "Prompt injection",
        "category": "other",
        "severity": 8,
        "occurrence": 3,
        "detectability": 7,
    }
    response = client.post("/api/v1/vectors", json=payload)
    assert response.status_code == 201
    created = response.get_json()
    assert created["rpn"] == 168
    assert created["mttd_target_minutes"] == 5 and created["mttr_target_minutes"] == 15
    assert created["archived"] is False and created["archived_at"] is None
    assert client.get("/api/v1/vectors/prompt-injection").get_json() == created


def test_patch_answers_200_with_the_updated_object(client, session):
    incident = incident_at(session, recovered_at=None)
    response = client.patch(
        f"/api/v1/incidents/{incident.id}",
        json={"recovered_at": iso(T0 + timedelta(minutes=34)), "title": "Renamed", "version": 1},
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["title"] == "Renamed"
    assert body["status"] == "recovered"
    assert body["ttr_seconds"] == 30 * 60
    assert body["version"] == 2
    assert body["updated_at"] >= body["created_at"]
    assert body["severity"] == "SEV2"  # untouched fields kept
    assert client.get(f"/api/v1/incidents/{incident.id}").get_json() == body


def test_vector_patch_answers_200(client):
    response = client.patch(
        "/api/v1/vectors/data-drift", json={"mttr_target_minutes": 30, "version": 1}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["mttr_target_minutes"] == 30 and body["version"] == 2
    assert client.get("/api/v1/vectors/data-drift").get_json() == body


def test_a_patch_may_rename_a_vector_slug(client, session):
    incident_at(session, vectors=["data-drift"])
    response = client.patch("/api/v1/vectors/data-drift", json={"slug": "drift", "version": 1})
    assert response.status_code == 200
    assert client.get("/api/v1/vectors/data-drift").status_code == 404
    assert client.get("/api/v1/incidents").get_json()["items"][0]["vectors"] == ["drift"]


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


def test_a_json_content_type_with_charset_is_fine(client):
    response = client.post(
        "/api/v1/incidents",
        data=json.dumps(api_payload()),
        content_type="application/json; charset=utf-8",
    )
    assert response.status_code == 201


@pytest.mark.parametrize(("method", "url"), WRITES)
def test_a_body_over_2_mib_is_413(client, session, method, url):
    incident_at(session)
    body = b'{"summary": "' + b"a" * (2 * MIB) + b'"}'
    response = getattr(client, method)(url, data=body, content_type="application/json")
    assert_error(response, 413, "payload_too_large")
    assert count(session, "incidents") == 1 and count(session, "postmortems") == 0


def test_a_big_body_under_2_mib_reaches_validation(client, session):
    response = client.post("/api/v1/incidents", json=api_payload(summary="a" * (MIB + MIB // 2)))
    fields = assert_fields(response, "summary")
    assert "at most 100,000 characters" in fields["summary"][0]
    assert count(session, "incidents") == 0


def test_a_form_over_2_mib_is_413_not_500(client, session):
    response = client.post("/incidents/new", data={"title": "x", "summary": "a" * (2 * MIB)})
    assert response.status_code == 413
    assert count(session, "incidents") == 0


# ---- not found and delete ------------------------------------------------------------


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


def test_deleting_a_vector_with_incidents_is_409(client, session):
    incident = incident_at(session, vectors=["data-drift", "dependency-latency"])
    error = assert_error(client.delete("/api/v1/vectors/data-drift"), 409, "conflict")
    assert "archive it instead" in error["message"]
    assert client.get("/api/v1/vectors/data-drift").status_code == 200
    assert client.get(f"/api/v1/incidents/{incident.id}").get_json()["vectors"] == [
        "data-drift",
        "dependency-latency",
    ]
    # archiving does not make it deletable either
    client.patch("/api/v1/vectors/data-drift", json={"archived": True, "version": 1})
    assert_error(client.delete("/api/v1/vectors/data-drift"), 409, "conflict")
    assert count(session, "vectors") == 5


def test_deleting_an_unused_vector_is_204(client, session):
    incident = incident_at(session, vectors=["data-drift"])
    response = client.delete("/api/v1/vectors/model-poisoning")
    assert response.status_code == 204 and response.get_data() == b""
    assert_error(client.get("/api/v1/vectors/model-poisoning"), 404, "not_found")
    assert client.get("/api/v1/vectors").get_json()["total"] == 4
    # once its last incident is gone, a vector can go too
    assert client.delete(f"/api/v1/incidents/{incident.id}").status_code == 204
    assert client.delete("/api/v1/vectors/data-drift").status_code == 204
    assert count(session, "vectors") == 3


def test_deleting_an_incident_takes_its_postmortem_along(client, session):
    incident = incident_at(session)
    other = incident_at(session, 5)
    save_postmortem(session, incident, {"action_items": [{"title": "a"}, {"title": "b"}]})
    session.commit()
    assert client.delete(f"/api/v1/incidents/{incident.id}").status_code == 204
    assert_error(client.get(f"/api/v1/incidents/{incident.id}"), 404, "not_found")
    assert_error(client.delete(f"/api/v1/incidents/{incident.id}"), 404, "not_found")
    assert [count(session, t) for t in ("incidents", "postmortems", "action_items")] == [1, 0, 0]
    assert count(session, "incident_vectors") == 1
    assert client.get(f"/api/v1/incidents/{other.id}").status_code == 200


def test_archived_vectors(client, session):
    incident = incident_at(session, vectors=["hardware-throttling"])
    response = client.patch(
        "/api/v1/vectors/hardware-throttling", json={"archived": True, "version": 1}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["archived"] is True and ISO_Z.match(body["archived_at"])
    listed = client.get("/api/v1/vectors").get_json()
    assert "hardware-throttling" not in [v["slug"] for v in listed["items"]]
    assert listed["total"] == 4
    everything = client.get("/api/v1/vectors?archived=1").get_json()
    assert everything["total"] == 5
    assert client.get("/api/v1/vectors/hardware-throttling").get_json()["archived"] is True
    # archiving again keeps the first time
    again = client.patch(
        "/api/v1/vectors/hardware-throttling", json={"archived": True, "version": 2}
    ).get_json()
    assert again["archived_at"] == body["archived_at"]
    # new incidents cannot use it; the old one keeps it
    assert_fields(
        client.post("/api/v1/incidents", json=api_payload(vectors=["hardware-throttling"])),
        "vectors",
    )
    assert client.get(f"/api/v1/incidents/{incident.id}").get_json()["vectors"] == [
        "hardware-throttling"
    ]
    # restored
    restored = client.patch(
        "/api/v1/vectors/hardware-throttling", json={"archived": False, "version": 3}
    ).get_json()
    assert restored["archived"] is False and restored["archived_at"] is None
    assert client.get("/api/v1/vectors").get_json()["total"] == 5


def test_a_vector_can_be_created_archived(client):
    response = client.post("/api/v1/vectors", json={"name": "Legacy GPU fleet", "archived": True})
    assert response.status_code == 201
    body = response.get_json()
    assert body["slug"] == "legacy-gpu-fleet" and body["archived"] is True
    assert client.get("/api/v1/vectors").get_json()["total"] == 5


# ---- derived fields and timestamps -----------------------------------------------------


def test_a_recovered_incident_carries_its_derived_values(client, session):
    incident = incident_at(session, vectors=["dependency-latency", "data-drift"])
    body = client.get(f"/api/v1/incidents/{incident.id}").get_json()
    assert body["status"] == "recovered"
    assert body["ttd_seconds"] == 240
    assert body["ttr_seconds"] == 720
    assert body["impact_seconds"] == 960
    assert body["breaching"] is False
    assert body["root_cause_flag"] == "overdue"  # detected months ago, no post-mortem
    assert body["vectors"] == ["data-drift", "dependency-latency"]


def test_an_open_incident_past_its_target_is_breaching(client, session):
    mitigated = incident_at(session, mitigated_at=10, recovered_at=None)
    body = client.get(f"/api/v1/incidents/{mitigated.id}").get_json()
    assert body["status"] == "mitigated"
    assert body["ttr_seconds"] is None and body["impact_seconds"] is None
    assert body["ttd_seconds"] == 240
    assert body["breaching"] is True


def test_a_fresh_open_incident_is_pending_and_not_breaching(client):
    now = datetime.now(UTC).replace(microsecond=0)
    payload = api_payload(
        started_at=iso(now - timedelta(minutes=3)),
        detected_at=iso(now - timedelta(minutes=2)),
        recovered_at=None,
    )
    body = client.post("/api/v1/incidents", json=payload).get_json()
    assert body["status"] == "investigating"
    assert body["ttd_seconds"] == 60
    assert body["ttr_seconds"] is None
    assert body["breaching"] is False
    assert body["root_cause_flag"] == "pending"


def test_breaching_uses_the_strictest_vector_target(client, session):
    client.patch("/api/v1/vectors/data-drift", json={"mttr_target_minutes": 600, "version": 1})
    now = datetime.now(UTC).replace(microsecond=0)
    payload = api_payload(
        vectors=["data-drift"],
        started_at=iso(now - timedelta(minutes=40)),
        detected_at=iso(now - timedelta(minutes=30)),
        recovered_at=None,
    )
    lenient = client.post("/api/v1/incidents", json=payload).get_json()
    assert lenient["breaching"] is False  # 30 min open, target 10 h
    payload["vectors"] = ["data-drift", "dependency-latency"]
    strict = client.post("/api/v1/incidents", json=payload).get_json()
    assert strict["breaching"] is True  # dependency-latency's 15 min applies


@pytest.fixture
def mttr_from_started(app_config, request):
    app_config["MTTR_FROM"] = "started"
    return request.getfixturevalue("client"), request.getfixturevalue("session")


def test_ttr_can_start_at_started_at(mttr_from_started):
    client, session = mttr_from_started
    incident = incident_at(session)
    body = client.get(f"/api/v1/incidents/{incident.id}").get_json()
    assert body["ttr_seconds"] == 960
    definition = client.get("/api/v1/metrics").get_json()["definition"]
    assert definition["mttr_from"] == "started"


def test_duplicate_vectors_are_linked_once(client):
    body = client.post(
        "/api/v1/incidents", json=api_payload(vectors=["data-drift", "data-drift"])
    ).get_json()
    assert body["vectors"] == ["data-drift"]


def test_timestamps_are_iso_8601_utc_with_z(client, session):
    payload = api_payload(
        started_at="2026-03-02T13:00:00+01:00",
        detected_at="2026-03-02T07:04:30.250000-05:00",
        acknowledged_at="2026-03-02T12:05:00Z",
        mitigated_at="2026-03-02T12:10:00+00:00",
        recovered_at="2026-03-02T21:46:00+09:30",
    )
    body = client.post("/api/v1/incidents", json=payload).get_json()
    assert body["started_at"] == "2026-03-02T12:00:00Z"
    assert body["detected_at"] == "2026-03-02T12:04:30.250000Z"
    assert body["acknowledged_at"] == "2026-03-02T12:05:00Z"
    assert body["mitigated_at"] == "2026-03-02T12:10:00Z"
    assert body["recovered_at"] == "2026-03-02T12:16:00Z"
    assert body["ttd_seconds"] == 270.25
    for key in ("created_at", "updated_at"):
        assert ISO_Z.match(body[key]), body[key]
    vector = client.get("/api/v1/vectors/data-drift").get_json()
    assert ISO_Z.match(vector["created_at"]) and ISO_Z.match(vector["updated_at"])


# ---- post-mortems -------------------------------------------------------------------------


def test_postmortem_lifecycle(client, session):
    incident = incident_at(session)
    url = f"/api/v1/incidents/{incident.id}/postmortem"
    assert_error(client.get(url), 404, "not_found")
    assert client.get(f"/api/v1/incidents/{incident.id}").get_json()["has_postmortem"] is False

    rca = T0 + timedelta(minutes=4, hours=3)
    created = client.put(
        url,
        json={
            "root_cause_at": iso(rca),
            "root_cause": "Connection pool exhausted.",
            "body": "## Summary\n...",
            "action_items": [
                {"title": "Bound the pool", "owner": "sam", "due_on": "2026-04-01"},
                {"title": "Alert on saturation", "link": "https://runbooks.example/pool"},
            ],
        },
    )
    assert created.status_code == 201
    pm = created.get_json()
    assert pm["incident_id"] == incident.id
    assert pm["status"] == "draft" and pm["published_at"] is None
    assert pm["root_cause_seconds"] == 3 * 3600
    assert pm["root_cause_flag"] == "on_time"
    assert pm["version"] == 1
    assert [i["title"] for i in pm["action_items"]] == ["Bound the pool", "Alert on saturation"]
    assert pm["action_items"][0]["due_on"] == "2026-04-01"
    assert pm["action_items"][0]["overdue"] is True  # due long ago, not done
    assert pm["action_items"][1]["link"] == "https://runbooks.example/pool"
    assert client.get(url).get_json() == pm
    incident_body = client.get(f"/api/v1/incidents/{incident.id}").get_json()
    assert incident_body["root_cause_flag"] == "on_time" and incident_body["has_postmortem"]

    kept, dropped = pm["action_items"]
    replaced = client.put(
        url,
        json={
            "version": 1,
            "status": "published",
            "root_cause_at": iso(rca),
            "root_cause": "Connection pool exhausted.",
            "action_items": [
                {
                    "id": kept["id"],
                    "title": "Bound the pool at 64",
                    "owner": "sam",
                    "due_on": "2026-04-01",
                    "done_at": iso(T0 + timedelta(days=3)),
                },
                {"title": "Load-test the pool"},
            ],
        },
    )
    assert replaced.status_code == 200
    pm2 = replaced.get_json()
    assert pm2["version"] == 2
    assert pm2["status"] == "published" and ISO_Z.match(pm2["published_at"])
    first, new = pm2["action_items"]
    assert first["id"] == kept["id"] and first["title"] == "Bound the pool at 64"
    assert first["overdue"] is False and first["done_at"] == iso(T0 + timedelta(days=3))
    assert new["id"] != kept["id"] and new["title"] == "Load-test the pool"
    assert dropped["title"] not in [i["title"] for i in pm2["action_items"]]
    assert count(session, "action_items") == 2
    assert client.get(url).get_json() == pm2

    # back to draft clears published_at; an empty list removes every item
    pm3 = client.put(url, json={"version": 2, "status": "draft", "action_items": []}).get_json()
    assert pm3["published_at"] is None and pm3["action_items"] == []
    assert pm3["root_cause_at"] is None and pm3["root_cause_flag"] == "overdue"
    assert count(session, "action_items") == 0 and count(session, "postmortems") == 1


@pytest.mark.parametrize(
    ("hours", "flag"),
    [(0, "on_time"), (47.99, "on_time"), (48, "on_time"), (48.01, "late"), (200, "late")],
)
def test_root_cause_flag_and_seconds(client, session, hours, flag):
    incident = incident_at(session)
    rca = incident.detected_at + timedelta(hours=hours)
    body = client.put(
        f"/api/v1/incidents/{incident.id}/postmortem", json={"root_cause_at": iso(rca)}
    ).get_json()
    assert body["root_cause_flag"] == flag
    assert body["root_cause_seconds"] == pytest.approx(hours * 3600)


def test_root_cause_may_not_precede_detection(client, session):
    """It counted as on time with a negative duration; refused since issue 10."""
    incident = incident_at(session)
    response = client.put(
        f"/api/v1/incidents/{incident.id}/postmortem",
        json={"root_cause_at": iso(T0 + timedelta(minutes=1))},
    )
    assert response.status_code == 422
    assert list(response.get_json()["error"]["fields"]) == ["root_cause_at"]


def test_a_recent_incident_without_root_cause_is_pending(client):
    now = datetime.now(UTC).replace(microsecond=0)
    created = client.post(
        "/api/v1/incidents",
        json=api_payload(
            started_at=iso(now - timedelta(hours=2)),
            detected_at=iso(now - timedelta(hours=1)),
            recovered_at=None,
        ),
    ).get_json()
    pm = client.put(f"/api/v1/incidents/{created['id']}/postmortem", json={}).get_json()
    assert pm["root_cause_flag"] == "pending" and pm["root_cause_seconds"] is None


@pytest.fixture
def short_rca(app_config, request):
    app_config["RCA_HOURS"] = 1
    return request.getfixturevalue("client"), request.getfixturevalue("session")


def test_the_root_cause_threshold_comes_from_config(short_rca):
    client, session = short_rca
    incident = incident_at(session)
    body = client.put(
        f"/api/v1/incidents/{incident.id}/postmortem",
        json={"root_cause_at": iso(incident.detected_at + timedelta(hours=2))},
    ).get_json()
    assert body["root_cause_flag"] == "late"


# ---- metrics ------------------------------------------------------------------------------


@pytest.mark.parametrize("group_by", ["bogus", "VECTOR", "weekly", "vector,team", "a" * 5000])
def test_metrics_group_by_must_be_known(client, group_by):
    fields = assert_fields(
        client.get("/api/v1/metrics", query_string={"group_by": group_by}), "group_by"
    )
    assert "overall, vector, severity, service, team, week, month" in fields["group_by"][0]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"severity": "SEV0"}, "severity"),
        ({"since": "2026-03-02T00:00:00"}, "since"),
        ({"until": "soon"}, "until"),
        ({"since": DAY2, "until": DAY1}, "until"),
    ],
)
def test_metrics_filters_are_validated(client, query, field):
    assert_fields(client.get("/api/v1/metrics", query_string=query), field)


@pytest.fixture
def measured(session):
    """Four latency incidents: ttd 60/120/240/600 s; ttr 300/600/1800 s and one open."""
    for hours, ttd, ttr, severity in (
        (0, 1, 5, "SEV1"),
        (1, 2, 10, "SEV2"),
        (2, 4, None, "SEV2"),
        (24 * 35, 10, 30, "SEV3"),
    ):
        incident_at(
            session,
            hours,
            vectors=["dependency-latency"],
            severity=severity,
            started_at=0,
            detected_at=ttd,
            recovered_at=None if ttr is None else ttd + ttr,
        )


def test_metrics_shape_and_numbers(client, measured):
    body = client.get("/api/v1/metrics").get_json()
    assert set(body) == {"definition", "groups"}
    assert body["definition"]["mttr_from"] == "detected"
    assert body["definition"]["group_by"] == "overall"
    (group,) = body["groups"]
    assert group["key"] == "overall"
    assert group["count"] == 4 and group["open"] == 1
    ttd, ttr = group["ttd"], group["ttr"]
    assert STAT_KEYS <= set(ttd) and STAT_KEYS <= set(ttr)
    assert ttd == {
        **ttd,
        "mean": pytest.approx(255),
        "median": pytest.approx(180),
        "p90": pytest.approx(492),
        "max": 600,
        "target": 300,
        "attainment": pytest.approx(0.75),
        "breaches": 1,
    }
    assert ttr == {
        **ttr,
        "mean": pytest.approx(900),
        "median": pytest.approx(600),
        "p90": pytest.approx(1560),
        "max": 1800,
        "target": 900,
        "attainment": pytest.approx(2 / 3),
        "breaches": 1,
    }


@pytest.mark.parametrize(
    "group_by", ["overall", "vector", "severity", "service", "team", "week", "month"]
)
def test_every_group_by_answers_the_same_shape(client, measured, group_by):
    response = client.get("/api/v1/metrics", query_string={"group_by": group_by})
    assert response.status_code == 200
    body = response.get_json()
    assert body["definition"]["group_by"] == group_by
    assert body["groups"]
    for group in body["groups"]:
        assert {"key", "count", "open", "ttd", "ttr"} <= set(group)
        assert STAT_KEYS <= set(group["ttd"]) and STAT_KEYS <= set(group["ttr"])
        for part in ("ttd", "ttr"):
            attainment = group[part]["attainment"]
            assert attainment is None or 0 <= attainment <= 1
    assert sum(g["count"] for g in body["groups"]) >= 4


def test_metrics_keys(client, measured, session):
    incident_at(session, 3, vectors=["data-drift", "dependency-latency"], severity="SEV4")

    def groups(**query: Any) -> dict[str, dict[str, Any]]:
        body = client.get("/api/v1/metrics", query_string=query).get_json()
        return {g["key"]: g for g in body["groups"]}

    by_vector = groups(group_by="vector")
    assert set(by_vector) == {
        "data-drift",
        "token-limit-overflow",
        "hardware-throttling",
        "dependency-latency",
        "model-poisoning",
    }
    assert by_vector["dependency-latency"]["count"] == 5
    assert by_vector["data-drift"]["count"] == 1
    assert by_vector["model-poisoning"]["count"] == 0
    assert by_vector["dependency-latency"]["ttr"]["target"] == 900
    assert groups()["overall"]["count"] == 5  # the two-vector incident counts once overall

    assert list(groups(group_by="severity")) == ["SEV1", "SEV2", "SEV3", "SEV4"]
    assert groups(group_by="severity")["SEV2"]["count"] == 2
    assert list(groups(group_by="service")) == ["rag-search"]
    assert list(groups(group_by="team")) == ["search"]

    weeks = groups(group_by="week")
    assert "2026-03-02" in weeks and weeks["2026-03-02"]["count"] == 4
    for key in weeks:
        assert date.fromisoformat(key).weekday() == 0
    assert sum(g["count"] for g in weeks.values()) == 5
    months = groups(group_by="month")
    assert list(months) == ["2026-03-01", "2026-04-01"]
    assert [m["count"] for m in months.values()] == [4, 1]


def test_metrics_filters(client, measured):
    def overall(**query: Any) -> dict[str, Any]:
        return client.get("/api/v1/metrics", query_string=query).get_json()["groups"][0]

    assert overall(severity="SEV2")["count"] == 2
    assert overall(vector="data-drift")["count"] == 0
    assert overall(since=iso(T0 + timedelta(hours=1)))["count"] == 3
    assert overall(until=iso(T0 + timedelta(hours=1)))["count"] == 1
    assert overall(since=iso(T0), until=iso(T0 + timedelta(days=30)), severity="SEV2")["open"] == 1
    by_vector = client.get(
        "/api/v1/metrics", query_string={"group_by": "vector", "vector": "dependency-latency"}
    ).get_json()["groups"]
    assert [g["key"] for g in by_vector] == ["dependency-latency"]


def test_metrics_of_an_empty_catalog(client):
    (group,) = client.get("/api/v1/metrics").get_json()["groups"]
    assert group["count"] == 0 and group["open"] == 0
    assert group["ttd"]["mean"] is None and group["ttd"]["attainment"] is None
    assert group["ttd"]["breaches"] == 0 and group["ttd"]["target"] == 300


# ---- no 500 on any input ---------------------------------------------------------------------

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
