"""Roles on an incident (issue 12): a lead and a communications lead chosen from active
accounts, the list filtered by lead, and *My incidents* on the dashboard."""

from __future__ import annotations

import json
from datetime import timedelta

from factories import form_payload, make_incident
from helpers.accounts import make_user, signed_in_client
from helpers.api import assert_fields
from helpers.backup import export, fresh_database, restore, second_app

from catalog.auth.models import User
from catalog.db import utcnow
from catalog.incidents.models import Incident
from catalog.incidents.timeline import timeline_of
from catalog.postmortems.service import save_postmortem


def test_the_api_names_a_lead_by_e_mail_and_tells_the_timeline(app, client, session) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "editor", "sam@example.com")
    incident = make_incident(session)
    response = client.patch(
        f"/api/v1/incidents/{incident.id}",
        json={"lead": "Sam@Example.com", "version": incident.version},
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["lead"], body["comms_lead"]) == ("sam@example.com", None)
    listed = client.get("/api/v1/incidents", query_string={"lead": "sam@example.com"}).get_json()
    assert [i["id"] for i in listed["items"]] == [incident.id]
    assert listed["items"][0]["lead"] == "sam@example.com"
    assert client.get("/api/v1/incidents", query_string={"lead": "me"}).get_json()["total"] == 0
    (told,) = timeline_of(session, incident.id)
    assert (told.kind, told.body) == ("roles", "Incident lead: **sam@example.com**.")


def test_a_lead_must_be_an_active_account(app, client, session) -> None:  # type: ignore[no-untyped-def]
    gone_id, _, _ = make_user(app, "editor", "gone@example.com")
    session.get(User, gone_id).active = False
    session.commit()
    incident = make_incident(session)
    url = f"/api/v1/incidents/{incident.id}"
    fields = assert_fields(
        client.patch(
            url,
            json={"lead": "nobody@example.com", "comms_lead": 7, "version": incident.version},
        ),
        "lead",
        "comms_lead",
    )
    assert fields["lead"] == [
        "Incident lead: there is no account with the e-mail nobody@example.com."
    ]
    assert fields["comms_lead"] == ["Communications lead must be an account's e-mail, or null."]
    fields = assert_fields(
        client.patch(url, json={"lead": "gone@example.com", "version": incident.version}), "lead"
    )
    assert "deactivated" in fields["lead"][0]


def test_a_lead_who_leaves_does_not_block_other_edits(app, client, session) -> None:  # type: ignore[no-untyped-def]
    user_id, email, _ = make_user(app, "editor", "sam@example.com")
    incident = make_incident(session)
    client.patch(f"/api/v1/incidents/{incident.id}", json={"lead": email, "version": 1})
    session.get(User, user_id).active = False
    session.commit()
    response = client.patch(
        f"/api/v1/incidents/{incident.id}", json={"title": "Renamed", "version": 2}
    )
    assert response.status_code == 200 and response.get_json()["lead"] == email


def test_the_form_offers_active_accounts_and_saves_the_choice(app, client, session) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "editor", "sam@example.com")
    page = client.get("/incidents/new").text
    assert 'value="sam@example.com"' in page and "— nobody yet —" in page
    response = client.post(
        "/incidents/new", data=form_payload(lead="sam@example.com", comms_lead="")
    )
    assert response.status_code == 302
    session.expire_all()
    incident = session.query(Incident).one()
    assert incident.lead_email == "sam@example.com" and incident.comms_lead is None
    detail = client.get(f"/incidents/{incident.id}").text
    assert "Lead: <strong>" in detail
    refused = client.post("/incidents/new", data=form_payload(lead="evil@example.com"))
    assert refused.status_code == 422 and "there is no account with the e-mail" in refused.text


def test_my_incidents_shows_what_i_lead_and_what_i_owe(app, session) -> None:  # type: ignore[no-untyped-def]
    me = signed_in_client(app, "editor", "me@example.com")
    now = utcnow()
    open_one = make_incident(
        session,
        started_at=now - timedelta(hours=1),
        detected_at=now - timedelta(minutes=50),
        recovered_at=None,
        title="Mine, still open",
    )
    me.patch(f"/api/v1/incidents/{open_one.id}", json={"lead": "me@example.com", "version": 1})
    done = make_incident(session, title="Mine, recovered")
    me.patch(f"/api/v1/incidents/{done.id}", json={"lead": "me@example.com", "version": 1})
    save_postmortem(
        session,
        done,
        {
            "action_items": [
                {
                    "title": "Overdue thing",
                    "owner": "ME@example.com",
                    "due_on": now.date() - timedelta(days=2),
                },
                {
                    "title": "Not yet due",
                    "owner": "me@example.com",
                    "due_on": now.date() + timedelta(days=3),
                },
                {
                    "title": "Someone else's",
                    "owner": "sam",
                    "due_on": now.date() - timedelta(days=2),
                },
            ]
        },
    )
    session.commit()
    page = me.get("/").text
    mine = page[page.index('id="mine"') :]
    mine = mine[: mine.index("</section>")]
    assert "Mine, still open" in mine and "Mine, recovered" not in mine
    assert "Overdue thing" in mine and "Not yet due" not in mine and "Someone else" not in mine
    listed = me.get("/incidents/", query_string={"lead": "me"}).text
    assert "Mine, still open" in listed and "Mine, recovered" in listed
    other = signed_in_client(app, "viewer", "other@example.com")
    assert 'id="mine"' not in other.get("/").text  # nothing of theirs: no empty box


def test_the_backup_carries_roles_as_e_mails_and_relinks_them(
    app, client, session, app_config, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "editor", "sam@example.com")
    incident = make_incident(session)
    client.patch(f"/api/v1/incidents/{incident.id}", json={"lead": "sam@example.com", "version": 1})
    document = json.loads(export(app))
    (record,) = document["incidents"]
    assert (record["lead"], record["comms_lead"]) == ("sam@example.com", None)
    with fresh_database("sqlite", tmp_path) as url, second_app(app_config, url) as other:
        make_user(other, "editor", "sam@example.com")
        restore(other, document)
        with other.extensions["catalog.sessionmaker"]() as s:
            restored = s.query(Incident).one()
            assert restored.lead_email == "sam@example.com"
    (tmp_path / "b").mkdir()
    with fresh_database("sqlite", tmp_path / "b") as url, second_app(app_config, url) as other:
        restore(other, document)  # no such account there: restored without a lead
        with other.extensions["catalog.sessionmaker"]() as s:
            assert s.query(Incident).one().lead is None
