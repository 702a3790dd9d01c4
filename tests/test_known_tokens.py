"""Tokens remembered per process (catalog.auth.known_tokens) never outlive what ends them.

Two apps on one database stand for two gunicorn workers: one has just used a
token and keeps it; the other (or psql) revokes it, deactivates or demotes its
user. The first must answer the very next request as the database says.
"""

from __future__ import annotations

import pytest
from factories import api_payload
from helpers.accounts import make_user
from sqlalchemy import select, text

from catalog import create_app
from catalog.audit.models import AuditEvent
from catalog.auth.known_tokens import KEPT_COLUMNS
from catalog.auth.models import ApiToken


@pytest.fixture
def other_worker(app_config):  # type: ignore[no-untyped-def]
    application = create_app(dict(app_config))
    yield application
    application.extensions["catalog.engine"].dispose()


def _get(app, token):  # type: ignore[no-untyped-def]
    return app.test_client().get("/api/v1/incidents", headers={"Authorization": f"Bearer {token}"})


def _sql(app, statement: str) -> None:  # type: ignore[no-untyped-def]
    with app.extensions["catalog.engine"].begin() as conn:
        conn.execute(text(statement))


@pytest.mark.parametrize(
    "ending",
    [
        "UPDATE api_tokens SET revoked_at = created_at",
        "UPDATE users SET active = false",
        "DELETE FROM api_tokens",
    ],
)
def test_what_ends_a_token_elsewhere_ends_it_here_at_once(app, other_worker, ending):
    _, _, token = make_user(app, "viewer")
    assert _get(app, token).status_code == 200
    assert _get(app, token).status_code == 200  # now from what this worker keeps
    _sql(other_worker, ending)
    assert _get(app, token).status_code == 401


def test_a_revocation_through_the_app_in_another_worker(app, other_worker):
    from catalog.auth.service import revoke_token

    _, _, token = make_user(app, "viewer")
    assert _get(app, token).status_code == 200
    session = other_worker.extensions["catalog.sessionmaker"]()
    session.info["actor_label"] = "other worker"
    revoke_token(session, session.scalars(select(ApiToken)).one())
    session.commit()
    session.close()
    assert _get(app, token).status_code == 401


def test_a_demotion_elsewhere_takes_the_role_away_here(app, other_worker):
    _, _, token = make_user(app, "editor")
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    assert client.post("/api/v1/incidents", json=api_payload(), headers=headers).status_code == 201
    _sql(other_worker, "UPDATE users SET role = 'viewer'")
    answer = client.post("/api/v1/incidents", json=api_payload(), headers=headers)
    assert answer.status_code == 403
    assert "you are viewer" in answer.get_json()["error"]["message"]


def test_a_kept_user_writes_and_is_audited_as_itself(app):
    user_id, _, token = make_user(app, "editor")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert _get(app, token).status_code == 200
    answer = client.post("/api/v1/incidents", json=api_payload(), headers=headers)
    assert answer.status_code == 201
    session = app.extensions["catalog.sessionmaker"]()
    try:
        actors = session.scalars(
            select(AuditEvent.actor_id).where(AuditEvent.object_type == "incident")
        ).all()
    finally:
        session.close()
    assert actors == [user_id]


def test_last_use_is_still_noted(app):
    _, _, token = make_user(app, "viewer")
    assert _get(app, token).status_code == 200
    session = app.extensions["catalog.sessionmaker"]()
    try:
        assert session.scalar(select(ApiToken.last_used_at)) is not None
    finally:
        session.close()


@pytest.mark.parametrize("column", [c for c in KEPT_COLUMNS if c != "id"])
def test_every_column_a_worker_keeps_moves_the_credentials_version(app, column):
    """known_tokens keeps these user columns until the credentials version moves; the
    trigger list in migration 0008 is a copy (a migration is frozen), held to it here."""
    from catalog.data_versions import read_versions

    make_user(app, "viewer")
    session = app.extensions["catalog.sessionmaker"]()
    try:
        before = read_versions(session).credentials
        session.execute(text(f"UPDATE users SET {column} = {column}"))
        session.commit()
        assert read_versions(session).credentials != before
    finally:
        session.close()


def test_a_kept_user_is_the_sessions_own_object_with_its_other_columns_loadable(app):
    """attach builds the user as a loaded row is built: persistent in the request's session,
    the one object for that row there, the columns it does not keep loaded on use."""
    from catalog.auth.known_tokens import KnownTokens
    from catalog.auth.models import User
    from catalog.auth.service import user_for_token

    user_id, email, token = make_user(app, "editor")
    known = KnownTokens()
    with app.test_request_context("/api/v1/incidents"):
        session = app.extensions["catalog.sessionmaker"]()
        try:
            assert user_for_token(session, token, known=known) is not None  # now kept
            session.close()
            kept = user_for_token(session, token, known=known)
            assert kept is not None and kept.id == user_id and kept.email == email
            assert kept in session and session.get(User, user_id) is kept
            assert kept.created_at is not None  # not kept: loaded on first use
            assert user_for_token(session, token, known=known) is kept
            assert not session.dirty
        finally:
            session.close()
