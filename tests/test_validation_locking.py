"""Optimistic locking through the forms: a stale form, or one without a version, changes nothing.

A form saved over a newer version of the incident, vector or post-mortem answers 422 with
the conflict explained, keeps the user's input and carries the current version, so that
saving again overwrites with eyes open; a form without a version is refused. Either way
nothing in the database changes.
"""

from __future__ import annotations

import json

import pytest
from helpers.validation import EDITED_SLUG, db_state, pm_form_data, vector_fields

from catalog.postmortems.service import save_postmortem
from tests.factories import form_payload, make_incident

CONFLICT = "Someone else saved a change to this while you were editing."


@pytest.mark.parametrize("kind", ["incident", "vector", "postmortem"])
def test_a_stale_form_is_refused_and_keeps_the_input(client, session, kind):
    incident = make_incident(session)
    if kind == "incident":
        url = f"/incidents/{incident.id}/edit"
        data = form_payload(title="My careful rewrite")
        api_url, change = f"/api/v1/incidents/{incident.id}", {"team": "theirs"}
    elif kind == "vector":
        url = f"/vectors/{EDITED_SLUG}/edit"
        data = {k: "" if v is None else str(v) for k, v in vector_fields().items()}
        data.update(slug=EDITED_SLUG, name="Data drift", description="My careful rewrite")
        api_url, change = f"/api/v1/vectors/{EDITED_SLUG}", {"detection": "theirs"}
    else:
        save_postmortem(session, incident, {"root_cause": "first"})
        session.commit()
        url = f"/incidents/{incident.id}/postmortem"
        data = pm_form_data({"root_cause": "My careful rewrite"})
        api_url, change = f"/api/v1/incidents/{incident.id}/postmortem", {"root_cause": "theirs"}
    method = client.put if kind == "postmortem" else client.patch
    assert method(api_url, json={**change, "version": 1}).status_code == 200
    before = db_state(session)
    response = client.post(url, data={**data, "version": "1"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert CONFLICT in page
    assert "My careful rewrite" in page  # the user's input is kept
    assert 'name="version" type="hidden" value="2"' in page
    assert db_state(session) == before
    # saving the kept input again (now against version 2) overwrites with eyes open
    assert client.post(url, data={**data, "version": "2"}).status_code == 302
    assert "My careful rewrite" in json.dumps(client.get(api_url).get_json())


@pytest.mark.parametrize("kind", ["incident", "vector"])
def test_a_form_without_version_changes_nothing(client, session, kind):
    incident = make_incident(session)
    if kind == "incident":
        url, data = f"/incidents/{incident.id}/edit", form_payload(title="No version")
    else:
        url = f"/vectors/{EDITED_SLUG}/edit"
        data = {k: "" if v is None else str(v) for k, v in vector_fields().items()}
        data.update(slug=EDITED_SLUG, name="No version")
    before = db_state(session)
    assert client.post(url, data=data).status_code == 422
    assert db_state(session) == before
