"""One pass of validation: every problem at once, in the same words on every surface.

A form or an API call with several problems gets one answer naming all of them (no second
round trip): the same messages next to the form's fields, in its error summary and in the
API's `error.fields`. A time the server cannot read does not hide the other problems.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from helpers.validation import api_value, assert_api_refused, db_state, local, send_postmortem
from markupsafe import escape

from tests.factories import T0, api_payload, form_payload


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
        "started_at": [
            "Started must be a time such as 14:05 or 2026-11-30 14:05 in your zone, "
            "or relative such as -7m or -2h."
        ],
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
