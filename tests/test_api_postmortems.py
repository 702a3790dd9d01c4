"""The JSON API contract of SPEC §4 for post-mortems: the lifecycle and the root cause flag.

An incident's post-mortem is created (201) and replaced (200) with PUT, its action items
kept by id, added and dropped, and published or taken back to draft. The root cause flag
is on time up to the configured hours after detection and late after them, pending while
the incident is recent, and a root cause may not precede detection.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from helpers.api import ISO_Z, assert_error, count, incident_at

from tests.factories import T0, api_payload, iso


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
            "body": "## Summary\nThe pool ran dry under a retry storm.",  # publishable
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
