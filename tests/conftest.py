"""Fixtures like flaskr's: app, client, runner, session — over SQLite and PostgreSQL.

Every test that touches the database runs once per backend: SQLite always (a
real file, copied from a migrated template), PostgreSQL when
CATALOG_TEST_DATABASE_URL is set (a database of this run's own, migrated once,
its tables reset to the seeded catalog before each test).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from catalog import create_app
from catalog.migrate import upgrade

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("CATALOG_TEST_DATABASE_URL")
REQUIRE_ALL = bool(os.environ.get("CATALOG_REQUIRE_ALL_TESTS"))
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]
TABLES = (
    "audit_events",
    "login_attempts",
    "user_sessions",
    "api_tokens",
    "users",
    "action_items",
    "postmortems",
    "incident_vectors",
    "incidents",
    "vectors",
)


def skip_or_fail(reason: str) -> None:
    """Skip on a user's machine; in CI (CATALOG_REQUIRE_ALL_TESTS) a missing part is a failure."""
    if REQUIRE_ALL:
        pytest.fail(f"required in CI but unavailable: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("CATALOG_") and key not in (
            "CATALOG_TEST_DATABASE_URL",
            "CATALOG_REQUIRE_ALL_TESTS",
        ):
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "catalog.sqlite"
    upgrade(f"sqlite:///{path}")
    return path


@contextmanager
def scratch_pg_database(prefix: str, *, migrate: bool = True) -> Iterator[str]:
    """A new database on the test PostgreSQL server (migrated unless told not to), dropped
    afterwards."""
    assert PG_URL
    server = make_url(PG_URL)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = server.set(database=name).render_as_string(hide_password=False)
        if migrate:
            upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[tuple[str, list[dict]]]:
    """A database of this run's own on the PostgreSQL server, migrated once."""
    with scratch_pg_database("catalog_test") as url:
        engine = create_engine(url)
        with engine.connect() as conn:
            seed = [
                dict(r._mapping) for r in conn.execute(text("SELECT * FROM vectors ORDER BY id"))
            ]
        engine.dispose()
        yield url, seed


def _reset_pg(url: str, seed: list[dict]) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        columns = list(seed[0])
        conn.execute(
            text(
                f"INSERT INTO vectors ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"
            ),
            seed,
        )
        conn.execute(text("SELECT setval('vectors_id_seq', (SELECT max(id) FROM vectors))"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "catalog.sqlite"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url, seed = request.getfixturevalue("pg_database")
    _reset_pg(url, seed)
    return url


@pytest.fixture
def app_config(database_url: str, tmp_path: Path) -> dict[str, object]:
    """Overrides for create_app; tests may change them before `app` is built."""
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": "catalog.test",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast in tests; scrypt in production
    }


@pytest.fixture
def app(app_config: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CATALOG_INSTANCE_PATH", str(tmp_path / "instance"))
    application = create_app(dict(app_config))
    yield application
    application.extensions["catalog.engine"].dispose()


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


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    """Signed in as an admin, so tests of behaviour are not about permissions."""
    return signed_in_client(app, "admin")


@pytest.fixture
def anon_client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def runner(app):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@pytest.fixture
def session(app) -> Iterator[Session]:  # type: ignore[no-untyped-def]
    """A session outside any request, for calling domain functions directly."""
    s: Session = app.extensions["catalog.sessionmaker"]()
    try:
        yield s
    finally:
        s.rollback()
        s.close()


@pytest.fixture
def settings(app):  # type: ignore[no-untyped-def]
    return app.extensions["catalog.settings"]


@pytest.fixture
def backend(database_url: str) -> str:
    return "postgresql" if database_url.startswith("postgresql") else "sqlite"


@pytest.fixture
def api_headers(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Headers an API client needs: the admin's bearer token (the same user as `client`)."""
    return {"Authorization": f"Bearer {client.token}"}
