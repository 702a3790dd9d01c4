"""The edges of responding (issue 12), each found by a review of the first cut: what other
systems write restores, a click lands on the milestone meant, an old post-mortem stays
editable, a refused form keeps the moment it read, names stay out of the dossier."""

from __future__ import annotations

import json
from datetime import timedelta

from factories import T0, form_payload, make_incident
from helpers.accounts import make_user
from helpers.api import assert_error, assert_fields
from helpers.backup import export, fresh_database, restore, second_app, state
from test_alertmanager import alert, delivery

from catalog.db import utcnow
from catalog.incidents import timeline
from catalog.incidents.models import Incident, IncidentUpdate
from catalog.postmortems.service import TEMPLATE, save_postmortem

ZWJ_EMOJI = "👩\u200d💻"
RLM = "\u200f"


def test_prose_with_format_characters_is_written_and_restored(
    app, client, session, app_config, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    incident = make_incident(session)
    body = f"On call: {ZWJ_EMOJI} שלום{RLM} rolled back"
    assert client.post(f"/incidents/{incident.id}/notes", data={"body": body}).status_code == 302
    timeline.record(
        session, incident, "status", f"**Update** {ZWJ_EMOJI}", source="import", label="Statuspage"
    )
    session.commit()
    document = json.loads(export(app))
    with fresh_database("sqlite", tmp_path) as url, second_app(app_config, url) as other:
        restore(other, document)
        assert state(other)["counts"]["IncidentUpdate"] == 2


def test_a_resolution_dated_before_2000_is_told_at_the_recovery(app, client, session) -> None:  # type: ignore[no-untyped-def]
    hook = "/api/v1/hooks/alertmanager"
    assert client.post(hook, json=delivery(alert())).status_code == 200
    old = alert("resolved", endsAt="1999-06-01T00:00:00Z")
    assert client.post(hook, json=delivery(old)).status_code == 200
    session.expire_all()
    incident = session.query(Incident).one()
    entries = timeline.timeline_of(session, incident.id)
    assert entries[-1].body.startswith("**Resolved**")
    assert entries[-1].at == incident.recovered_at  # not 1999: every stored time is after 2000


def test_paging_the_timeline_is_bounded_and_keeps_its_path(client, session) -> None:  # type: ignore[no-untyped-def]
    incident = make_incident(session)
    url = f"/api/v1/incidents/{incident.id}/updates"
    for n in range(2):
        client.post(url, json={"body": f"note {n}"})
    assert_fields(client.get(url, query_string={"page": 10**20}), "page")
    first = client.get(url, query_string={"per_page": 1, "incident_id": "x", "_external": "1"})
    assert first.status_code == 200
    assert f"/incidents/{incident.id}/updates?" in first.get_json()["next"]


def test_enter_in_at_names_no_milestone_and_asks_which(client, session) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    incident = make_incident(
        session,
        started_at=now - timedelta(minutes=10),
        detected_at=now - timedelta(minutes=5),
        recovered_at=None,
    )
    page = client.get(f"/incidents/{incident.id}").text
    form = page[page.index('class="milestones"') :]
    first_button = form[form.index("<button") : form.index("</button>")]
    assert 'value=""' in first_button  # what Enter submits
    response = client.post(
        f"/incidents/{incident.id}/milestone",
        data={"milestone": "", "at": "-1m", "version": incident.version},
    )
    assert response.status_code == 422 and "Milestone must be one of" in response.text
    session.expire_all()
    assert session.get(Incident, incident.id).acknowledged_at is None


def test_a_recovered_incident_takes_no_earlier_milestone_by_click(client, session) -> None:  # type: ignore[no-untyped-def]
    incident = make_incident(session)  # recovered, never acknowledged nor mitigated
    page = client.get(f"/incidents/{incident.id}").text
    assert 'value="acknowledged"' not in page and 'value="mitigated"' not in page
    response = client.post(
        f"/api/v1/incidents/{incident.id}/milestones",
        json={"milestone": "acknowledged", "version": incident.version},
    )
    assert "reopen it first" in assert_error(response, 409, "conflict")["message"]


def test_a_post_mortem_published_before_the_rules_stays_editable(client, session) -> None:  # type: ignore[no-untyped-def]
    incident = make_incident(session)
    pm, _ = save_postmortem(session, incident, {"status": "draft", "body": TEMPLATE})
    pm.status = "published"  # as earlier versions allowed
    session.commit()
    response = client.put(
        f"/api/v1/incidents/{incident.id}/postmortem",
        json={
            "status": "published",
            "body": TEMPLATE,
            "version": pm.version,
            "action_items": [{"title": "Done now", "done_at": utcnow().isoformat()}],
        },
    )
    assert response.status_code == 200, response.get_json()


def test_a_refused_form_shows_the_moment_a_relative_time_was_read_as(client, session) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/incidents/new", data=form_payload(title="", started_at="-7m"))
    assert response.status_code == 422
    assert 'value="-7m"' not in response.text  # shown as a date and time, not re-read later
    shown = (utcnow() - timedelta(minutes=7)).strftime("%Y-%m-%d")
    assert f'value="{shown} ' in response.text


def test_the_account_page_title_is_text(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/account").text
    title = page[page.index("<title>") : page.index("</title>")]
    assert "script" not in title and page.count("when.js") == 1


def test_roles_stay_out_of_the_dossier(app, client, session) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "editor", "lead.person@example.com")
    incident = make_incident(
        session,
        started_at=utcnow() - timedelta(days=2),
        detected_at=utcnow() - timedelta(days=2),
        recovered_at=utcnow() - timedelta(days=1),
    )
    client.patch(
        f"/api/v1/incidents/{incident.id}", json={"lead": "lead.person@example.com", "version": 1}
    )
    save_postmortem(
        session,
        incident,
        {
            "status": "published",
            "root_cause": "x",
            "body": "## Summary\nWritten.",
            "root_cause_at": utcnow() - timedelta(days=1),
        },
    )
    session.commit()
    kinds = {e.kind for e in session.query(IncidentUpdate)}
    assert "roles" in kinds
    page = client.get("/exports/dossier").text
    assert "What happened when" in page and "lead.person@example.com" not in page


def test_a_lead_given_with_spaces_and_capitals_is_found(app, client, session) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "editor", "sam@example.com")
    incident = make_incident(session)
    response = client.patch(
        f"/api/v1/incidents/{incident.id}", json={"lead": "  Sam@Example.com ", "version": 1}
    )
    assert response.status_code == 200 and response.get_json()["lead"] == "sam@example.com"


def test_my_action_items_are_matched_by_e_mail_only(app, session) -> None:  # type: ignore[no-untyped-def]
    from helpers.accounts import signed_in_client

    me = signed_in_client(app, "editor", "alex@example.com")
    from catalog.auth.models import User

    user = session.query(User).filter_by(email="alex@example.com").one()
    user.name = "Alex"
    incident = make_incident(session)
    save_postmortem(
        session,
        incident,
        {
            "action_items": [
                {"title": "Another Alex's task", "owner": "Alex", "due_on": T0.date()},
                {"title": "Mine by e-mail", "owner": "alex@example.com", "due_on": T0.date()},
            ]
        },
    )
    session.commit()
    page = me.get("/").text
    mine = page[page.index('id="mine"') :]
    mine = mine[: mine.index("</section>")]
    assert "Mine by e-mail" in mine and "Another Alex" not in mine
