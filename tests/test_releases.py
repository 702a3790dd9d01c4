"""Releases (issue 14, part 1): a deployment of a service, its guardrails and how it ended.

The contract: the API and the pages record, change and delete releases with the same
rules and messages; a rollback is two moments, so its time is measured; an incident may
name the release that caused it, and such a release cannot be deleted; every release is
audited and carried by the backup (format version 3), which still restores version 2.
Every refusal names its field and changes nothing. Run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from factories import T0, api_payload, make_incident, make_release
from helpers.accounts import signed_in_client
from helpers.api import assert_error, assert_fields, count
from helpers.backup import build_catalog, export, fresh_database, restore, second_app, state
from sqlalchemy import select

from catalog.audit.models import AuditEvent
from catalog.errors import ValidationError
from catalog.incidents.models import Incident
from catalog.releases.models import Release

BODY = {
    "service": "chat-api",
    "tag": "v2.4.1",
    "team": "assistant",
    "deployed_at": "2026-03-02T12:00:00Z",
    "canary_percent": 5,
    "guard_p99_ms": 300,
    "guard_error_rate": 0.2,
    "rollback_window_seconds": 300,
}


# ---- the API --------------------------------------------------------------------------


def test_a_release_is_recorded_read_listed_and_its_rollback_measured(client):
    created = client.post("/api/v1/releases", json=BODY)
    assert created.status_code == 201, created.get_json()
    release = created.get_json()
    assert release["outcome"] == "in_progress" and release["rollback_seconds"] is None
    assert release["guard_error_rate"] == 0.2 and release["version"] == 1
    assert client.get(f"/api/v1/releases/{release['id']}").get_json() == release

    rolled = client.patch(
        f"/api/v1/releases/{release['id']}",
        json={
            "version": 1,
            "outcome": "rolled_back",
            "rollback_started_at": "2026-03-02T12:20:00Z",
            "rolled_back_at": "2026-03-02T12:23:10+00:00",
        },
    )
    assert rolled.status_code == 200, rolled.get_json()
    body = rolled.get_json()
    assert body["rollback_seconds"] == 190 and body["rollback_within_window"] is True
    assert body["rolled_back_at"] == "2026-03-02T12:23:10Z"

    client.post("/api/v1/releases", json={**BODY, "service": "search", "tag": "r7"})
    listed = client.get("/api/v1/releases?service=chat-api").get_json()
    assert [r["tag"] for r in listed["items"]] == ["v2.4.1"] and listed["total"] == 1
    assert client.get("/api/v1/releases?outcome=rolled_back").get_json()["total"] == 1
    assert client.get("/api/v1/releases").get_json()["total"] == 2


def test_a_rollback_past_its_window_says_so(client, session):
    release = make_release(
        session,
        outcome="rolled_back",
        rollback_started_at=T0 + timedelta(minutes=10),
        rolled_back_at=T0 + timedelta(minutes=20),
    )
    body = client.get(f"/api/v1/releases/{release.id}").get_json()
    assert (body["rollback_seconds"], body["rollback_within_window"]) == (600, False)


@pytest.mark.parametrize(
    "change, fields",
    [
        ({"service": "", "tag": " "}, ("service", "tag")),
        ({"deployed_at": None}, ("deployed_at",)),
        ({"deployed_at": "yesterday"}, ("deployed_at",)),
        ({"deployed_at": "2026-03-02T12:00:00"}, ("deployed_at",)),
        ({"deployed_at": "2999-01-01T00:00:00Z"}, ("deployed_at",)),
        ({"canary_percent": 0}, ("canary_percent",)),
        ({"canary_percent": 101}, ("canary_percent",)),
        ({"canary_percent": "5"}, ("canary_percent",)),
        ({"canary_percent": True}, ("canary_percent",)),
        ({"guard_error_rate": -0.1}, ("guard_error_rate",)),
        ({"guard_error_rate": 100.5}, ("guard_error_rate",)),
        ({"guard_error_rate": "0.2"}, ("guard_error_rate",)),
        ({"guard_p99_ms": 1.5}, ("guard_p99_ms",)),
        ({"rollback_window_seconds": 86_401}, ("rollback_window_seconds",)),
        ({"outcome": "shipped"}, ("outcome",)),
        ({"outcome": "rolled_back"}, ("rollback_started_at", "rolled_back_at")),
        (
            {"outcome": "promoted", "rollback_started_at": "2026-03-02T12:10:00Z"},
            ("rollback_started_at",),
        ),
        ({"rolled_back_at": "2026-03-02T12:10:00Z"}, ("rolled_back_at",)),
        (
            {
                "outcome": "rolled_back",
                "rollback_started_at": "2026-03-02T11:59:00Z",
                "rolled_back_at": "2026-03-02T11:58:00Z",
            },
            ("rollback_started_at", "rolled_back_at"),
        ),
        ({"tag": "v1\u202e"}, ("tag",)),
        ({"notes": "x" * 100_001}, ("notes",)),
        ({"colour": "red"}, ("colour",)),
    ],
)
def test_a_bad_release_is_refused_by_field_and_nothing_is_stored(client, session, change, fields):
    response = client.post("/api/v1/releases", json={**BODY, **change})
    assert_fields(response, *fields)
    assert count(session, "releases") == 0


def test_release_requests_that_are_not_releases_are_refused(client, session):
    assert_error(client.get("/api/v1/releases/999"), 404, "not_found")
    assert_error(client.get("/api/v1/releases/99999999999"), 404, "not_found")
    assert_fields(client.get("/api/v1/releases?outcome=shipped"), "outcome")
    assert_fields(client.get("/api/v1/releases?page=%C2%B2"), "page")
    assert_error(
        client.post("/api/v1/releases", data="[1,", content_type="application/json"),
        400,
        "bad_request",
    )
    release = make_release(session)
    stale = client.patch(f"/api/v1/releases/{release.id}", json={"version": 7, "tag": "v9"})
    assert stale.status_code == 409
    assert_fields(client.patch(f"/api/v1/releases/{release.id}", json={"tag": "v9"}), "version")
    session.expire_all()
    assert session.get(Release, release.id).tag == "v2.4.1"


def test_a_viewer_reads_releases_and_only_an_admin_deletes_one(app, session):
    release = make_release(session)
    viewer = signed_in_client(app, "viewer")
    assert viewer.get("/api/v1/releases").status_code == 200
    assert_error(viewer.post("/api/v1/releases", json=BODY), 403, "forbidden")
    editor = signed_in_client(app, "editor")
    assert editor.post("/api/v1/releases", json=BODY).status_code == 201
    assert_error(editor.delete(f"/api/v1/releases/{release.id}"), 403, "forbidden")
    admin = signed_in_client(app, "admin")
    assert admin.delete(f"/api/v1/releases/{release.id}").status_code == 204
    assert count(session, "releases") == 1


# ---- incidents name their cause ---------------------------------------------------------


def test_an_incident_names_the_release_that_caused_it(client, session):
    release = make_release(session)
    created = client.post("/api/v1/incidents", json=api_payload(release=release.id))
    assert created.status_code == 201, created.get_json()
    incident = created.get_json()
    assert incident["release"] == release.id
    listed = client.get("/api/v1/incidents").get_json()["items"]
    assert [i["release"] for i in listed] == [release.id]

    refused = client.delete(f"/api/v1/releases/{release.id}")
    assert_error(refused, 409, "conflict")
    assert count(session, "releases") == 1

    cleared = client.patch(
        f"/api/v1/incidents/{incident['id']}", json={"release": None, "version": 1}
    )
    assert cleared.status_code == 200 and cleared.get_json()["release"] is None
    assert client.delete(f"/api/v1/releases/{release.id}").status_code == 204


@pytest.mark.parametrize("value", [999, 0, -1, "1", 1.5, True, 2**40, [1]])
def test_an_incident_cannot_name_a_release_that_is_not_there(client, session, value):
    response = client.post("/api/v1/incidents", json=api_payload(release=value))
    messages = assert_fields(response, "release")
    assert "release" in messages["release"][0].lower()
    assert count(session, "incidents") == 0


# ---- the pages --------------------------------------------------------------------------


def test_a_release_is_recorded_through_its_form(client, session):
    form = {
        "service": "chat-api",
        "tag": "v3.0.0",
        "team": "",
        "deployed_at": "2026-03-02 12:00",
        "canary_percent": "10",
        "guard_p99_ms": "250",
        "guard_error_rate": "0,5",  # a comma is a decimal mark too
        "rollback_window_seconds": "120",
        "outcome": "in_progress",
        "rollback_started_at": "",
        "rolled_back_at": "",
        "notes": "Tokenizer **1.5**",
    }
    response = client.post("/releases/new", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    release = session.scalars(select(Release)).one()
    assert (release.guard_error_rate, release.canary_percent) == (0.5, 10)
    assert release.deployed_at == T0
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "chat-api v3.0.0" in page and "0.5 %" in page and "<strong>1.5</strong>" in page
    assert "chat-api" in client.get("/releases/").get_data(as_text=True)
    edit = client.get(f"/releases/{release.id}/edit").get_data(as_text=True)
    assert 'value="0.5"' in edit


def test_a_bad_release_form_shows_every_message_and_stores_nothing(client, session):
    response = client.post(
        "/releases/new",
        data={
            "service": "",
            "tag": "v1",
            "deployed_at": "soon",
            "canary_percent": "150",
            "guard_error_rate": "0.2%",
            "outcome": "rolled_back",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    for message in (
        "Service is required.",
        "Canary share must be between 1 and 100.",
        "Not a number. Write it like 0.2 or 12.5.",
        "Rollback started is required for a rolled-back release.",
        "Rolled back is required for a rolled-back release.",
    ):
        assert message in page, message
    assert "Deployed" in page
    assert 'value="0.2%"' in page  # a refused number is shown again as it was typed
    assert count(session, "releases") == 0


def test_an_incident_form_offers_releases_and_the_release_page_lists_its_incidents(client, session):
    release = make_release(session)
    incident = make_incident(session)
    form_page = client.get(f"/incidents/{incident.id}/edit").get_data(as_text=True)
    assert f'<option value="{release.id}">chat-api v2.4.1' in form_page
    client.patch(f"/api/v1/incidents/{incident.id}", json={"release": release.id, "version": 1})
    page = client.get(f"/releases/{release.id}").get_data(as_text=True)
    assert f"#{incident.id} {incident.title}" in page
    detail = client.get(f"/incidents/{incident.id}").get_data(as_text=True)
    assert "caused by release" in detail and "chat-api v2.4.1" in detail
    confirm = client.get(f"/releases/{release.id}/delete").get_data(as_text=True)
    assert "cannot be deleted" in confirm
    client.post(f"/releases/{release.id}/delete")
    assert count(session, "releases") == 1


def test_release_pages_refuse_bad_queries_without_a_500(client):
    assert client.get("/releases/?outcome=shipped").status_code == 400
    assert client.get("/releases/?page=%C2%B2").status_code == 400
    assert client.get("/releases/?page=0").status_code == 400
    assert client.get("/releases/424242").status_code == 404
    assert client.get("/releases/?service=%00").status_code == 200


def test_releases_are_audited(client, session):
    client.post("/api/v1/releases", json=BODY)
    events = session.scalars(select(AuditEvent).where(AuditEvent.object_type == "release")).all()
    assert [(e.action, e.object_label) for e in events] == [("create", "chat-api v2.4.1")]


# ---- the backup, format version 3 -------------------------------------------------------


def test_a_version_2_backup_taken_before_releases_still_restores(
    app, session, app_config, tmp_path, backend
):
    """A backup written before this change: no `releases`, no incident `release`."""
    build_catalog(session)
    document = json.loads(export(app))
    document["version"] = 2
    del document["releases"], document["readiness_bars"]
    for record in document["incidents"]:
        del record["release"]
    with fresh_database(backend, tmp_path) as url, second_app(app_config, url) as other:
        summary = restore(other, document)
        assert summary.created == len(document["incidents"])
        assert state(other)["counts"]["Release"] == 0
    refused = json.loads(export(app))
    refused["version"] = 2
    with pytest.raises(ValidationError) as caught:
        restore(app, refused)
    unknown = ["Unknown field in a version 2 backup."]
    assert caught.value.fields == {"releases": unknown, "readiness_bars": unknown}


def test_releases_restore_with_the_incidents_that_name_them(
    app, session, app_config, tmp_path, backend
):
    build_catalog(session)
    document = json.loads(export(app))
    with fresh_database(backend, tmp_path) as url, second_app(app_config, url) as other:
        summary = restore(other, document)
        assert summary.releases_created == 2
        assert state(other)["counts"]["LoadTest"] == 2
        assert state(other)["counts"]["CanaryAnalysis"] == 1
        assert state(other)["counts"]["ReadinessBars"] == 1
        assert "2 releases created" in summary.describe()
        again = restore(other, document)
        assert again.releases_created == 0 and again.created == 0
        check = other.extensions["catalog.sessionmaker"]()
        named = check.scalars(select(Incident).where(Incident.release_id.is_not(None))).one()
        assert named.release.tag == "v2.5.0-rc.1"
        assert named.release.rollback_seconds == pytest.approx(180, abs=1)
        check.close()


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda d: d["releases"][0].update(outcome="shipped"), "releases[0].outcome"),
        (lambda d: d["releases"][0].update(rolled_back_at=None), "releases[0].rolled_back_at"),
        (lambda d: d["releases"][1].update(uid="has spaces"), "releases[1].uid"),
        (lambda d: d["releases"][1].update(colour="red"), "releases[1].colour"),
        (lambda d: d["releases"][1].update(deployed_at="soon"), "releases[1].deployed_at"),
        (lambda d: d["releases"].append("nope"), "releases[2]"),
        (lambda d: d.update(releases={}), "releases"),
        (lambda d: d["releases"][0]["load_tests"][0].update(p99_ms=1), "p99_ms"),
        (lambda d: d["releases"][0]["load_tests"][0].update(source="jmeter"), "source"),
        (lambda d: d["releases"][0]["load_tests"].append(7), "load_tests[2]"),
        (lambda d: d["releases"][0]["canary"].update(verdict="maybe"), "canary.verdict"),
        (lambda d: d["releases"][0]["canary"].update(p_value="low"), "canary.p_value"),
        (lambda d: d["releases"][0]["canary"]["canary_quantiles"].pop(), "canary_quantiles"),
        (lambda d: d["releases"][0]["canary"].update(x=1), "canary.x"),
        (lambda d: d["readiness_bars"][0].update(p99_1x_ms=0), "readiness_bars[0].p99_1x_ms"),
        (lambda d: d["readiness_bars"][0].update(service=""), "readiness_bars[0].service"),
        (lambda d: d["readiness_bars"].append([]), "readiness_bars[1]"),
        (
            lambda d: next(i for i in d["incidents"] if i["release"]).update(release="gone"),
            "release",
        ),
    ],
)
def test_a_bad_release_in_a_backup_refuses_the_whole_backup(
    app, session, app_config, tmp_path, change, field
):
    build_catalog(session)
    document = json.loads(export(app))
    change(document)
    with fresh_database("sqlite", tmp_path) as url, second_app(app_config, url) as other:
        before = state(other)
        with pytest.raises(ValidationError) as caught:
            restore(other, document)
        assert any(k == field or k.endswith(f".{field}") for k in caught.value.fields), (
            caught.value.fields
        )
        assert state(other) == before
