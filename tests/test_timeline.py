"""An incident's timeline (issue 12): notes, changes that matter, other systems' statuses.

Entries are written by people (a note, a severity or vector change) and by systems
(an Alertmanager delivery), listed and added through the API, carried by the JSON
backup (format version 2, which still restores version 1) and deleted with their
incident.
"""

from __future__ import annotations

import json
from datetime import timedelta

from factories import make_incident
from helpers.api import assert_error, assert_fields
from helpers.backup import build_catalog, export, fresh_database, restore, second_app, state
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from test_alertmanager import ENDS, STARTS, alert, delivery

from catalog.errors import ValidationError
from catalog.incidents.models import Incident, IncidentUpdate
from catalog.incidents.service import get_incident
from catalog.incidents.timeline import NOTE_MAX, timeline_of


def entries(session: Session, incident_id: int) -> list[IncidentUpdate]:
    session.expire_all()
    return list(timeline_of(session, incident_id))


def test_a_note_from_the_page_is_on_the_timeline_rendered_safely(client, session) -> None:  # type: ignore[no-untyped-def]
    incident = make_incident(session)
    body = "Rolled back **tokenizer** 1.4.2 <script>alert(1)</script>"
    response = client.post(f"/incidents/{incident.id}/notes", data={"body": body})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("#updates")
    (note,) = entries(session, incident.id)
    assert (note.kind, note.source, note.author_label, note.body) == (
        "note",
        "web",
        client.user_email,
        body,
    )
    page = client.get(f"/incidents/{incident.id}").text
    assert "<strong>tokenizer</strong>" in page and "<script>alert(1)" not in page


def test_an_empty_or_oversized_note_is_refused_and_kept_on_the_page(client, session) -> None:  # type: ignore[no-untyped-def]
    incident = make_incident(session)
    response = client.post(f"/incidents/{incident.id}/notes", data={"body": " \n "})
    assert response.status_code == 422 and "Note is required." in response.text
    long = "x" * (NOTE_MAX + 1)
    response = client.post(f"/incidents/{incident.id}/notes", data={"body": long})
    assert response.status_code == 422 and "at most 20,000 characters" in response.text
    assert long in response.text  # nothing typed is lost
    assert entries(session, incident.id) == []


def test_the_api_adds_and_lists_notes_page_by_page(client, session) -> None:  # type: ignore[no-untyped-def]
    incident = make_incident(session)
    url = f"/api/v1/incidents/{incident.id}/updates"
    for n in range(3):
        response = client.post(url, json={"body": f"step {n}"})
        assert response.status_code == 201
    created = response.get_json()
    assert (created["kind"], created["source"], created["body"]) == ("note", "api", "step 2")
    assert created["author"] == client.user_email and created["at"].endswith("Z")
    first = client.get(url, query_string={"per_page": 2}).get_json()
    assert [e["body"] for e in first["items"]] == ["step 0", "step 1"]
    assert first["total"] == 3 and first["next"]
    second = client.get(url, query_string={"per_page": 2, "page": 2}).get_json()
    assert [e["body"] for e in second["items"]] == ["step 2"] and second["next"] is None


def test_the_api_refuses_a_bad_note_with_the_field_named(client, session) -> None:  # type: ignore[no-untyped-def]
    incident = make_incident(session)
    url = f"/api/v1/incidents/{incident.id}/updates"
    assert_fields(client.post(url, json={}), "body")
    assert_fields(client.post(url, json={"body": 5}), "body")
    assert_fields(client.post(url, json={"body": "a\x00b"}), "body")
    assert_fields(client.post(url, json={"body": "ok", "at": "-5m"}), "at")
    assert_error(client.post(url, data="{", content_type="application/json"), 400, "bad_request")
    assert_error(
        client.post("/api/v1/incidents/999999/updates", json={"body": "x"}), 404, "not_found"
    )
    assert_fields(client.get(url, query_string={"per_page": 0}), "per_page")
    assert entries(session, incident.id) == []


def test_a_viewer_reads_the_timeline_but_cannot_write_it(app, session) -> None:  # type: ignore[no-untyped-def]
    from helpers.accounts import signed_in_client

    incident = make_incident(session)
    viewer = signed_in_client(app, "viewer")
    assert viewer.get(f"/api/v1/incidents/{incident.id}/updates").status_code == 200
    assert (
        viewer.post(f"/api/v1/incidents/{incident.id}/updates", json={"body": "x"}).status_code
        == 403
    )
    assert viewer.post(f"/incidents/{incident.id}/notes", data={"body": "x"}).status_code == 403
    page = viewer.get(f"/incidents/{incident.id}").text
    assert "Add note" not in page and "Mark recovered" not in page


def test_a_severity_or_vector_change_is_told_on_the_timeline(client, session) -> None:  # type: ignore[no-untyped-def]
    incident = make_incident(session)
    response = client.patch(
        f"/api/v1/incidents/{incident.id}",
        json={"severity": "SEV1", "vectors": ["data-drift"], "version": incident.version},
    )
    assert response.status_code == 200
    told = [(e.kind, e.body) for e in entries(session, incident.id)]
    assert told == [
        ("severity", "Severity SEV2 → **SEV1**."),
        ("vectors", "Vectors linked `data-drift`; unlinked `dependency-latency`."),
    ]
    client.patch(  # a title change is in the History, not on the timeline
        f"/api/v1/incidents/{incident.id}",
        json={"title": "Renamed", "version": incident.version + 1},
    )
    assert len(entries(session, incident.id)) == 2


