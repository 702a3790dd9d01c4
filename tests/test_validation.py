"""Every validation rule of SPEC §2, through the HTML forms and through the JSON API.

A refused form answers 422 with the message on the page (next to its field);
a refused API call answers 422 with `error.fields` naming every offending
field. Either way nothing in the database changes and nothing answers 500.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from markupsafe import escape
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from catalog.incidents.models import Incident
from catalog.postmortems.service import save_postmortem
from catalog.vectors.service import get_vector, set_archived
from tests.factories import T0, api_payload, form_payload, iso, make_incident

TABLES = ("vectors", "incidents", "incident_vectors", "postmortems", "action_items")
FUTURE = "cannot be more than 5 minutes in the future."
BEFORE_2000 = "cannot be before 2000-01-01."
CONTROL = "contains control characters; only newline and tab are allowed."
NAIVE = "naive times are ambiguous"

Value = Any  # a datetime (UTC), None, a string, or a callable now -> datetime


def in_future(minutes: int) -> Callable[[datetime], datetime]:
    return lambda now: now + timedelta(minutes=minutes)


def resolve(value: Value, now: datetime) -> Value:
    return value(now) if callable(value) else value


def local(value: Value) -> str:
    """A datetime as a datetime-local input posts it (the display zone is UTC by default)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
    return value


def api_value(value: Value) -> Any:
    return iso(value) if isinstance(value, datetime) else value


