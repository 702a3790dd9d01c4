"""Validation of an incident's text, enums and vectors (SPEC §2), through the forms and the API.

Text limits (inclusive) and control characters, required fields, severity and detection
source, wrong JSON types, and the vectors an incident links: at least one, known, and not
archived for a new incident. The form and the API give the same message for the same
input; a refused request changes nothing in the database and nothing answers 500.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers.validation import (
    CONTROL,
    INCIDENT_SURFACES,
    check_incident_accepted,
    check_incident_refused,
)

from catalog.vectors.service import get_vector, set_archived
from tests.factories import T0, api_payload, form_payload, make_incident

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
