"""Milestones in one click, on the incident page and through the API (issue 12).

A click stamps the server's time now, or the time typed in *at…* (a clock time in
the user's zone, a local date and time, or relative: -7m, -2h); it goes through the
incident's order rules and its version check, and leaves a timeline entry.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from factories import make_incident
from helpers.accounts import signed_in_client
from helpers.api import assert_error, assert_fields
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.db import utcnow
from catalog.incidents.models import Incident, IncidentUpdate
from catalog.when import read_when

BERLIN = ZoneInfo("Europe/Berlin")


def open_incident(session: Session, **overrides: object) -> Incident:
    """Started 12 minutes ago, detected 4 minutes ago, nothing else yet."""
    now = utcnow()
    return make_incident(
        session,
        started_at=now - timedelta(minutes=12),
        detected_at=now - timedelta(minutes=4),
        recovered_at=None,
        **overrides,
    )


def fresh(session: Session, incident_id: int) -> Incident:
    session.expire_all()
    incident = session.get(Incident, incident_id)
    assert incident is not None
    return incident


def entries(session: Session, incident_id: int) -> list[IncidentUpdate]:
    session.expire_all()
    return list(
        session.scalars(
            select(IncidentUpdate)
            .where(IncidentUpdate.incident_id == incident_id)
            .order_by(IncidentUpdate.at, IncidentUpdate.id)
        )
    )


def click(client, incident: Incident, milestone: str, at: str = "", version: int | None = None):  # type: ignore[no-untyped-def]
    return client.post(
        f"/incidents/{incident.id}/milestone",
        data={
            "milestone": milestone,
            "at": at,
            "version": str(incident.version if version is None else version),
        },
    )


# ---- reading the time a responder types ------------------------------------------------

NOW = datetime(2026, 11, 30, 0, 10, tzinfo=UTC)  # 01:10 in Berlin


@pytest.mark.parametrize(
    ("typed", "zone", "expected"),
    [
        ("", BERLIN, NOW),
        ("now", None, NOW),
        ("-7m", None, NOW - timedelta(minutes=7)),
        ("-2h", BERLIN, NOW - timedelta(hours=2)),
        ("-1h30m", BERLIN, NOW - timedelta(minutes=90)),
        ("- 12 min", BERLIN, NOW - timedelta(minutes=12)),
        ("01:02", BERLIN, datetime(2026, 11, 30, 0, 2, tzinfo=UTC)),
        ("23:55", BERLIN, datetime(2026, 11, 29, 22, 55, tzinfo=UTC)),  # yesterday, in Berlin
        ("2026-11-29 18:30", BERLIN, datetime(2026, 11, 29, 17, 30, tzinfo=UTC)),
        ("2026-11-29T18:30", BERLIN, datetime(2026, 11, 29, 17, 30, tzinfo=UTC)),
        ("2026-11-29T18:30:00-05:00", None, datetime(2026, 11, 29, 23, 30, tzinfo=UTC)),
    ],
)
def test_a_typed_time_means_one_moment(
    typed: str, zone: ZoneInfo | None, expected: datetime
) -> None:
    assert read_when(typed, now=NOW, zone=zone) == expected


@pytest.mark.parametrize(
    ("typed", "zone", "says"),
    [
        ("soon", BERLIN, "relative such as -7m"),
        ("-", BERLIN, "relative such as -7m"),
        ("-7", BERLIN, "relative such as -7m"),
        ("25:00", BERLIN, "14:05"),
        ("2026-02-30 10:00", BERLIN, "14:05"),
        ("-99999m", BERLIN, "30 days back"),
        ("14:05", None, "ISO 8601 time with its offset"),  # the API has no zone to read it in
        ("2026-11-29T18:30", None, "ISO 8601 time with its offset"),
    ],
)
def test_a_time_that_means_nothing_says_what_to_type(
    typed: str, zone: ZoneInfo | None, says: str
) -> None:
    with pytest.raises(ValueError, match=says):
        read_when(typed, now=NOW, zone=zone)


# ---- the page --------------------------------------------------------------------------


def test_one_click_stamps_now_and_tells_the_timeline(client, session) -> None:  # type: ignore[no-untyped-def]
    incident = open_incident(session)
    before = utcnow()
    response = click(client, incident, "acknowledged")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/incidents/{incident.id}#respond")
    stamped = fresh(session, incident.id).acknowledged_at
    assert stamped is not None and before - timedelta(seconds=1) <= stamped <= utcnow()
    (entry,) = entries(session, incident.id)
    assert (entry.kind, entry.source, entry.author_label) == ("milestone", "web", client.user_email)
    assert entry.at == stamped and "Acknowledged" in entry.body
    page = client.get(f"/incidents/{incident.id}").text
    assert "Acknowledged" in page and "Mark mitigated" in page


def test_a_relative_time_stamps_that_many_minutes_ago(client, session) -> None:  # type: ignore[no-untyped-def]
    incident = open_incident(session)
    assert click(client, incident, "mitigated", at="-2m").status_code == 302
    mitigated = fresh(session, incident.id).mitigated_at
    assert abs((utcnow() - timedelta(minutes=2)) - mitigated) < timedelta(seconds=5)
    assert "entered as “-2m”" in entries(session, incident.id)[0].body


def test_recovered_marks_mitigated_too_and_the_incident_is_recovered(client, session) -> None:  # type: ignore[no-untyped-def]
    incident = open_incident(session)
    assert click(client, incident, "recovered").status_code == 302
    stored = fresh(session, incident.id)
    assert stored.recovered_at is not None and stored.mitigated_at == stored.recovered_at
    assert "(and mitigated)" in entries(session, incident.id)[0].body


def test_a_stale_click_is_a_conflict_and_overwrites_nothing(client, session) -> None:  # type: ignore[no-untyped-def]
    incident = open_incident(session)
    stale = incident.version
    assert click(client, incident, "acknowledged").status_code == 302  # someone else, first
    acknowledged = fresh(session, incident.id).acknowledged_at
    response = click(client, incident, "mitigated", version=stale)
    assert response.status_code == 422
    assert "Someone else saved a change" in response.text
    stored = fresh(session, incident.id)
    assert stored.mitigated_at is None and stored.acknowledged_at == acknowledged
    assert len(entries(session, incident.id)) == 1


def test_a_correction_before_the_previous_milestone_is_refused_and_named(client, session) -> None:  # type: ignore[no-untyped-def]
    incident = open_incident(session)
    response = click(client, incident, "acknowledged", at="-10m")  # detected 4 minutes ago
    assert response.status_code == 422
    assert "Acknowledged cannot be before Detected." in response.text
    assert 'value="-10m"' in response.text  # what was typed is still there to correct
    assert fresh(session, incident.id).acknowledged_at is None
    assert entries(session, incident.id) == []


def test_a_milestone_already_stamped_is_not_stamped_again(client, session) -> None:  # type: ignore[no-untyped-def]
    incident = open_incident(session)
    assert click(client, incident, "mitigated").status_code == 302
    first = fresh(session, incident.id)
    response = click(client, first, "mitigated", at="-1m")
    assert response.status_code == 422
    assert "is already mitigated" in response.text
    assert fresh(session, incident.id).mitigated_at == first.mitigated_at


def test_an_unreadable_time_or_milestone_is_refused_with_the_field(client, session) -> None:  # type: ignore[no-untyped-def]
    incident = open_incident(session)
    response = click(client, incident, "acknowledged", at="yesterday-ish")
    assert response.status_code == 422 and "At must be empty (now)" in response.text
    response = click(client, incident, "resolved")
    assert response.status_code == 422 and "Milestone must be one of" in response.text
    assert fresh(session, incident.id).acknowledged_at is None


def test_reopen_needs_a_reason_and_keeps_the_cleared_times_on_the_timeline(client, session) -> None:  # type: ignore[no-untyped-def]
    incident = open_incident(session)
    assert click(client, incident, "recovered").status_code == 302
    stored = fresh(session, incident.id)
    response = client.post(
        f"/incidents/{incident.id}/reopen", data={"reason": "  ", "version": stored.version}
    )
    assert response.status_code == 422 and "Reason is required." in response.text
    response = client.post(
        f"/incidents/{incident.id}/reopen",
        data={"reason": "Errors are back after the cache warmed.", "version": stored.version},
    )
    assert response.status_code == 302
    reopened = fresh(session, incident.id)
    assert reopened.recovered_at is None and reopened.mitigated_at is None
    last = entries(session, incident.id)[-1]
    assert last.kind == "reopened" and "Errors are back" in last.body and "recovered" in last.body


def test_a_viewer_cannot_stamp_a_milestone(app, session) -> None:  # type: ignore[no-untyped-def]
    incident = open_incident(session)
    viewer = signed_in_client(app, "viewer")
    assert click(viewer, incident, "acknowledged").status_code == 403
    assert viewer.post(f"/api/v1/incidents/{incident.id}/milestones", json={}).status_code == 403
    assert fresh(session, incident.id).acknowledged_at is None


# ---- the API ---------------------------------------------------------------------------


def test_the_api_stamps_a_milestone_with_a_relative_time(client, session) -> None:  # type: ignore[no-untyped-def]
    incident = open_incident(session)
    response = client.post(
        f"/api/v1/incidents/{incident.id}/milestones",
        json={"milestone": "mitigated", "at": "-1m", "version": incident.version},
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "mitigated" and body["version"] == incident.version + 1
    (entry,) = entries(session, incident.id)
    assert (entry.kind, entry.source) == ("milestone", "api")


def test_the_api_refuses_a_stale_version_a_bad_time_and_a_repeat(client, session) -> None:  # type: ignore[no-untyped-def]
    incident = open_incident(session)
    url = f"/api/v1/incidents/{incident.id}/milestones"
    stale = client.post(url, json={"milestone": "mitigated", "version": incident.version + 5})
    assert_error(stale, 409, "conflict")
    early = client.post(
        url, json={"milestone": "acknowledged", "at": "-1h", "version": incident.version}
    )
    assert assert_fields(early, "at") == {"at": ["Acknowledged cannot be before Detected."]}
    assert_fields(client.post(url, json={"milestone": "done", "version": 1}), "milestone")
    assert_fields(client.post(url, json={"milestone": "mitigated"}), "version")
    assert_fields(
        client.post(url, json={"milestone": "mitigated", "at": "14:05", "version": 1}), "at"
    )
    assert_fields(
        client.post(url, json={"milestone": "mitigated", "version": 1, "when": "now"}), "when"
    )
    assert client.post(url, json={"milestone": "mitigated", "version": 1}).status_code == 200
    repeat = client.post(url, json={"milestone": "mitigated", "version": 2})
    assert_error(repeat, 409, "conflict")
    assert "already mitigated" in repeat.get_json()["error"]["message"]
    future = client.post(
        url,
        json={
            "milestone": "recovered",
            "at": (utcnow() + timedelta(hours=1)).isoformat(),
            "version": 2,
        },
    )
    assert assert_fields(future, "at")["at"] == [
        "Recovered cannot be more than 5 minutes in the future."
    ]
    assert len(entries(session, incident.id)) == 1
    assert client.post("/api/v1/incidents/999999/milestones", json={}).status_code == 404
