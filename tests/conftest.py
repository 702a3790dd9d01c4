"""Fixtures like flaskr's: app, client, runner, session — over SQLite and PostgreSQL.

Every test that touches the database runs once per backend: SQLite always (a
real file, copied from a migrated template), PostgreSQL when
CATALOG_TEST_DATABASE_URL is set (a database of this run's own, migrated once,
its tables reset to the seeded catalog before each test).

Only fixtures live here. What tests import (signed-in clients, the backends, scratch
databases, each subject's checks) is in tests/helpers.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import T0, make_incident

# Re-exported for tests/test_accounts.py and tests/test_account_attacks.py, which still import
# them from conftest; everything else imports them from helpers.accounts.
from helpers.accounts import PASSWORD as PASSWORD
from helpers.accounts import make_user as make_user
from helpers.accounts import signed_in_client as signed_in_client
from helpers.accounts import start_web_session as start_web_session
from helpers.backup import export
from helpers.environment import BACKENDS, scratch_pg_database
from helpers.hostile import DUE, World
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from catalog import create_app
from catalog.incidents.models import Incident
from catalog.incidents.service import update_incident
from catalog.migrate import upgrade
from catalog.postmortems.service import save_postmortem
from catalog.settings import settings_of
from catalog.vectors.service import get_vector, update_vector

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
    "canary_analyses",
    "load_tests",
    "readiness_bars",
    "releases",
    "vectors",
)


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
    return settings_of(app)


@pytest.fixture
def backend(database_url: str) -> str:
    return "postgresql" if database_url.startswith("postgresql") else "sqlite"


@pytest.fixture
def api_headers(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Headers an API client needs: the admin's bearer token (the same user as `client`)."""
    return {"Authorization": f"Bearer {client.token}"}


# ---- fixtures of the test files split by subject -------------------------------------


# tests/test_hostile_*.py: the world every case starts from (tests/helpers/hostile.py).
@pytest.fixture
def world(app, client, session) -> World:
    incident = make_incident(session)
    update_incident(session, incident, {"team": "search-infra", "version": 1})
    item = {"title": "Add a canary", "owner": "sam", "due_on": DUE}
    pm, _ = save_postmortem(session, incident, {"root_cause": "first", "action_items": [item]})
    session.commit()
    item["id"] = pm.action_items[0].id
    save_postmortem(
        session,
        incident,
        {"version": 1, "root_cause": "A cache stampede.", "action_items": [item]},
    )
    update_vector(session, get_vector(session, "data-drift"), {"detection": "PSI", "version": 1})
    session.commit()
    return World(app, client, session, incident.id, item["id"])


# tests/test_backup_*.py
@pytest.fixture
def small_backup(app, session) -> dict[str, Any]:
    """Three incidents (the last with a post-mortem and action items) as a backup whose
    incidents are all new to this database, and whose first vector changes a target,
    so a refused import that wrote anything would show."""
    for n in range(3):
        start = T0 + timedelta(hours=n)
        make_incident(
            session,
            title=f"Incident {n}",
            started_at=start,
            detected_at=start + timedelta(minutes=2),
            recovered_at=start + timedelta(minutes=10),
        )
    last = session.scalars(select(Incident).order_by(Incident.id.desc())).first()
    save_postmortem(
        session,
        last,
        {
            "status": "draft",
            "action_items": [{"title": "Add an alert", "owner": "li.wei", "due_on": None}],
        },
    )
    session.commit()
    document = json.loads(export(app))
    for n, record in enumerate(document["incidents"]):
        record["uid"] = f"new-{n}"
    document["vectors"][0]["mttd_target_minutes"] = 99
    return document


@pytest.fixture
def small_import_limit(app_config):  # type: ignore[no-untyped-def]
    app_config["IMPORT_MAX_BYTES"] = 3 * 1024 * 1024
    return app_config
