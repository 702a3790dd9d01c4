"""Validation of an incident's timestamps (SPEC §2), through the HTML forms and the JSON API.

Their order, the 2000-01-01 floor and the limit of five minutes into the future; required
and unparsable times; naive and malformed timestamps on the API, whose offsets are turned
into UTC; form times read in the display zone. A refused form answers 422 with the message
next to its field, a refused API call 422 with `error.fields` naming every offending
field; either way nothing in the database changes and nothing answers 500.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from helpers.validation import (
    BEFORE_2000,
    FUTURE,
    INCIDENT_SURFACES,
    NAIVE,
    assert_form_refused,
    check_incident_accepted,
    check_incident_refused,
    db_state,
    in_future,
)

from tests.factories import T0, api_payload, form_payload, make_incident

TIMESTAMP_ORDER_CASES = [
    pytest.param(
        {"detected_at": T0 - timedelta(minutes=1)},
        {"detected_at": "Detected cannot be before Started."},
        id="detected-before-started",
    ),
    pytest.param(
        {"acknowledged_at": T0 + timedelta(minutes=3)},
        {"acknowledged_at": "Acknowledged cannot be before Detected."},
        id="acknowledged-before-detected",
    ),
    pytest.param(
        {"mitigated_at": T0 - timedelta(minutes=1)},
        {"mitigated_at": "Mitigated cannot be before Started."},
        id="mitigated-before-started",
    ),
    pytest.param(
        {"mitigated_at": T0 + timedelta(minutes=10), "recovered_at": T0 + timedelta(minutes=8)},
        {"recovered_at": "Recovered cannot be before Mitigated."},
        id="recovered-before-mitigated",
    ),
    pytest.param(
        {"recovered_at": T0 + timedelta(minutes=2)},
        {"recovered_at": "Recovered cannot be before Detected."},
        id="recovered-before-detected",
    ),
    pytest.param(
        {"started_at": in_future(10), "detected_at": in_future(10), "recovered_at": None},
        {"started_at": FUTURE, "detected_at": FUTURE},
        id="started-in-future",
    ),
    pytest.param(
        {"detected_at": in_future(10), "recovered_at": None},
        {"detected_at": FUTURE},
        id="detected-in-future",
    ),
    pytest.param(
        {"acknowledged_at": in_future(10)},
        {"acknowledged_at": FUTURE},
        id="acknowledged-in-future",
    ),
    pytest.param(
        {"mitigated_at": in_future(10), "recovered_at": None},
        {"mitigated_at": FUTURE},
        id="mitigated-in-future",
    ),
    pytest.param({"recovered_at": in_future(10)}, {"recovered_at": FUTURE}, id="recovered-future"),
    pytest.param(
        {"started_at": datetime(1999, 12, 31, 23, 59, tzinfo=UTC)},
        {"started_at": BEFORE_2000},
        id="started-before-2000",
    ),
    pytest.param(
        {
            "started_at": datetime(1999, 12, 31, 23, 0, tzinfo=UTC),
            "detected_at": datetime(1999, 12, 31, 23, 30, tzinfo=UTC),
        },
        {"started_at": BEFORE_2000, "detected_at": BEFORE_2000},
        id="started-and-detected-before-2000",
    ),
    pytest.param(
        {"acknowledged_at": datetime(1999, 6, 1, tzinfo=UTC)},
        {"acknowledged_at": BEFORE_2000},
        id="acknowledged-before-2000",
    ),
]


@pytest.mark.parametrize(("fields", "expected"), TIMESTAMP_ORDER_CASES)
def test_incident_timestamp_rules(client, session, subtests, fields, expected):
    for surface in INCIDENT_SURFACES:
        with subtests.test(surface=surface):
            check_incident_refused(client, session, surface, fields, expected)


TIMESTAMP_OK_CASES = [
    pytest.param(
        {
            "started_at": T0,
            "detected_at": T0,
            "acknowledged_at": T0,
            "mitigated_at": T0,
            "recovered_at": T0,
        },
        id="all-equal",
    ),
    pytest.param(
        {"started_at": datetime(2000, 1, 1, tzinfo=UTC), "detected_at": T0}, id="exactly-2000"
    ),
    pytest.param(
        {"mitigated_at": T0 + timedelta(minutes=1)}, id="mitigated-before-detected-is-allowed"
    ),
    pytest.param({"detected_at": in_future(3), "recovered_at": None}, id="3-min-ahead-is-allowed"),
    pytest.param({"recovered_at": None, "mitigated_at": None}, id="open"),
]


@pytest.mark.parametrize("fields", TIMESTAMP_OK_CASES)
def test_incident_timestamps_on_the_boundaries_are_accepted(client, session, subtests, fields):
    for surface in INCIDENT_SURFACES:
        with subtests.test(surface=surface):
            check_incident_accepted(client, session, surface, fields)


@pytest.mark.parametrize("field", ["started_at", "detected_at"])
def test_started_and_detected_are_required(client, session, subtests, field):
    for surface in INCIDENT_SURFACES:
        with subtests.test(surface=surface):
            label = {"started_at": "Started", "detected_at": "Detected"}[field]
            check_incident_refused(
                client, session, surface, {field: None}, {field: f"{label} is required."}
            )


@pytest.mark.parametrize("value", ["2026-13-45T99:99", "yesterday", "25:00", "-5", "-99999m"])
def test_form_refuses_unparsable_times(client, session, subtests, value):
    """A time input takes what a person types (catalog.when); anything else is named."""
    message = "Acknowledged must be a time such as 14:05 or 2026-11-30 14:05 in your zone"
    if value == "-99999m":
        message = "Acknowledged can reach at most 30 days back"
    for surface in ["form-new", "form-edit"]:
        with subtests.test(surface=surface):
            check_incident_refused(
                client,
                session,
                surface,
                {"acknowledged_at": value},
                {"acknowledged_at": message},
            )


@pytest.mark.parametrize(
    "field", ["started_at", "detected_at", "acknowledged_at", "mitigated_at", "recovered_at"]
)
def test_api_refuses_naive_timestamps(client, session, subtests, field):
    for surface in ["api-post", "api-patch"]:
        with subtests.test(surface=surface):
            naive = (T0 + timedelta(minutes=5)).replace(tzinfo=None).isoformat()
            check_incident_refused(client, session, surface, {field: naive}, {field: NAIVE})


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("not a time", "Not a valid ISO 8601 timestamp"),
        ("", "Not a valid ISO 8601 timestamp"),
        ("2026-02-30T10:00:00Z", "Not a valid ISO 8601 timestamp"),
        (1772452800, "Must be an ISO 8601 timestamp string"),
        (["2026-03-02T12:00:00Z"], "Must be an ISO 8601 timestamp string"),
        ({"at": "2026-03-02T12:00:00Z"}, "Must be an ISO 8601 timestamp string"),
        ("2026-03-02T12:00:00." + "0" * 60 + "Z", "Timestamp is too long."),
    ],
)
def test_api_refuses_malformed_timestamps(client, session, subtests, value, fragment):
    for surface in ["api-post", "api-patch"]:
        with subtests.test(surface=surface):
            check_incident_refused(
                client, session, surface, {"mitigated_at": value}, {"mitigated_at": fragment}
            )


def test_api_offsets_are_converted_to_utc(client, session):
    payload = api_payload(
        started_at="2026-03-02T14:00:00+02:00",
        detected_at="2026-03-02T07:04:00-05:00",
        recovered_at="2026-03-02T12:16:00+00:00",
    )
    response = client.post("/api/v1/incidents", json=payload)
    assert response.status_code == 201
    body = response.get_json()
    assert body["started_at"] == "2026-03-02T12:00:00Z"
    assert body["detected_at"] == "2026-03-02T12:04:00Z"
    assert body["ttd_seconds"] == 240


@pytest.fixture
def kolkata(app_config, request):
    """A client whose display zone is Asia/Kolkata (UTC+05:30)."""
    app_config["TIMEZONE"] = "Asia/Kolkata"
    return request.getfixturevalue("client"), request.getfixturevalue("session")


def test_form_times_are_read_in_the_display_zone(kolkata):
    client, session = kolkata
    data = form_payload(
        started_at="2026-03-02T17:30",
        detected_at="2026-03-02T17:34",
        recovered_at="2026-03-02T17:46",
    )
    response = client.post("/incidents/new", data=data)
    assert response.status_code == 302
    incident_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    body = client.get(f"/api/v1/incidents/{incident_id}").get_json()
    assert body["started_at"] == "2026-03-02T12:00:00Z"
    assert body["recovered_at"] == "2026-03-02T12:16:00Z"


def test_form_future_limit_uses_the_display_zone(kolkata):
    """Local now + 2 min is fine in UTC+05:30; read as UTC it would be 5½ h ahead."""
    client, session = kolkata
    local_now = datetime.now(UTC) + timedelta(hours=5, minutes=30)
    soon = (local_now + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M")
    later = (local_now + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M")
    start = (local_now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    ok = client.post(
        "/incidents/new", data=form_payload(started_at=start, detected_at=soon, recovered_at="")
    )
    assert ok.status_code == 302
    before = db_state(session)
    refused = client.post(
        "/incidents/new", data=form_payload(started_at=start, detected_at=later, recovered_at="")
    )
    assert_form_refused(refused, {"detected_at": FUTURE})
    assert db_state(session) == before


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "America/New_York"])
def test_form_years_off_the_calendar_are_refused_not_500(app_config, request, zone):
    """Year 1 east of UTC and year 9999 west of it cannot even be converted to UTC."""
    app_config["TIMEZONE"] = zone
    client, session = request.getfixturevalue("client"), request.getfixturevalue("session")
    incident = make_incident(session)
    before = db_state(session)
    for value, message in (("0001-01-01T00:00", BEFORE_2000), ("9999-12-31T23:59", FUTURE)):
        data = form_payload(started_at=value, detected_at=value, recovered_at="")
        assert_form_refused(
            client.post("/incidents/new", data=data),
            {"started_at": message, "detected_at": message},
        )
        pm = {"status": "draft", "root_cause_at": value, "save": "Save post-mortem"}
        assert_form_refused(
            client.post(f"/incidents/{incident.id}/postmortem", data=pm),
            {"root_cause_at": message},
        )
    assert db_state(session) == before