def db_state(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to prove a refused request changed nothing."""
    session.rollback()
    state = {
        table: [tuple(r) for r in session.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2"))]
        for table in TABLES
    }
    session.rollback()  # end the read transaction: SQLite would keep its snapshot
    return state


def assert_api_refused(response: Any, expected: dict[str, str]) -> None:
    assert response.status_code == 422, response.get_data(as_text=True)[:500]
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["fields"]) == set(expected), error["fields"]
    for field, fragment in expected.items():
        assert any(fragment in m for m in error["fields"][field]), (field, error["fields"])


def assert_form_refused(response: Any, expected: dict[str, str]) -> None:
    assert response.status_code == 422, response.status_code
    page = response.get_data(as_text=True)
    assert "Please correct the" in page
    for field, fragment in expected.items():
        assert f'id="{field}-error"' in page, field
        assert str(escape(fragment)) in page, fragment


def assert_refused(response: Any, surface: str, expected: dict[str, str]) -> None:
    if surface.startswith("api"):
        assert_api_refused(response, expected)
    else:
        assert_form_refused(response, expected)


# ---- incidents ---------------------------------------------------------------

INCIDENT_SURFACES = ("form-new", "form-edit", "api-post", "api-patch")


def existing_incident(session: Session, surface: str) -> Any:
    return make_incident(session) if surface in ("form-edit", "api-patch") else None


def send_incident(client: Any, surface: str, incident: Any, fields: dict[str, Value]) -> Any:
    """Send `fields` on top of the factory's valid incident, over one surface."""
    now = datetime.now(UTC)
    fields = {k: resolve(v, now) for k, v in fields.items()}
    if surface.startswith("form"):
        data = form_payload(**{k: local(v) for k, v in fields.items()})
        if incident is None:
            return client.post("/incidents/new", data=data)
        data["version"] = str(incident.version)
        return client.post(f"/incidents/{incident.id}/edit", data=data)
    payload = {k: api_value(v) for k, v in fields.items()}
    if incident is None:
        return client.post("/api/v1/incidents", json=api_payload(**payload))
    return client.patch(
        f"/api/v1/incidents/{incident.id}", json={**payload, "version": incident.version}
    )


def check_incident_refused(
    client: Any, session: Session, surface: str, fields: dict[str, Value], expected: dict[str, str]
) -> None:
    incident = existing_incident(session, surface)
    before = db_state(session)
    response = send_incident(client, surface, incident, fields)
    assert_refused(response, surface, expected)
    assert db_state(session) == before


def check_incident_accepted(
    client: Any, session: Session, surface: str, fields: dict[str, Value]
) -> None:
    incident = existing_incident(session, surface)
    count = len(db_state(session)["incidents"])
    response = send_incident(client, surface, incident, fields)
    expected_status = {"form-new": 302, "form-edit": 302, "api-post": 201, "api-patch": 200}
    assert response.status_code == expected_status[surface], response.get_data(as_text=True)[:800]
    state = db_state(session)
    assert len(state["incidents"]) == count + (1 if incident is None else 0)


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


@pytest.mark.parametrize("value", ["2026-13-45T99:99", "yesterday", "2026-03-02 12:00:00+00:00"])
def test_form_refuses_unparsable_times(client, session, subtests, value):
    for surface in ["form-new", "form-edit"]:
        with subtests.test(surface=surface):
            check_incident_refused(
                client,
                session,
                surface,
                {"acknowledged_at": value},
                {"acknowledged_at": "Not a valid"},
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


# ---- incident text, enums and vectors ---------------------------------------------

LONG_TITLE, LONG_SHORT, LONG_MD = "t" * 201, "s" * 101, "m" * 100_001

INCIDENT_FIELD_CASES = [
    # (fields, the message the form and the API both give)
    pytest.param(
        {"title": LONG_TITLE},
        {"title": "Title must be at most 200 characters (got 201)."},
        id="title-201",
    ),
    pytest.param(
        {"service": LONG_SHORT},
        {"service": "Service must be at most 100 characters (got 101)."},
        id="service-101",
    ),
    pytest.param(
        {"team": LONG_SHORT},
        {"team": "Team must be at most 100 characters (got 101)."},
        id="team-101",
    ),
    pytest.param(
        {"summary": LONG_MD},
        {"summary": "Summary must be at most 100,000 characters (got 100,001)."},
        id="summary-100001",
    ),
    pytest.param(
        {"title": "   "},
        {"title": "Title is required."},
        id="title-blank",
    ),
    pytest.param(
        {"service": ""},
        {"service": "Service is required."},
        id="service-empty",
    ),
    pytest.param(
        {"title": "nul\x00byte"},
        {"title": "Title " + CONTROL},
        id="title-nul",
    ),
    pytest.param(
        {"title": "bell\x07"},
        {"title": "Title " + CONTROL},
        id="title-bell",
    ),
    pytest.param(
        {"title": "carriage\rreturn"},
        {"title": "Title " + CONTROL},
        id="title-lone-cr",
    ),
    pytest.param(
        {"service": "svc\x1b[31m"},
        {"service": "Service " + CONTROL},
        id="service-escape",
    ),
    pytest.param(
        {"team": "te\x7fam"},
        {"team": "Team " + CONTROL},
        id="team-del",
    ),
    pytest.param(
        {"summary": "line\x0bfeed"},
        {"summary": "Summary " + CONTROL},
        id="summary-vt",
    ),
    pytest.param(
        {"summary": "c1\x85control in the middle"},
        {"summary": "Summary " + CONTROL},
        id="summary-c1",
    ),
    pytest.param(
        {"severity": "SEV5"},
        {"severity": "Severity must be one of: SEV1, SEV2, SEV3, SEV4."},
        id="severity-sev5",
    ),
    pytest.param(
        {"severity": "sev1"},
        {"severity": "Severity must be one of: SEV1, SEV2, SEV3, SEV4."},
        id="severity-lowercase",
    ),
    pytest.param(
        {"detection_source": "pager"},
        {"detection_source": "Detection source must be one of: alert, customer, internal, other."},
        id="detection-source",
    ),
    pytest.param(
        {"vectors": []},
        {"vectors": "Link at least one failure vector."},
        id="no-vector",
    ),
    pytest.param(
        {"vectors": ["no-such-vector"]},
        {"vectors": "Unknown failure vector 'no-such-vector'."},
        id="unknown-vector",
    ),
    pytest.param(
        {"vectors": ["data-drift", "no-such-vector"]},
        {"vectors": "Unknown failure vector 'no-such-vector'."},
        id="one-unknown-vector",
    ),
]


@pytest.mark.parametrize(("fields", "expected"), INCIDENT_FIELD_CASES)
def test_incident_field_rules(client, session, subtests, fields, expected):
    """The form and the API give the same message for the same input."""
    for surface in INCIDENT_SURFACES:
        with subtests.test(surface=surface):
            check_incident_refused(client, session, surface, fields, expected)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"severity": 1}, {"severity": "Severity must be one of"}),
        ({"severity": None}, {"severity": "Severity must be one of"}),
        ({"severity": ["SEV1"]}, {"severity": "Severity must be one of"}),
        ({"detection_source": 3}, {"detection_source": "Detection source must be one of"}),
        ({"detection_source": False}, {"detection_source": "Detection source must be one of"}),
        ({"detection_source": []}, {"detection_source": "Detection source must be one of"}),
        ({"vectors": "data-drift"}, {"vectors": "Vectors must be a list of vector slugs."}),
        ({"vectors": [1, 2]}, {"vectors": "Vectors must be a list of vector slugs."}),
        ({"vectors": {"data-drift": True}}, {"vectors": "Vectors must be a list"}),
        ({"vectors": None}, {"vectors": "Vectors must be a list of vector slugs."}),
        ({"title": 42}, {"title": "Title must be text."}),
        ({"title": None}, {"title": "Title is required."}),
        ({"summary": ["a", "b"]}, {"summary": "Summary must be text."}),
        ({"team": {"name": "x"}}, {"team": "Team must be text."}),
        (
            {"title": "", "severity": "SEV9", "vectors": [], "detected_at": T0 - timedelta(days=1)},
            {
                "title": "Title is required.",
                "severity": "Severity must be one of",
                "vectors": "Link at least one failure vector.",
                "detected_at": "Detected cannot be before Started.",
            },
        ),
    ],
    ids=[
        "severity-int",
        "severity-null",
        "severity-list",
        "source-int",
        "source-false",
        "source-list",
        "vectors-string",
        "vectors-ints",
        "vectors-object",
        "vectors-null",
        "title-number",
        "title-null",
        "summary-list",
        "team-object",
        "every-field-named",
    ],
)
def test_api_incident_wrong_types(client, session, subtests, fields, expected):
    for surface in ["api-post", "api-patch"]:
        with subtests.test(surface=surface):
            check_incident_refused(client, session, surface, fields, expected)


