"""Validation of a post-mortem and its action items (SPEC §2), through the forms and the API.

The root cause time, text limits and control characters, the status, and each action
item's title, owner, link, due date and done time (a list on the API, rows on the form,
where a row can be removed). The form and the API give the same message for the same
input; a refused request changes nothing in the database and nothing answers 500.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from helpers.validation import (
    BEFORE_2000,
    CONTROL,
    FUTURE,
    NAIVE,
    assert_api_refused,
    assert_refused,
    db_state,
    in_future,
    send_postmortem,
)
from markupsafe import escape
from sqlalchemy import select

from catalog.incidents.models import Incident
from tests.factories import T0

PM_SURFACES = ("form-new", "form-edit", "api-create", "api-replace")


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
