"""`lead=me` in the incident list API is each caller's own list, also from a kept answer."""

from __future__ import annotations

from factories import make_incident
from helpers.accounts import make_user


def test_lead_me_in_the_api_is_each_callers_own_list(app, session):
    tokens = {
        email: make_user(app, "editor", email)[2]
        for email in ("ann@example.com", "bob@example.com")
    }
    make_incident(session, title="Ann one", lead="ann@example.com")
    make_incident(session, title="Bob one", lead="bob@example.com")
    client = app.test_client()
    for _ in range(2):
        for email, title in (("ann@example.com", "Ann one"), ("bob@example.com", "Bob one")):
            body = client.get(
                "/api/v1/incidents?lead=me", headers={"Authorization": f"Bearer {tokens[email]}"}
            ).get_json()
            assert [i["title"] for i in body["items"]] == [title], email
