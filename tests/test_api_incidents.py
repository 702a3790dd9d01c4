"""The JSON API contract of SPEC §4 for incidents: lists, filters, writes, derived fields.

A list is an envelope (items, page, per_page, total, next), newest first, whose `next`
link keeps the filters, and each filter narrows it exactly; create answers 201 and patch
200 with the object as GET returns it; deleting an incident takes its post-mortem along;
the derived values (status, TTD, TTR, impact, breaching, root cause flag) follow the
vectors' targets and the configuration, and every timestamp is ISO 8601 UTC with a Z.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from helpers.api import (
    DAY1,
    DAY2,
    ISO_Z,
    MIB,
    assert_error,
    assert_fields,
    count,
    incident_at,
    walk,
)

from catalog.postmortems.service import save_postmortem
from tests.factories import T0, api_payload, iso

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


def test_a_json_content_type_with_charset_is_fine(client):
    response = client.post(
        "/api/v1/incidents",
        data=json.dumps(api_payload()),
        content_type="application/json; charset=utf-8",
    )
    assert response.status_code == 201


def test_a_big_body_under_2_mib_reaches_validation(client, session):
    response = client.post("/api/v1/incidents", json=api_payload(summary="a" * (MIB + MIB // 2)))
    fields = assert_fields(response, "summary")
    assert "at most 100,000 characters" in fields["summary"][0]
    assert count(session, "incidents") == 0


# ---- delete -------------------------------------------------------------------------------


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