def test_incident_text_limits_are_inclusive(client, session, subtests):
    for surface in INCIDENT_SURFACES:
        with subtests.test(surface=surface):
            fields = {
                "title": "t" * 200,
                "service": "s" * 100,
                "team": "e" * 100,
                "summary": ("line\twith tab\r\n" * 10_000)[:100_000],
            }
            check_incident_accepted(client, session, surface, fields)


def test_text_is_stripped_and_newlines_normalised(client, session):
    response = client.post(
        "/api/v1/incidents",
        json=api_payload(title="  padded  ", summary="one\r\ntwo\n\tthree"),
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["title"] == "padded"
    assert body["summary"] == "one\ntwo\n\tthree"


@pytest.fixture
def archived_vector(session):
    set_archived(session, get_vector(session, "model-poisoning"), True)
    session.commit()
    return "model-poisoning"


def test_a_new_incident_cannot_use_an_archived_vector(client, session, archived_vector, subtests):
    for surface in ["form-new", "api-post"]:
        with subtests.test(surface=surface):
            expected = {
                "vectors": "Failure vector 'model-poisoning' is archived; pick an active one."
            }
            check_incident_refused(
                client, session, surface, {"vectors": [archived_vector]}, expected
            )


@pytest.mark.parametrize("surface", ["form-edit", "api-patch"])
def test_an_incident_keeps_its_vector_once_archived(client, session, surface):
    incident = make_incident(session, vectors=["model-poisoning", "data-drift"])
    set_archived(session, get_vector(session, "model-poisoning"), True)
    session.commit()
    if surface == "form-edit":
        data = form_payload(
            title="Renamed", vectors=["model-poisoning", "data-drift"], version=incident.version
        )
        response = client.post(f"/incidents/{incident.id}/edit", data=data)
        assert response.status_code == 302
    else:
        response = client.patch(
            f"/api/v1/incidents/{incident.id}", json={"title": "Renamed", "version": 1}
        )
        assert response.status_code == 200
    session.expire_all()
    body = client.get(f"/api/v1/incidents/{incident.id}").get_json()
    assert body["title"] == "Renamed"
    assert body["vectors"] == ["data-drift", "model-poisoning"]


# ---- vectors -------------------------------------------------------------------

VECTOR_SURFACES = ("form-new", "form-edit", "api-post", "api-patch")
EDITED_SLUG = "data-drift"


def vector_fields(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "slug": "prompt-injection",
        "name": "Prompt injection",
        "category": "other",
        "description": "Instructions smuggled in retrieved text.",
        "detection": "Canary prompts; output classifiers.",
        "mitigation": "Strip instructions from retrieved text.",
        "mttd_target_minutes": 5,
        "mttr_target_minutes": 15,
        "severity": 7,
        "occurrence": 3,
        "detectability": 6,
    }
    data.update(overrides)
    return data


def send_vector(client: Any, session: Session, surface: str, fields: dict[str, Any]) -> Any:
    version = None
    if surface in ("form-edit", "api-patch"):
        version = get_vector(session, EDITED_SLUG).version
        session.rollback()
    if surface.startswith("form"):
        data = {k: "" if v is None else str(v) for k, v in vector_fields(**fields).items()}
        if version is None:
            return client.post("/vectors/new", data=data)
        if "slug" not in fields:
            data["slug"] = EDITED_SLUG
        if "name" not in fields:
            data["name"] = "Data drift"
        data["version"] = str(version)
        return client.post(f"/vectors/{EDITED_SLUG}/edit", data=data)
    if version is None:
        return client.post("/api/v1/vectors", json=vector_fields(**fields))
    return client.patch(f"/api/v1/vectors/{EDITED_SLUG}", json={**fields, "version": version})


def check_vector_refused(
    client: Any, session: Session, surface: str, fields: dict[str, Any], expected: dict[str, str]
) -> None:
    before = db_state(session)
    response = send_vector(client, session, surface, fields)
    assert_refused(response, surface, expected)
    assert db_state(session) == before


SLUG_FORMAT = "Slug may hold only lowercase letters, digits and single hyphens."

VECTOR_FIELD_CASES = [
    # (fields, the message the form and the API both give)
    *[
        pytest.param({"slug": bad}, {"slug": SLUG_FORMAT}, id=f"slug-{i}")
        for i, bad in enumerate(
            ["Has Spaces", "UPPER", "double--hyphen", "-leading", "trailing-", "snake_case", "ünï"]
        )
    ],
    pytest.param(
        {"slug": "s" * 101},
        {"slug": "Slug must be at most 100 characters (got 101)."},
        id="slug-101",
    ),
    pytest.param(
        {"slug": "token-limit-overflow"},
        {"slug": "A vector with this slug already exists."},
        id="slug-taken",
    ),
    pytest.param(
        {"name": "TOKEN-LIMIT overflow"},
        {"name": "A vector with this name already exists."},
        id="name-taken-any-case",
    ),
    pytest.param(
        {"name": "n" * 201},
        {"name": "Name must be at most 200 characters (got 201)."},
        id="name-201",
    ),
    pytest.param(
        {"name": ""},
        {"name": "Name is required."},
        id="name-empty",
    ),
    pytest.param(
        {"name": "tab\tok but \x00 not"},
        {"name": "Name " + CONTROL},
        id="name-nul",
    ),
    pytest.param(
        {"description": "d" * 100_001},
        {"description": "Description must be at most 100,000 characters (got 100,001)."},
        id="description-100001",
    ),
    pytest.param(
        {"detection": "alert\x1bfired"},
        {"detection": "Detection " + CONTROL},
        id="detection-escape",
    ),
    pytest.param(
        {"mitigation": "m" * 100_001},
        {"mitigation": "Mitigation must be at most 100,000 characters"},
        id="mitigation-100001",
    ),
    pytest.param(
        {"category": "bogus"},
        {"category": "Category must be one of: drift, token_overflow, throttling,"},
        id="category",
    ),
    pytest.param(
        {"mttd_target_minutes": 0},
        {"mttd_target_minutes": "MTTD target must be between 1 and 525,600."},
        id="mttd-zero",
    ),
    pytest.param(
        {"mttr_target_minutes": -5},
        {"mttr_target_minutes": "MTTR target must be between 1 and 525,600."},
        id="mttr-negative",
    ),
    pytest.param(
        {"mttr_target_minutes": 525_601},
        {"mttr_target_minutes": "MTTR target must be between 1 and 525,600."},
        id="mttr-over-a-year",
    ),
    *[
        pytest.param(
            {field: value},
            {field: f"FMEA {field} must be between 1 and 10."},
            id=f"fmea-{field}-{value}",
        )
        for field, value in (("severity", 0), ("occurrence", 11), ("detectability", 0))
    ],
]


@pytest.mark.parametrize(("fields", "expected"), VECTOR_FIELD_CASES)
def test_vector_field_rules(client, session, subtests, fields, expected):
    """The form and the API give the same message for the same input."""
    for surface in VECTOR_SURFACES:
        with subtests.test(surface=surface):
            check_vector_refused(client, session, surface, fields, expected)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"mttd_target_minutes": "five"}, {"mttd_target_minutes": "Not a valid integer value."}),
        ({"mttr_target_minutes": ""}, {"mttr_target_minutes": "MTTR target is required."}),
        ({"severity": "1.5"}, {"severity": "Not a valid integer value."}),
    ],
    ids=["mttd-text", "mttr-empty", "fmea-decimal"],
)
def test_vector_form_number_fields(client, session, subtests, fields, expected):
    for surface in ["form-new", "form-edit"]:
        with subtests.test(surface=surface):
            check_vector_refused(client, session, surface, fields, expected)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"mttd_target_minutes": "5"},
            {"mttd_target_minutes": "MTTD target must be a whole number."},
        ),
        ({"mttd_target_minutes": 5.5}, {"mttd_target_minutes": "must be a whole number."}),
        ({"mttr_target_minutes": True}, {"mttr_target_minutes": "must be a whole number."}),
        ({"mttr_target_minutes": None}, {"mttr_target_minutes": "MTTR target is required."}),
        ({"severity": "7"}, {"severity": "FMEA severity must be a whole number."}),
        ({"occurrence": False}, {"occurrence": "must be a whole number."}),
        ({"detectability": [5]}, {"detectability": "must be a whole number."}),
        ({"mttd_target_minutes": 10**30}, {"mttd_target_minutes": "must be between 1 and"}),
        ({"name": 5}, {"name": "Name must be text."}),
        ({"slug": ["a"]}, {"slug": "Slug must be text."}),
        ({"category": 3}, {"category": "Category must be one of"}),
        ({"category": False}, {"category": "Category must be one of"}),
        ({"description": {"md": "x"}}, {"description": "Description must be text."}),
        ({"archived": "yes"}, {"archived": "Archived must be true or false."}),
    ],
    ids=[
        "mttd-string",
        "mttd-float",
        "mttr-bool",
        "mttr-null",
        "fmea-string",
        "fmea-bool",
        "fmea-list",
        "mttd-huge",
        "name-number",
        "slug-list",
        "category-number",
        "category-false",
        "description-object",
        "archived-string",
    ],
)
def test_api_vector_wrong_types(client, session, subtests, fields, expected):
    for surface in ["api-post", "api-patch"]:
        with subtests.test(surface=surface):
            check_vector_refused(client, session, surface, fields, expected)


