"""The Alertmanager webhook: alerts open and recover incidents, idempotently.

Alertmanager repeats deliveries (every group_interval while firing), batches
alerts and can deliver a resolution before the firing it ends; none of that may
duplicate an incident or move one of its timestamps backwards.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from helpers.accounts import signed_in_client
from sqlalchemy import func, select

from catalog.incidents.models import Incident

HOOK = "/api/v1/hooks/alertmanager"
NOW = datetime.now(UTC).replace(microsecond=0)
STARTS = NOW - timedelta(hours=2)
ENDS = NOW - timedelta(hours=1)


def z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def alert(status: str = "firing", fingerprint: str = "a1b2c3d4e5f60718", **overrides):  # type: ignore[no-untyped-def]
    body = {
        "status": status,
        "labels": {
            "alertname": "VectorDBLatencyHigh",
            "failure_vector": "dependency-latency",
            "severity": "critical",
            "job": "rag-search",
            "team": "search",
        },
        "annotations": {
            "summary": "Vector DB p99 above 2 s",
            "description": "p99 of retrieval calls is 4 s.",
        },
        "startsAt": z(STARTS),
        "endsAt": z(ENDS) if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
        "fingerprint": fingerprint,
    }
    body.update(overrides)
    return body


def delivery(*alerts):  # type: ignore[no-untyped-def]
    return {
        "version": "4",
        "groupKey": '{}:{alertname="VectorDBLatencyHigh"}',
        "truncatedAlerts": 0,
        "status": alerts[0]["status"],
        "receiver": "failure-catalog",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


@pytest.fixture
def hook(app):  # type: ignore[no-untyped-def]
    """An editor's client, as Alertmanager would be configured with an editor's token."""
    client = signed_in_client(app, "editor", "alertmanager@example.com")

    def post(*alerts, status=200):  # type: ignore[no-untyped-def]
        response = client.post(HOOK, json=delivery(*alerts))
        assert response.status_code == status, response.get_json()
        return response.get_json()

    return post


def incidents(session) -> list[Incident]:  # type: ignore[no-untyped-def]
    session.expire_all()
    return list(session.scalars(select(Incident).order_by(Incident.id)))


def test_a_firing_alert_opens_an_incident(hook, session):
    before = datetime.now(UTC)
    result = hook(alert())
    [incident] = incidents(session)
    assert result == {"created": [incident.id], "updated": [], "unchanged": []}
    assert incident.title == "Vector DB p99 above 2 s"
    assert incident.severity == "SEV1"  # critical
    assert incident.service == "rag-search"  # from job
    assert incident.team == "search"
    assert incident.vector_slugs == ["dependency-latency"]
    assert incident.detection_source == "alert"
    assert incident.started_at == STARTS
    assert before - timedelta(seconds=1) <= incident.detected_at <= datetime.now(UTC)
    assert incident.recovered_at is None
    assert "p99 of retrieval calls is 4 s." in incident.summary
    assert (incident.external_source, incident.external_id) == (
        "alertmanager",
        f"a1b2c3d4e5f60718@{z(STARTS)}",
    )


def test_repeated_firing_deliveries_change_nothing(hook, session):
    hook(alert())
    [first] = incidents(session)
    detected = first.detected_at
    for _ in range(3):
        assert hook(alert()) == {"created": [], "updated": [], "unchanged": [first.id]}
    [again] = incidents(session)
    assert again.detected_at == detected and again.version == first.version


def soon(minutes: float) -> datetime:
    """A resolution time after the firing alert's detection (now), within the 5-minute rule."""
    return datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=minutes)


def test_the_resolved_alert_recovers_it_and_never_moves_it_back(hook, session):
    hook(alert())
    [incident] = incidents(session)
    ends = soon(1)
    resolved = alert("resolved", endsAt=z(ends))
    assert hook(resolved) == {"created": [], "updated": [incident.id], "unchanged": []}
    assert incidents(session)[0].recovered_at == ends
    assert hook(resolved)["unchanged"] == [incident.id]  # repeated
    earlier = alert("resolved", endsAt=z(ends - timedelta(minutes=10)))
    assert hook(earlier)["unchanged"] == [incident.id]  # out of order: not backwards
    assert incidents(session)[0].recovered_at == ends
    later = alert("resolved", endsAt=z(ends + timedelta(minutes=2)))
    assert hook(later)["updated"] == [incident.id]  # it flapped and resolved again later
    assert incidents(session)[0].recovered_at == ends + timedelta(minutes=2)


def test_a_resolution_that_predates_detection_gives_a_zero_ttr_not_a_negative_one(hook, session):
    hook(alert())
    hook(alert("resolved"))  # endsAt an hour ago, but we only heard of the alert now
    [incident] = incidents(session)
    assert incident.recovered_at == incident.detected_at


def test_a_resolution_before_its_firing_opens_it_recovered_and_stays_so(hook, session):
    """Delivered out of order: detected is clamped to endsAt, so TTR is not negative."""
    hook(alert("resolved"))
    [incident] = incidents(session)
    assert incident.recovered_at == ENDS
    assert STARTS <= incident.detected_at <= ENDS
    assert hook(alert())["unchanged"] == [incident.id]  # the late firing does not reopen it
    [same] = incidents(session)
    assert same.recovered_at == ENDS


