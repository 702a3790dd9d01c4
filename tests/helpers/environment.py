"""What a test run has to work with: the repository, the database backends, missing parts.

Every test that touches the database runs once per backend in `BACKENDS`: SQLite always,
PostgreSQL when CATALOG_TEST_DATABASE_URL is set. A part a test needs but this machine
lacks (a browser, the shared data, the PostgreSQL server) is a skip on a user's machine
and a failure in CI (CATALOG_REQUIRE_ALL_TESTS): `skip_or_fail`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from catalog.migrate import upgrade

REPO = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("CATALOG_TEST_DATABASE_URL")
REQUIRE_ALL = bool(os.environ.get("CATALOG_REQUIRE_ALL_TESTS"))
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]


def skip_or_fail(reason: str) -> None:
    """Skip on a user's machine; in CI (CATALOG_REQUIRE_ALL_TESTS) a missing part is a failure."""
    if REQUIRE_ALL:
        pytest.fail(f"required in CI but unavailable: {reason}")
    pytest.skip(reason)


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
