"""Incidents that other systems open name their cause (issue 14, part 1).

An Alertmanager alert's `release` label names the version of its service's release: the
newest deployment of that version at or before the alert began. One that names no known
release still opens its incident (Alertmanager does not resend a refused delivery) and
says so in the summary. A Statuspage import's `release:PATTERN` rule finds the version in
an incident's name or updates (the pattern's first group), bounded like every rule.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from factories import make_release
from sqlalchemy import select
from test_alertmanager import HOOK, STARTS, alert, delivery
from test_statuspage import small_document

from catalog.errors import ValidationError
from catalog.imports.statuspage import VectorRule, import_statuspage, parse_rules
from catalog.incidents.models import Incident


def _labels(**extra: str) -> dict[str, str]:
    return {
        "alertname": "ChatLatencyHigh",
        "failure_vector": "dependency-latency",
        "severity": "warning",
        "service": "chat-api",
        **extra,
    }


def test_an_alerts_release_label_names_the_release_deployed_before_it(client, session):
    older = make_release(session, tag="v2.4.1", deployed_at=STARTS - timedelta(days=3))
    newer = make_release(session, tag="v2.4.1", deployed_at=STARTS - timedelta(hours=1))
    make_release(session, tag="v2.4.1", deployed_at=STARTS + timedelta(minutes=30))  # after
    response = client.post(HOOK, json=delivery(alert(labels=_labels(release="v2.4.1"))))
    assert response.status_code == 200, response.get_json()
    [incident] = session.scalars(select(Incident)).all()
    assert incident.release_id == newer.id != older.id


def test_an_unknown_release_label_opens_the_incident_and_says_so(client, session):
    make_release(session, tag="v2.4.1", service="search")  # another service's
    response = client.post(HOOK, json=delivery(alert(labels=_labels(release="v2.4.1"))))
    assert response.status_code == 200, response.get_json()
    [incident] = session.scalars(select(Incident)).all()
    assert incident.release_id is None
    assert "no release of `chat-api` with that version" in incident.summary


def test_a_statuspage_release_rule_finds_the_version_in_the_updates(session):
    release = make_release(session, tag="v2.4.1", deployed_at=datetime(2026, 3, 2, 11, tzinfo=UTC))
    document = small_document(
        {
            "incident_updates": [
                {
                    "status": "identified",
                    "body": "Caused by deploy v2.4.1; rolling back.",
                    "created_at": "2026-03-02T12:06:00Z",
                }
            ]
        },
        {"id": "other", "name": "Errors after deploy v9.9.9"},  # no such release: no link
    )
    rules = parse_rules(["release:deploy (v[0-9.]+)", "errors=data-drift"])
    summary = import_statuspage(session, document, default_vector="dependency-latency", rules=rules)
    session.commit()
    assert summary.releases_linked == 1
    assert "1 linked to the release that caused them" in summary.describe()
    linked = session.scalars(select(Incident).order_by(Incident.external_id)).all()
    assert {i.external_id: i.release_id for i in linked} == {"r0": release.id, "other": None}


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("release:deploy v[0-9.]+", "needs a group"),
        ("release:", "use PATTERN=vector-slug or release:PATTERN"),
        ("release:((a+)+)+(b)", "too complex"),
        ("release:(unclosed", "bad pattern"),
    ],
)
def test_a_bad_release_rule_is_refused_before_anything_is_read(rule, words):
    with pytest.raises(ValidationError) as caught:
        VectorRule.parse(rule)
    assert words in caught.value.fields["vector_rule"][0]


def test_release_rules_go_through_the_api_too(client, session):
    import json

    release = make_release(session, tag="r7", deployed_at=datetime(2026, 3, 2, 11, tzinfo=UTC))
    body = json.dumps(small_document({"name": "Errors after r7"})).encode()
    response = client.post(
        "/api/v1/imports?format=statuspage&vector=data-drift&vector_rule=release:after%20(r%5B0-9%5D%2B)",
        data=body,
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["releases_linked"] == 1
    assert session.scalars(select(Incident.release_id)).one() == release.id