@pytest.mark.parametrize("surface", ["form-new", "api-post"])
def test_vector_limits_are_inclusive_and_fmea_optional(client, session, surface):
    fields = vector_fields(
        slug="a" * 100,
        name="N" * 200,
        description="d" * 100_000,
        mttd_target_minutes=1,
        mttr_target_minutes=525_600,
        severity=10,
        occurrence=1,
        detectability=None,
    )
    if surface == "form-new":
        data = {k: "" if v is None else str(v) for k, v in fields.items()}
        assert client.post("/vectors/new", data=data).status_code == 302
    else:
        response = client.post("/api/v1/vectors", json=fields)
        assert response.status_code == 201
        assert response.get_json()["rpn"] is None
    assert client.get("/api/v1/vectors/" + "a" * 100).get_json()["name"] == "N" * 200


def test_a_blank_form_slug_is_made_from_the_name(client, session):
    data = {k: str(v) for k, v in vector_fields(slug="", name="GPU memory: OOM kills").items()}
    response = client.post("/vectors/new", data=data)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/vectors/gpu-memory-oom-kills")


def test_a_vector_may_keep_its_own_slug_and_name(client, session, subtests):
    for surface in ["form-edit", "api-patch"]:
        with subtests.test(surface=surface):
            response = send_vector(
                client, session, surface, {"slug": EDITED_SLUG, "name": "DATA DRIFT", "severity": 4}
            )
            assert response.status_code in (200, 302)
            assert client.get(f"/api/v1/vectors/{EDITED_SLUG}").get_json()["name"] == "DATA DRIFT"


