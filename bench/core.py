"""Core timings at a realistic team size: logging incidents, listing, metrics.

Prints figures; asserts nothing. Usage:

    .venv/bin/python bench/core.py [--incidents 5000] [--database-url URL]

Without --database-url it uses a fresh SQLite file in a temporary folder. With a
PostgreSQL URL it creates and drops a database of its own on that server.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def timed(label: str, fn: Callable[[], object], repeat: int = 5) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1000)
    best, median = min(runs), statistics.median(runs)
    print(f"  {label:<48} median {median:8.1f} ms   best {best:8.1f} ms   (n={repeat})")
    return median


def admin_client(app):  # type: ignore[no-untyped-def]
    """A test client signed in as an admin on the web and carrying an admin API token."""
    from catalog.auth.service import create_token, create_user

    with app.app_context():
        session = app.extensions["catalog.sessionmaker"]()
        user, _ = create_user(
            session, email="bench@example.com", role="admin", password="bench password"
        )
        token = create_token(session, user, "bench").secret
        session.commit()
        session_id = user.get_id()
        session.close()
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = session_id
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--incidents", type=int, default=5000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    os.environ.setdefault("CATALOG_ENV", "development")
    tmp = tempfile.mkdtemp(prefix="catalog-bench-")
    os.environ["CATALOG_INSTANCE_PATH"] = tmp
    drop = None
    if args.database_url:
        server = make_url(args.database_url)
        name = f"catalog_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = server.set(database=name).render_as_string(hide_password=False)

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    else:
        url = f"sqlite:///{tmp}/bench.sqlite"

    from catalog import create_app
    from catalog.demo import load_demo
    from catalog.migrate import upgrade

    upgrade(url)
    app = create_app({"DATABASE_URL": url, "TESTING": True, "WTF_CSRF_ENABLED": False})
    backend = make_url(url).get_backend_name()
    print(f"backend={backend} incidents={args.incidents}")
    try:
        session = app.extensions["catalog.sessionmaker"]()
        start = time.perf_counter()
        load_demo(session, count=args.incidents, seed=1, days=365)
        elapsed = time.perf_counter() - start
        print(
            f"  {'log incidents through the domain rules':<48} {args.incidents / elapsed:8.0f} incidents/s"
        )
        session.close()

        client = admin_client(app)

        def get(path: str) -> Callable[[], object]:
            def call() -> object:
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)
                return response

            return call

        timed("GET /api/v1/metrics?group_by=vector", get("/api/v1/metrics?group_by=vector"))
        timed("GET /api/v1/metrics?group_by=month", get("/api/v1/metrics?group_by=month"))
        timed("GET /api/v1/incidents (50 per page)", get("/api/v1/incidents"))
        timed("GET /incidents/ (HTML list, 25 per page)", get("/incidents/"))
        timed("GET / (overview page)", get("/"))
        timed("GET /incidents/1 (detail page)", get("/incidents/1"))
    finally:
        app.extensions["catalog.engine"].dispose()
        if drop:
            drop()


if __name__ == "__main__":
    main()
