"""What the bench scripts share: a scratch database, a signed-in client, a timer."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def timed(label: str, fn: Callable[[], object], repeat: int) -> float:
    """Median of `repeat` runs after one warm-up, in milliseconds."""
    fn()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1000)
    median = statistics.median(runs)
    print(f"  {label:<44} median {median:9.1f} ms   best {min(runs):9.1f} ms   (n={repeat})")
    return median


def scratch_database(server_url: str | None, tmp: str) -> tuple[str, Callable[[], None]]:
    """A fresh database URL and how to drop it."""
    if not server_url:
        return f"sqlite:///{tmp}/bench.sqlite", lambda: None
    server = make_url(server_url)
    name = f"catalog_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return server.set(database=name).render_as_string(hide_password=False), drop


def signed_in_client(app):  # type: ignore[no-untyped-def]
    """An admin with a session cookie (for pages) and a bearer token (for the API)."""
    from catalog.auth.service import create_token, create_user, start_session

    session = app.extensions["catalog.sessionmaker"]()
    session.info["actor_label"] = "bench"
    with app.app_context():
        user, _ = create_user(
            session, email="bench@example.com", role="admin", password="bench-password-123"
        )
        token = create_token(session, user, "bench").secret
        start_session(session, user)  # a real server-side session: the loader accepts no other
    session.commit()
    cookie_id = user.get_id()
    session.close()
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = cookie_id
        sess["_fresh"] = True
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def getter(client, path: str) -> Callable[[], object]:  # type: ignore[no-untyped-def]
    """A call that GETs `path` and insists on a 200, for `timed`."""

    def call() -> object:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return response

    return call


def bench_app(server_url: str | None):  # type: ignore[no-untyped-def]
    """A migrated scratch database and an app on it; returns (app, cleanup)."""
    os.environ.setdefault("CATALOG_ENV", "development")
    tmp = tempfile.mkdtemp(prefix="catalog-bench-")
    os.environ["CATALOG_INSTANCE_PATH"] = tmp
    url, drop = scratch_database(server_url, tmp)

    from catalog import create_app
    from catalog.migrate import upgrade

    upgrade(url)
    app = create_app({"DATABASE_URL": url, "TESTING": True, "WTF_CSRF_ENABLED": False})

    def cleanup() -> None:
        app.extensions["catalog.engine"].dispose()
        drop()

    return app, cleanup
