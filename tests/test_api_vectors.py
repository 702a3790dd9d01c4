"""The JSON API contract of SPEC §4 for failure vectors: lists, writes, delete and archive.

The vector list pages like the incident list, sorted by name; create answers 201 and
patch 200 with the object as GET returns it (RPN derived), and a patch may rename the
slug. A vector with incidents cannot be deleted, archived or not: archiving takes it off
the list and out of reach of new incidents while its incidents keep it.
"""

from __future__ import annotations

from helpers.api import ISO_Z, assert_error, assert_fields, count, incident_at, walk

from tests.factories import api_payload

# ---- lists ---------------------------------------------------------------------


def test_vector_list_pages_too(client):
    pages = walk(client, "/api/v1/vectors", per_page=2)
    names = [v["name"] for p in pages for v in p["items"]]
    assert names == sorted(names) and len(names) == 5
    assert all(p["total"] == 5 for p in pages)


# ---- create, read, update ------------------------------------------------------


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


# ---- delete and archive -------------------------------------------------------------------


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
