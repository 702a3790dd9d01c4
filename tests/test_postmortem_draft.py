"""A post-mortem drafted from the record, and publishing refused while it is unfinished (issue 12).

A new post-mortem starts with the incident's milestones and timeline (in the
viewer's zone, stated), its impact and TTD/TTR against targets and its vectors.
The root cause is one field, not a body section. Publishing, on the page and
through the API, is refused with the sections named while template text remains,
or while the root cause or the body is empty; a backup restores as it was written.
"""

from __future__ import annotations

from datetime import timedelta

from factories import T0, make_incident
from helpers.api import assert_fields

from catalog.incidents import timeline
from catalog.incidents.service import get_incident
from catalog.postmortems.draft import GUIDANCE, placeholder_sections
from catalog.postmortems.service import TEMPLATE, save_postmortem

COMPLETE = "## Summary\nThe vector DB stalled.\n\n## Impact\nChat answers timed out for 12 min."


def new_postmortem_page(client, incident_id: int) -> str:  # type: ignore[no-untyped-def]
    response = client.get(f"/incidents/{incident_id}/postmortem")
    assert response.status_code == 200
    return response.text


def test_the_draft_holds_the_record_in_the_viewers_zone(client, session) -> None:  # type: ignore[no-untyped-def]
    incident = make_incident(
        session,
        acknowledged_at=T0 + timedelta(minutes=6),
        mitigated_at=T0 + timedelta(minutes=9),
    )
    timeline.record(
        session,
        incident,
        "note",
        "Rolled back the **index** rebuild.",
        at=T0 + timedelta(minutes=8),
        source="web",
        label="sam@example.com",
    )
    session.commit()
    page = new_postmortem_page(client, incident.id)
    assert "All times in UTC." in page  # the admin's zone: the team's default
    for line in (
        "2026-03-02 12:00 UTC — **impact began**",
        "2026-03-02 12:04 UTC — **detected**",
        "2026-03-02 12:06 UTC — **acknowledged**",
        "2026-03-02 12:08 UTC — Rolled back the **index** rebuild. (sam@example.com)",
        "2026-03-02 12:09 UTC — **mitigated**",
        "2026-03-02 12:16 UTC — **recovered**",
        "Impact lasted **16m** (2026-03-02 12:00 UTC → 2026-03-02 12:16 UTC).",
        "Time to detect **4m** against a target of 5m (met)",
        "time to recover **12m** against 15m (met)",
        "[Dependency latency](/vectors/dependency-latency)",
    ):
        assert line in page.replace("&gt;", ">").replace("&#34;", '"'), line
    assert "HH:MM" not in page
    assert "## Root cause" not in page  # one field, never typed twice


def test_publishing_is_refused_while_template_text_remains(client, session) -> None:  # type: ignore[no-untyped-def]
    incident = make_incident(session)
    data = {"status": "published", "root_cause": "", "body": TEMPLATE}
    response = client.post(f"/incidents/{incident.id}/postmortem", data=data)
    assert response.status_code == 422
    assert "Root cause is required to publish" in response.text
    assert "Summary, Impact, Timeline, Root cause, Contributing factors" in response.text
    assert get_incident(session, incident.id).postmortem is None
    # the same post-mortem as a draft is fine: it is work in progress
    data["status"] = "draft"
    assert client.post(f"/incidents/{incident.id}/postmortem", data=data).status_code == 302


def test_the_api_refuses_to_publish_an_unfinished_post_mortem(client, session) -> None:  # type: ignore[no-untyped-def]
    incident = make_incident(session)
    url = f"/api/v1/incidents/{incident.id}/postmortem"
    response = client.put(url, json={"status": "published", "body": "", "root_cause": " "})
    fields = assert_fields(response, "root_cause", "body")
    assert fields["body"] == ["Body is required to publish."]
    draft = f"## Summary\n{GUIDANCE['Summary']}\n"
    response = client.put(url, json={"status": "published", "body": draft, "root_cause": "x"})
    assert assert_fields(response, "body")["body"] == [
        "The template text is still in: Summary. Replace it before publishing."
    ]
    response = client.put(url, json={"status": "published", "body": COMPLETE, "root_cause": "A"})
    assert response.status_code == 201


def test_template_text_is_found_by_line_not_by_word() -> None:
    assert placeholder_sections(TEMPLATE) == [
        "Summary",
        "Impact",
        "Timeline",
        "Root cause",
        "Contributing factors",
        "What went well",
        "What went wrong",
    ]
    assert placeholder_sections(COMPLETE) == []
    # a sentence that merely quotes the guidance is written text
    assert placeholder_sections("## Notes\nWe asked: what to keep doing? Plenty.") == []


def test_a_restored_published_post_mortem_keeps_its_text(session) -> None:  # type: ignore[no-untyped-def]
    """History is restored as it was written: the rule is for publishing, not for backups."""
    from catalog.incidents.models import Incident
    from catalog.postmortems.service import validate_postmortem

    incident = session.get(Incident, make_incident(session).id)
    clean = validate_postmortem(
        incident,
        {"status": "published", "root_cause": "", "body": TEMPLATE},
        now=T0 + timedelta(days=1),
        restoring=True,
    )
    assert clean["status"] == "published"
    pm, created = save_postmortem(
        session, incident, {"status": "published", "root_cause": "Found.", "body": COMPLETE}
    )
    assert created and pm.published_at is not None


def test_the_draft_holds_facts_only_and_publishes_in_one_click(client, session) -> None:  # type: ignore[no-untyped-def]
    """Nothing in the draft is a placeholder: with the root cause written, *Save and
    publish* publishes it as drafted."""
    from html import unescape

    incident = make_incident(session, summary="Answers cut off after 4k tokens.")
    page = new_postmortem_page(client, incident.id)
    body = unescape(page.split('name="body"', 1)[1].split(">", 1)[1].split("</textarea>", 1)[0])
    body = body.removeprefix("\r\n")  # the newline an HTML textarea starts with
    assert body.startswith("## Summary\nAnswers cut off after 4k tokens.")
    assert placeholder_sections(body) == []
    response = client.post(
        f"/incidents/{incident.id}/postmortem",
        data={"body": body, "root_cause": "The prompt builder ignored the limit.", "publish": "1"},
    )
    assert response.status_code == 302
    session.expire_all()
    pm = get_incident(session, incident.id).postmortem
    assert pm.status == "published" and pm.published_at is not None


def test_action_item_owners_are_offered_from_active_accounts(app, client, session) -> None:  # type: ignore[no-untyped-def]
    from helpers.accounts import make_user

    from catalog.auth.models import User

    make_user(app, "editor", "sam@example.com")
    gone_id, _, _ = make_user(app, "editor", "gone@example.com")
    gone = session.get(User, gone_id)
    gone.active = False
    session.commit()
    page = new_postmortem_page(client, make_incident(session).id)
    people = page.split('<datalist id="people">', 1)[1].split("</datalist>", 1)[0]
    assert 'value="sam@example.com"' in people and "gone@example.com" not in people
    assert 'list="people"' in page  # free text still allowed: a datalist only suggests