# ---- post-mortems ----------------------------------------------------------------

PM_SURFACES = ("form-new", "form-edit", "api-create", "api-replace")


def pm_form_data(fields: dict[str, Any], items: list[dict[str, Any]] | None = None) -> dict:
    data: dict[str, Any] = {
        "status": "draft",
        "root_cause_at": "",
        "root_cause": "A cache stampede.",
        "body": "## Summary\nIt broke.",
        "save": "Save post-mortem",
    }
    data.update({k: local(v) for k, v in fields.items()})
    for i, item in enumerate(items or []):
        for key, value in item.items():
            data[f"action_items-{i}-{key}"] = "" if value is None else str(value)
    return data


def api_pm_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def existing_postmortem(session: Session, surface: str) -> tuple[Any, int | None]:
    """The incident to write about and, for the edit surfaces, its post-mortem's version."""
    incident = make_incident(session)
    if surface not in ("form-edit", "api-replace"):
        return incident, None
    pm, _ = save_postmortem(
        session,
        incident,
        {"root_cause": "first draft", "action_items": [{"title": "Add a canary"}]},
    )
    session.commit()
    return incident, pm.version


def send_postmortem(
    client: Any,
    session: Session,
    surface: str,
    fields: dict[str, Value],
    items: list[Any] | None = None,
) -> tuple[Any, dict[str, list[tuple[Any, ...]]]]:
    """Write a post-mortem over one surface; returns the response and the state before it."""
    now = datetime.now(UTC)
    fields = {k: resolve(v, now) for k, v in fields.items()}
    if items is not None:
        items = [
            {k: resolve(v, now) for k, v in item.items()} if isinstance(item, dict) else item
            for item in items
        ]
    incident, version = existing_postmortem(session, surface)
    before = db_state(session)
    if surface.startswith("form"):
        data = pm_form_data(fields, items)
        if version is not None:
            data["version"] = str(version)
        response = client.post(f"/incidents/{incident.id}/postmortem", data=data)
    else:
        payload: dict[str, Any] = {"status": "draft", "root_cause": "A cache stampede."}
        payload.update({k: api_pm_value(v) for k, v in fields.items()})
        if items is not None:
            payload["action_items"] = [
                {k: api_pm_value(v) for k, v in item.items()} if isinstance(item, dict) else item
                for item in items
            ]
        if version is not None:
            payload["version"] = version
        response = client.put(f"/api/v1/incidents/{incident.id}/postmortem", json=payload)
    return response, before


PM_FIELD_CASES = [
    pytest.param(
        {"root_cause_at": T0 - timedelta(minutes=1)},
        {"root_cause_at": "Root cause identified cannot be before the incident started."},
        id="root-cause-before-start",
    ),
    pytest.param(
        {"root_cause_at": in_future(10)},
        {"root_cause_at": "Root cause identified " + FUTURE},
        id="root-cause-in-future",
    ),
    pytest.param(
        {"root_cause_at": datetime(1999, 12, 31, tzinfo=UTC)},
        {"root_cause_at": "Root cause identified " + BEFORE_2000},
        id="root-cause-before-2000",
    ),
    pytest.param(
        {"root_cause": "r" * 100_001},
        {"root_cause": "Root cause must be at most 100,000 characters (got 100,001)."},
        id="root-cause-100001",
    ),
    pytest.param(
        {"body": "b" * 100_001},
        {"body": "Body must be at most 100,000 characters (got 100,001)."},
        id="body-100001",
    ),
    pytest.param(
        {"body": "a\x00b"},
        {"body": "Body " + CONTROL},
        id="body-nul",
    ),
    pytest.param(
        {"root_cause": "esc\x1b"},
        {"root_cause": "Root cause " + CONTROL},
        id="root-cause-escape",
    ),
    pytest.param(
        {"status": "done"},
        {"status": "Status must be one of: draft, in_review, published."},
        id="status",
    ),
]


