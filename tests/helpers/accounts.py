"""Accounts for tests: a user with a bearer token, a web session, a client signed in as both.

Every account has the password `PASSWORD`; the app's fast test hash method applies.
"""

from __future__ import annotations

PASSWORD = "correct horse battery staple"


def make_user(app, role: str, email: str | None = None):  # type: ignore[no-untyped-def]
    """An account with a bearer token; returns (user_id, email, token)."""
    from catalog.auth.service import create_token, create_user

    session = app.extensions["catalog.sessionmaker"]()
    session.info["actor_label"] = "test setup"
    try:
        with app.app_context():  # so the app's (fast, in tests) password hash method applies
            user, _ = create_user(
                session, email=email or f"{role}@example.com", role=role, password=PASSWORD
            )
            token = create_token(session, user, "tests").secret
        session.commit()
        return user.id, user.email, token
    finally:
        session.close()


def start_web_session(app, user_id: int) -> str:  # type: ignore[no-untyped-def]
    """A real server-side web session for this user; returns what the cookie holds."""
    from catalog.auth.models import User
    from catalog.auth.service import start_session

    session = app.extensions["catalog.sessionmaker"]()
    try:
        user = session.get(User, user_id)
        start_session(session, user)
        session.commit()
        return user.get_id()
    finally:
        session.close()


def signed_in_client(app, role: str, email: str | None = None):  # type: ignore[no-untyped-def]
    """A test client signed in on the web (session cookie) and on the API (bearer token)."""
    user_id, address, token = make_user(app, role, email)
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = start_web_session(app, user_id)
        sess["_fresh"] = True
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    client.user_email = address  # type: ignore[attr-defined]
    client.token = token  # type: ignore[attr-defined]
    return client
