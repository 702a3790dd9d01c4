"""Confirmation before destruction (issue 12): deleting an incident or a vector, deactivating
a user and revoking a token each ask first, on a page of their own (no script), saying
what goes with it; the button there posts the deed, and nothing happens before it."""

from __future__ import annotations

from factories import make_incident
from helpers.accounts import make_user, signed_in_client
from sqlalchemy import select

from catalog.auth.models import ApiToken, User
from catalog.incidents import timeline
from catalog.incidents.models import Incident
from catalog.postmortems.service import save_postmortem
from catalog.vectors.models import Vector
from catalog.vectors.service import create_vector


def test_deleting_an_incident_asks_first_and_says_what_goes(client, session) -> None:  # type: ignore[no-untyped-def]
    incident = make_incident(session)
    save_postmortem(
        session,
        incident,
        {"root_cause": "x", "action_items": [{"title": "one"}, {"title": "two"}]},
    )
    timeline.record(session, incident, "note", "checked", source="web", label="sam")
    session.commit()
    detail = client.get(f"/incidents/{incident.id}").text
    assert f'href="/incidents/{incident.id}/delete"' in detail  # a link, not a form that acts
    page = client.get(f"/incidents/{incident.id}/delete")
    assert page.status_code == 200
    text = page.text
    assert f"Delete incident #{incident.id}" in text
    assert "its post-mortem (draft) and its 2 action items" in text
    assert "its timeline: 1 update" in text
    assert f'action="/incidents/{incident.id}/delete"' in text and 'method="post"' in text
    session.expire_all()
    assert session.get(Incident, incident.id) is not None  # asking deleted nothing
    incident_id = incident.id
    assert client.post(f"/incidents/{incident_id}/delete").status_code == 302
    session.expire_all()
    assert session.get(Incident, incident_id) is None


def test_only_an_admin_is_asked_to_delete_an_incident(app, session) -> None:  # type: ignore[no-untyped-def]
    incident = make_incident(session)
    editor = signed_in_client(app, "editor")
    assert editor.get(f"/incidents/{incident.id}/delete").status_code == 403
    assert "Delete incident" not in editor.get(f"/incidents/{incident.id}").text


def test_a_vector_with_incidents_is_not_offered_for_deletion(client, session) -> None:  # type: ignore[no-untyped-def]
    make_incident(session, vectors=["data-drift"])
    page = client.get("/vectors/data-drift/delete").text
    assert "linked to 1 incident, so it cannot be" in page
    assert "Delete permanently</button>" not in page
    create_vector(session, {"slug": "spare", "name": "Spare", "category": "other"})
    session.commit()
    page = client.get("/vectors/spare/delete").text
    assert "Delete permanently</button>" in page and "mitigation playbook" in page
    assert client.post("/vectors/spare/delete").status_code == 302
    session.expire_all()
    assert session.scalar(select(Vector).where(Vector.slug == "spare")) is None


def test_deactivating_a_user_asks_first(app, client, session) -> None:  # type: ignore[no-untyped-def]
    user_id, email, _token = make_user(app, "editor")
    page = client.get(f"/admin/users/{user_id}/deactivate").text
    assert f"Deactivate {email}?" in page and "1 active API token stop working" in page
    assert 'name="action" value="deactivate"' in page
    session.expire_all()
    assert session.get(User, user_id).active
    response = client.post(f"/admin/users/{user_id}", data={"action": "deactivate"})
    assert response.status_code == 302
    session.expire_all()
    assert not session.get(User, user_id).active


def test_revoking_a_token_asks_first(app, session) -> None:  # type: ignore[no-untyped-def]
    owner = signed_in_client(app, "viewer")
    token = session.scalars(select(ApiToken).order_by(ApiToken.id.desc())).first()
    page = owner.get(f"/account/tokens/{token.id}/revoke").text
    assert f"Revoke the token {token.prefix}…" in page and "gets 401" in page
    assert owner.get("/api/v1/vectors").status_code == 200  # asking revoked nothing
    assert owner.post(f"/account/tokens/{token.id}/revoke").status_code == 302
    assert owner.get("/api/v1/vectors").status_code == 401
    other = signed_in_client(app, "viewer", "someone-else@example.com")
    assert other.get(f"/account/tokens/{token.id}/revoke").status_code == 403