@pytest.mark.parametrize(("fields", "expected"), PM_FIELD_CASES)
def test_postmortem_field_rules(client, session, subtests, fields, expected):
    """The form and the API give the same message for the same input."""
    for surface in PM_SURFACES:
        with subtests.test(surface=surface):
            response, before = send_postmortem(client, session, surface, fields)
            assert_refused(response, surface, expected)
            assert db_state(session) == before


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"root_cause_at": "2026-03-02T13:00:00"}, {"root_cause_at": NAIVE}),
        ({"published_at": "2026-03-02T13:00"}, {"published_at": NAIVE}),
        ({"published_at": in_future(60)}, {"published_at": "Published " + FUTURE}),
        ({"root_cause_at": 12}, {"root_cause_at": "Must be an ISO 8601 timestamp string"}),
        ({"status": 1}, {"status": "Status must be one of: draft, in_review, published."}),
        ({"status": False}, {"status": "Status must be one of: draft, in_review, published."}),
        ({"body": ["x"]}, {"body": "Body must be text."}),
        ({"action_items": "fix it"}, {"action_items": "Action items must be a list."}),
        ({"action_items": {"title": "x"}}, {"action_items": "Action items must be a list."}),
    ],
    ids=[
        "root-cause-naive",
        "published-naive",
        "published-future",
        "root-cause-number",
        "status-number",
        "status-false",
        "body-list",
        "items-string",
        "items-object",
    ],
)
def test_api_postmortem_wrong_values(client, session, subtests, fields, expected):
    for surface in ["api-create", "api-replace"]:
        with subtests.test(surface=surface):
            response, before = send_postmortem(client, session, surface, fields)
            assert_api_refused(response, expected)
            assert db_state(session) == before


ITEM_CASES = [
    ({"owner": "sam"}, {"action_items.0.title": "Title is required."}),
    ({"title": "  "}, {"action_items.0.title": "Title is required."}),
    ({"title": None}, {"action_items.0.title": "Title is required."}),
    ({"title": 7}, {"action_items.0.title": "Title must be text."}),
    ({"title": "t" * 201}, {"action_items.0.title": "Title must be at most 200 characters"}),
    ({"title": "fix\x00it"}, {"action_items.0.title": "Title " + CONTROL}),
    ({"title": "x", "owner": "o" * 101}, {"action_items.0.owner": "at most 100 characters"}),
    *[
        (
            {"title": "x", "link": link},
            {"action_items.0.link": "Link must be an http:// or https:// URL."},
        )
        for link in (
            "ftp://example.com/runbook",
            "javascript:alert(1)",
            "example.com/runbook",
            "http://",
            "https://exa mple.com",
            "mailto:sre@example.com",
        )
    ],
    (
        {"title": "x", "link": "https://e.com/" + "p" * 2000},
        {"action_items.0.link": "at most 2,000"},
    ),
    ({"title": "x", "due_on": "2026-02-30"}, {"action_items.0.due_on": "Not a valid date"}),
    ({"title": "x", "due_on": 20260301}, {"action_items.0.due_on": "Must be a date string"}),
    ({"title": "x", "due_on": "1999-12-31"}, {"action_items.0.due_on": "between 2000-01-01 and"}),
    ({"title": "x", "done_at": in_future(10)}, {"action_items.0.done_at": "Done " + FUTURE}),
    ({"title": "x", "done_at": "2026-03-02T12:00"}, {"action_items.0.done_at": NAIVE}),
    ({"title": "x", "id": "1"}, {"action_items.0.id": "Id must be a whole number."}),
    ({"title": "x", "priority": "high"}, {"action_items.0.priority": "Unknown field."}),
]


@pytest.mark.parametrize(
    ("item", "expected"),
    ITEM_CASES,
    ids=[f"{i}-{next(iter(e)).rsplit('.', 1)[-1]}" for i, (_, e) in enumerate(ITEM_CASES)],
)
def test_api_action_item_rules(client, session, subtests, item, expected):
    for surface in ["api-create", "api-replace"]:
        with subtests.test(surface=surface):
            response, before = send_postmortem(
                client, session, surface, {}, [{"title": "ok"}, item]
            )
            assert_api_refused(response, {k.replace(".0.", ".1."): v for k, v in expected.items()})
            assert db_state(session) == before


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (["just a title"], {"action_items.0": "Each action item must be an object."}),
        ([{"title": "x", "id": 99_999}], {"action_items": "Unknown action item id 99999."}),
        ([{"title": "x"}] * 201, {"action_items": "At most 200 action items."}),
    ],
    ids=["not-an-object", "unknown-id", "too-many"],
)
def test_api_action_item_list_rules(client, session, subtests, items, expected):
    for surface in ["api-create", "api-replace"]:
        with subtests.test(surface=surface):
            response, before = send_postmortem(client, session, surface, {}, items)
            assert_api_refused(response, expected)
            assert db_state(session) == before