def test_a_batch_with_the_firing_and_the_resolution_is_one_incident(hook, session):
    ends = soon(1)
    result = hook(alert(), alert("resolved", endsAt=z(ends)), alert())
    [incident] = incidents(session)
    assert result == {
        "created": [incident.id],
        "updated": [incident.id],
        "unchanged": [incident.id],
    }
    assert incident.recovered_at == ends


def test_the_same_labels_firing_again_later_is_a_new_incident(hook, session):
    hook(alert(), alert("resolved"))
    again = alert(startsAt=z(NOW - timedelta(minutes=20)))
    created = hook(again)["created"]
    assert len(created) == 1 and len(incidents(session)) == 2


def test_different_fingerprints_in_one_delivery(hook, session):
    result = hook(alert(fingerprint="aaaa"), alert(fingerprint="bbbb"))
    assert len(result["created"]) == 2 and len(incidents(session)) == 2


@pytest.mark.parametrize(
    "labels, severity, service",
    [
        ({"severity": "warning", "service": "chat-api"}, "SEV3", "chat-api"),
        ({"severity": "info"}, "SEV4", "rag-search"),
        ({"severity": "SEV2"}, "SEV2", "rag-search"),
        ({"severity": "whatever"}, "SEV3", "rag-search"),
        ({"job": ""}, "SEV1", "unknown"),
    ],
)
def test_labels_map_to_severity_and_service(hook, session, labels, severity, service):
    base = alert()["labels"]
    hook(alert(labels={**base, **labels}))
    [incident] = incidents(session)
    assert (incident.severity, incident.service) == (severity, service)


@pytest.fixture
def default_vector(app_config):  # type: ignore[no-untyped-def]
    app_config["ALERT_DEFAULT_VECTOR"] = "hardware-throttling"
    return app_config


def test_without_a_vector_label_the_configured_default_applies(default_vector, hook, session):
    labels = {k: v for k, v in alert()["labels"].items() if k != "failure_vector"}
    hook(alert(labels=labels))
    assert incidents(session)[0].vector_slugs == ["hardware-throttling"]


def test_without_a_vector_label_or_default_it_says_so(hook, session):
    labels = {k: v for k, v in alert()["labels"].items() if k != "failure_vector"}
    body = hook(alert(labels=labels), status=422)
    assert (
        "CATALOG_ALERT_DEFAULT_VECTOR"
        in body["error"]["fields"]["alerts[0].labels.failure_vector"][0]
    )


def test_one_bad_alert_rejects_the_whole_delivery(hook, session):
    bad = alert(fingerprint="bbbb", labels={**alert()["labels"], "failure_vector": "no-such"})
    body = hook(alert(fingerprint="aaaa"), bad, status=422)
    assert list(body["error"]["fields"]) == ["alerts[1].labels.failure_vector"]
    assert incidents(session) == []  # the good first alert was not kept either


@pytest.mark.parametrize(
    "change, field",
    [
        ({"status": "pending"}, "alerts[0].status"),
        ({"fingerprint": "not hex!"}, "alerts[0].fingerprint"),
        ({"fingerprint": 12}, "alerts[0].fingerprint"),
        ({"startsAt": None}, "alerts[0].startsAt"),
        ({"startsAt": "yesterday"}, "alerts[0].startsAt"),
        ({"startsAt": "2026-01-01T10:00:00"}, "alerts[0].startsAt"),  # naive
        ({"status": "resolved", "endsAt": "0001-01-01T00:00:00Z"}, "alerts[0].endsAt"),
        ({"labels": {"severity": 1}}, "alerts[0].labels"),
        ({"labels": ["a"]}, "alerts[0].labels"),
        ({"annotations": "x"}, "alerts[0].annotations"),
        ({"generatorURL": 5}, "alerts[0].generatorURL"),
        ({"startsAt": z(NOW + timedelta(hours=1))}, "alerts[0].startsAt"),  # in the future
        ({"startsAt": "1999-12-31T23:00:00Z"}, "alerts[0].startsAt"),  # before 2000
        ({"annotations": {"summary": "bad\x07bell"}}, "alerts[0].annotations.summary"),
    ],
)
def test_bad_alerts_are_named_and_change_nothing(hook, session, change, field):
    body = hook(alert(**change), status=422)
    assert field in body["error"]["fields"], body
    assert incidents(session) == []


@pytest.mark.parametrize(
    "payload", [{}, {"alerts": []}, {"alerts": "x"}, {"alerts": [1]}, {"alerts": [{}] * 1001}]
)
def test_deliveries_without_usable_alerts_are_refused(app, session, payload):
    client = signed_in_client(app, "editor", "am@example.com")
    response = client.post(HOOK, json=payload)
    assert response.status_code == 422
    assert session.scalar(select(func.count()).select_from(Incident)) == 0


def test_not_json_is_a_400(app):
    client = signed_in_client(app, "editor", "am@example.com")
    response = client.post(HOOK, data="alerts", content_type="text/plain")
    assert response.status_code == 400


def test_only_editors_tokens_are_accepted(app, anon_client):
    assert anon_client.post(HOOK, json=delivery(alert())).status_code == 401
    viewer = signed_in_client(app, "viewer", "viewer-am@example.com")
    assert viewer.post(HOOK, json=delivery(alert())).status_code == 403


def test_alert_incidents_count_in_the_metrics_at_once(hook, client):
    before = client.get("/api/v1/metrics").get_json()["groups"][0]["count"]
    hook(alert(), alert("resolved"))
    after = client.get("/api/v1/metrics").get_json()["groups"][0]
    assert after["count"] == before + 1
    assert after["ttr"]["max"] is not None