def test_alertmanager_deliveries_are_on_the_timeline_at_the_alerts_times(
    app, client, session
) -> None:  # type: ignore[no-untyped-def]
    hook = "/api/v1/hooks/alertmanager"
    assert client.post(hook, json=delivery(alert())).status_code == 200
    assert client.post(hook, json=delivery(alert())).status_code == 200  # a repeat tells nothing
    assert client.post(hook, json=delivery(alert("resolved"))).status_code == 200
    incident = session.scalars(select(Incident)).one()
    told = [(e.kind, e.source, e.author_label, e.at, e.body) for e in entries(session, incident.id)]
    assert told == [
        (
            "status",
            "alertmanager",
            "Alertmanager",
            STARTS,
            "**Firing**: Alertmanager `VectorDBLatencyHigh`.",
        ),
        (
            "status",
            "alertmanager",
            "Alertmanager",
            ENDS,
            "**Resolved**: Alertmanager `VectorDBLatencyHigh`.",
        ),
    ]


def test_deleting_an_incident_deletes_its_timeline(client, session) -> None:  # type: ignore[no-untyped-def]
    incident = make_incident(session)
    client.post(f"/incidents/{incident.id}/notes", data={"body": "first"})
    other = make_incident(session)
    client.post(f"/incidents/{other.id}/notes", data={"body": "kept"})
    assert client.delete(f"/api/v1/incidents/{incident.id}").status_code == 204
    session.expire_all()
    left = session.scalars(select(IncidentUpdate.body)).all()
    assert left == ["kept"]


# ---- the backup, format version 2 ---------------------------------------------------------


def test_a_version_1_backup_still_restores_into_the_new_schema(
    app, session, app_config, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    build_catalog(session)
    document = json.loads(export(app))
    document["version"] = 1
    del document["releases"], document["readiness_bars"]  # what version 3 added
    for record in document["incidents"]:  # what versions 2 and 3 added
        for key in ("updates", "lead", "comms_lead", "release"):
            del record[key]
    with fresh_database("sqlite", tmp_path) as url, second_app(app_config, url) as other:
        summary = restore(other, document)
        assert summary.created == len(document["incidents"])
        counts = state(other)["counts"]
    assert counts["IncidentUpdate"] == 0
    assert counts["Incident"] == len(document["incidents"])


def test_timeline_entries_in_a_version_1_backup_are_an_unknown_field(
    app, session, app_config, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    build_catalog(session)
    document = json.loads(export(app))
    document["version"] = 1
    del document["releases"], document["readiness_bars"]  # what version 3 added
    for record in document["incidents"]:
        del record["release"]
    with fresh_database("sqlite", tmp_path) as url, second_app(app_config, url) as other:
        before = state(other)
        try:
            restore(other, document)
        except ValidationError as exc:  # the first record stops it, as any refusal does
            unknown = ["Unknown field in a version 1 backup."]
            assert exc.fields == {
                f"incidents[0].{key}": unknown for key in ("lead", "comms_lead", "updates")
            }
        else:
            raise AssertionError("a version 1 backup with `updates` was accepted")
        assert state(other) == before


def test_a_bad_timeline_entry_refuses_the_whole_backup_and_names_its_place(
    app, session, app_config, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    build_catalog(session)
    document = json.loads(export(app))
    index = next(i for i, r in enumerate(document["incidents"]) if r["updates"])
    entry = document["incidents"][index]["updates"][0]
    entry.update(kind="gossip", at="yesterday", author="", body="a\x07b", extra=1)
    with fresh_database("sqlite", tmp_path) as url, second_app(app_config, url) as other:
        before = state(other)
        try:
            restore(other, document)
        except ValidationError as exc:
            where = f"incidents[{index}].updates[0]"
            assert set(exc.fields) == {
                f"{where}.{name}" for name in ("kind", "at", "author", "body", "extra")
            }
            assert "is refused; nothing was imported" in exc.message
        else:
            raise AssertionError("a bad timeline entry was accepted")
        assert state(other) == before


def test_a_restored_entry_links_to_the_account_with_its_e_mail(
    app, session, app_config, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from helpers.accounts import make_user

    build_catalog(session)
    document = json.loads(export(app))
    with fresh_database("sqlite", tmp_path) as url, second_app(app_config, url) as other:
        user_id, _email, _token = make_user(other, "editor", "ed@example.com")
        restore(other, document)
        maker = other.extensions["catalog.sessionmaker"]
        with maker() as s:
            linked = dict(
                s.execute(select(IncidentUpdate.author_label, IncidentUpdate.author_id)).all()
            )
    assert linked == {"Statuspage": None, "ed@example.com": user_id}


def test_an_incident_page_lists_its_timeline_oldest_first(client, session) -> None:  # type: ignore[no-untyped-def]
    incident = make_incident(session)
    for body in ("first note", "second note"):
        client.post(f"/incidents/{incident.id}/notes", data={"body": body})
    page = client.get(f"/incidents/{incident.id}").text
    assert page.index("first note") < page.index("second note")
    assert "2 updates" in page
    assert get_incident(session, incident.id).version == incident.version  # a note edits nothing
    total = session.scalar(select(func.count()).select_from(IncidentUpdate))
    assert total == 2
    assert timedelta(0) <= entries(session, incident.id)[1].at - entries(session, incident.id)[0].at


def test_a_long_timeline_shows_its_newest_updates_and_says_where_the_rest_are(
    client, session, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from catalog.incidents import views

    monkeypatch.setattr(views, "TIMELINE_SHOWN", 2)
    incident = make_incident(session)
    for body in ("oldest note", "middle note", "newest note"):
        client.post(f"/incidents/{incident.id}/notes", data={"body": body})
    page = client.get(f"/incidents/{incident.id}").text
    assert "3 updates" in page and "1 earlier one is in the API" in page
    assert "oldest note" not in page and "middle note" in page and "newest note" in page