@pytest.mark.parametrize("link", ["javascript:alert(1)", "ftp://example.com/x", "www.example.com"])
def test_form_action_item_link_must_be_http(client, session, subtests, link):
    for surface in ["form-new", "form-edit"]:
        with subtests.test(surface=surface):
            response, before = send_postmortem(
                client, session, surface, {}, [{"title": "Add a canary", "link": link}]
            )
            assert response.status_code == 422
            page = response.get_data(as_text=True)
            assert "Link must be an http:// or https:// URL." in page
            assert db_state(session) == before


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"title": "t" * 201}, "Title must be at most 200 characters (got 201)."),
        ({"title": "x", "due_on": "2026-02-30"}, "Not a valid date value."),
        ({"title": "x\x07"}, "Title " + CONTROL),
    ],
    ids=["title-201", "bad-due-date", "title-control"],
)
def test_form_action_item_rules(client, session, subtests, item, message):
    for surface in ["form-new", "form-edit"]:
        with subtests.test(surface=surface):
            response, before = send_postmortem(client, session, surface, {}, [item])
            assert response.status_code == 422
            assert str(escape(message)) in response.get_data(as_text=True)
            assert db_state(session) == before


def test_form_owner_too_long_is_refused(client, session):
    response, before = send_postmortem(
        client, session, "form-new", {}, [{"title": "x", "owner": "o" * 101}]
    )
    assert response.status_code == 422
    assert db_state(session) == before


