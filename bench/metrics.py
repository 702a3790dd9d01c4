"""Metrics at scale: the app's figures against the floor of raw SQL.

Prints figures; asserts nothing. Usage:

    .venv/bin/python bench/metrics.py [--incidents 100000] [--database-url URL]

Without --database-url it uses a fresh SQLite file in a temporary folder. With a
PostgreSQL server URL it creates and drops a database of its own on it. The data
comes from the bulk demo path (`catalog demo --incidents N`).

The floor is the smallest raw SQL that returns the same durations the app
reduces to statistics, fetched through the bare DB-API cursor: no ORM, no
statistics, no JSON. app/floor says what the rest of the app costs on top.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from sqlalchemy import Engine, text
from support import bench_app, getter, signed_in_client, timed

FLOOR_SQL = {
    "sqlite": {
        "vector": "SELECT iv.vector_id, (julianday(i.detected_at) - julianday(i.started_at))"
        " * 86400.0, (julianday(i.recovered_at) - julianday(i.detected_at)) * 86400.0"
        " FROM incidents i JOIN incident_vectors iv ON iv.incident_id = i.id",
        "month": "SELECT started_at, (julianday(detected_at) - julianday(started_at)) * 86400.0,"
        " (julianday(recovered_at) - julianday(detected_at)) * 86400.0 FROM incidents",
    },
    "postgresql": {
        "vector": "SELECT iv.vector_id, EXTRACT(EPOCH FROM i.detected_at - i.started_at)::float8,"
        " EXTRACT(EPOCH FROM i.recovered_at - i.detected_at)::float8"
        " FROM incidents i JOIN incident_vectors iv ON iv.incident_id = i.id",
        "month": "SELECT started_at, EXTRACT(EPOCH FROM detected_at - started_at)::float8,"
        " EXTRACT(EPOCH FROM recovered_at - detected_at)::float8 FROM incidents",
    },
}


def raw_fetch(engine: Engine, sql: str) -> Callable[[], object]:
    def call() -> object:
        conn = engine.raw_connection()
        try:
            cursor = conn.cursor()
            cursor.execute(sql)
            rows = cursor.fetchall()
            cursor.close()
            return rows
        finally:
            conn.close()

    return call


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    app, cleanup = bench_app(args.database_url)
    from catalog.demo import load_demo_bulk

    engine = app.extensions["catalog.engine"]
    backend = engine.dialect.name
    print(f"backend={backend} incidents={args.incidents:,}")
    try:
        session = app.extensions["catalog.sessionmaker"]()
        start = time.perf_counter()
        load_demo_bulk(session, count=args.incidents, seed=1)
        elapsed = time.perf_counter() - start
        session.close()
        print(f"  {'bulk load (catalog demo --incidents N)':<44} {elapsed:9.1f} s")
        with engine.begin() as conn:  # fresh statistics, as autovacuum would have by now
            conn.execute(text("ANALYZE"))
        if backend == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))

        client = signed_in_client(app)

        def get(path: str) -> Callable[[], object]:
            return getter(client, path)

        figures: dict[str, float] = {}
        for group_by in ("vector", "month"):
            figures[f"api {group_by}"] = timed(
                f"GET /api/v1/metrics?group_by={group_by}",
                get(f"/api/v1/metrics?group_by={group_by}"),
                args.repeat,
            )
            figures[f"floor {group_by}"] = timed(
                f"floor: raw SQL durations ({group_by})",
                raw_fetch(engine, FLOOR_SQL[backend][group_by]),
                args.repeat,
            )
        figures["overview"] = timed("GET / (overview page, signed in)", get("/"), args.repeat)
        for group_by in ("vector", "month"):
            ratio = figures[f"api {group_by}"] / figures[f"floor {group_by}"]
            print(f"  app/floor group_by={group_by:<26} {ratio:9.2f}")
        print("  (pandas comparison and caching: not done yet)")
    finally:
        cleanup()


if __name__ == "__main__":
    main()