def test_form_row_with_input_but_no_title_is_refused_on_its_row(client, session):
    """Typed-in input is never dropped silently: a row with an owner but no title is an error."""
    response, before = send_postmortem(
        client,
        session,
        "form-new",
        {},
        [{"title": "Add a canary", "owner": "sam"}, {"title": "", "owner": "kim"}],
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Title is required." in page
    assert 'value="kim"' in page  # the input stays on the page
    assert db_state(session) == before


def test_form_remove_tick_deletes_an_item(client, session):
    response, _ = send_postmortem(
        client, session, "form-new", {}, [{"title": "Add a canary"}, {"title": "Page the owner"}]
    )
    assert response.status_code == 302
    session.expire_all()
    incident = session.scalars(select(Incident)).one()
    pm = incident.postmortem
    data = {
        "status": "draft",
        "version": str(pm.version),
        "body": pm.body,
        "save": "Save post-mortem",
    }
    for index, item in enumerate(pm.action_items):
        data[f"action_items-{index}-id"] = str(item.id)
        data[f"action_items-{index}-title"] = item.title
    data["action_items-0-remove"] = "y"
    response = client.post(f"/incidents/{incident.id}/postmortem", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    session.expire_all()
    assert [i.title for i in session.get(Incident, incident.id).postmortem.action_items] == [
        "Page the owner"
    ]


@pytest.mark.parametrize("surface", ["form-new", "api-create"])
def test_postmortem_accepts_root_cause_at_detection_and_valid_items(client, session, surface):
    items = [
        {
            "title": "t" * 200,
            "owner": "o" * 100,
            "due_on": date(2100, 12, 31),
            "link": "HTTPS://example.com/runbook?x=1#y",
        }
    ]
    detected = T0 + timedelta(minutes=4)  # the factory's; earlier is refused (issue 10)
    response, _ = send_postmortem(client, session, surface, {"root_cause_at": detected}, items)
    assert response.status_code in (201, 302), response.get_data(as_text=True)[:500]
    state = db_state(session)
    assert len(state["postmortems"]) == 1
    assert len(state["action_items"]) == 1


# ---- optimistic locking through the forms -----------------------------------------------

CONFLICT = "Someone else saved a change to this while you were editing."


@pytest.mark.parametrize("kind", ["incident", "vector", "postmortem"])
def test_a_stale_form_is_refused_and_keeps_the_input(client, session, kind):
    incident = make_incident(session)
    if kind == "incident":
        url = f"/incidents/{incident.id}/edit"
        data = form_payload(title="My careful rewrite")
        api_url, change = f"/api/v1/incidents/{incident.id}", {"team": "theirs"}
    elif kind == "vector":
        url = f"/vectors/{EDITED_SLUG}/edit"
        data = {k: "" if v is None else str(v) for k, v in vector_fields().items()}
        data.update(slug=EDITED_SLUG, name="Data drift", description="My careful rewrite")
        api_url, change = f"/api/v1/vectors/{EDITED_SLUG}", {"detection": "theirs"}
    else:
        save_postmortem(session, incident, {"root_cause": "first"})
        session.commit()
        url = f"/incidents/{incident.id}/postmortem"
        data = pm_form_data({"root_cause": "My careful rewrite"})
        api_url, change = f"/api/v1/incidents/{incident.id}/postmortem", {"root_cause": "theirs"}
    method = client.put if kind == "postmortem" else client.patch
    assert method(api_url, json={**change, "version": 1}).status_code == 200
    before = db_state(session)
    response = client.post(url, data={**data, "version": "1"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert CONFLICT in page
    assert "My careful rewrite" in page  # the user's input is kept
    assert 'name="version" type="hidden" value="2"' in page
    assert db_state(session) == before
    # saving the kept input again (now against version 2) overwrites with eyes open
    assert client.post(url, data={**data, "version": "2"}).status_code == 302
    assert "My careful rewrite" in json.dumps(client.get(api_url).get_json())


@pytest.mark.parametrize("kind", ["incident", "vector"])
def test_a_form_without_version_changes_nothing(client, session, kind):
    incident = make_incident(session)
    if kind == "incident":
        url, data = f"/incidents/{incident.id}/edit", form_payload(title="No version")
    else:
        url = f"/vectors/{EDITED_SLUG}/edit"
        data = {k: "" if v is None else str(v) for k, v in vector_fields().items()}
        data.update(slug=EDITED_SLUG, name="No version")
    before = db_state(session)
    assert client.post(url, data=data).status_code == 422
    assert db_state(session) == before


# ---- one pass: every problem at once, the same words on every surface ------------


def form_field_errors(page: str) -> dict[str, list[str]]:
    """The messages a page shows next to each input."""
    found = re.findall(r'<ul class="errors" id="([a-z_]+)-error">(.*?)</ul>', page, re.S)
    return {
        name: [html.unescape(m) for m in re.findall(r"<li>(.*?)</li>", items, re.S)]
        for name, items in found
    }


def test_the_form_and_the_api_name_every_problem_at_once_in_the_same_words(client, session):
    """An empty title, recovered before detected and a time in the future: one answer
    lists all three, through the form as through the API (no second round trip)."""
    future = datetime.now(UTC) + timedelta(days=1)
    bad = {"title": "", "recovered_at": T0 + timedelta(minutes=1), "acknowledged_at": future}
    before = db_state(session)

    api = client.post(
        "/api/v1/incidents", json=api_payload(**{k: api_value(v) for k, v in bad.items()})
    )
    assert api.status_code == 422
    api_fields = api.get_json()["error"]["fields"]
    form = client.post("/incidents/new", data=form_payload(**{k: local(v) for k, v in bad.items()}))
    assert form.status_code == 422
    page = form.get_data(as_text=True)

    assert api_fields == {
        "title": ["Title is required."],
        "acknowledged_at": ["Acknowledged cannot be more than 5 minutes in the future."],
        "recovered_at": ["Recovered cannot be before Detected."],
    }
    assert form_field_errors(page) == api_fields
    summary = page[
        page.index('id="error-summary"') : page.index("</div>", page.index('id="error-summary"'))
    ]
    for field, messages in api_fields.items():
        assert f'href="#{field}"' in summary and str(escape(messages[0])) in summary
    assert db_state(session) == before


def test_an_unreadable_time_is_reported_with_every_other_problem(client, session):
    """A time the server cannot read (a hand-made post, a bad API string) does not hide
    the rest: the title and the time are named together."""
    page = client.post(
        "/incidents/new", data=form_payload(title="", started_at="yesterday")
    ).get_data(as_text=True)
    assert form_field_errors(page) == {
        "title": ["Title is required."],
        "started_at": ["Not a valid datetime value."],
    }
    api = client.post("/api/v1/incidents", json=api_payload(title="", started_at="yesterday"))
    assert api.status_code == 422
    fields = api.get_json()["error"]["fields"]
    assert set(fields) == {"title", "started_at"}
    assert fields["title"] == ["Title is required."]


def test_a_post_mortem_names_every_problem_at_once_on_the_form_and_the_api(
    client, session, subtests
):
    """A root cause before the incident began, a row with no title and a row whose due
    date does not exist: one answer, every problem named where it is."""
    fields = {"root_cause_at": T0 - timedelta(minutes=1)}
    items = [{"title": "", "owner": "kim"}, {"title": "Add a canary", "due_on": "2026-02-30"}]
    expected = {
        "root_cause_at": "Root cause identified cannot be before the incident started.",
        "action_items.0.title": "Title is required.",
        "action_items.1.due_on": "date",
    }
    for surface in ["form-new", "api-create"]:
        with subtests.test(surface=surface):
            response, before = send_postmortem(client, session, surface, fields, items)
            assert response.status_code == 422
            if surface.startswith("api"):
                assert_api_refused(response, expected)
            else:
                page = response.get_data(as_text=True)
                summary = page[page.index('id="error-summary"') :]
                summary = summary[: summary.index("</div>")]
                assert "Root cause identified cannot be before the incident started." in summary
                assert "Title is required." in summary
                assert "Not a valid date value." in summary
                assert 'href="#action_items-0-title"' in summary
            assert db_state(session) == before
