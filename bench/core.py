"""Core timings at a realistic team size: logging incidents, listing, metrics.

Prints figures; asserts nothing. Usage:

    .venv/bin/python bench/core.py [--incidents 5000] [--database-url URL]

Without --database-url it uses a fresh SQLite file in a temporary folder. With a
PostgreSQL URL it creates and drops a database of its own on that server.
"""

from __future__ import annotations

import argparse
import time

from support import bench_app, getter, signed_in_client, timed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--incidents", type=int, default=5000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    app, cleanup = bench_app(args.database_url)
    from catalog.demo import load_demo

    backend = app.extensions["catalog.engine"].dialect.name
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

        client = signed_in_client(app)
        for label, path in (
            ("GET /api/v1/metrics?group_by=vector", "/api/v1/metrics?group_by=vector"),
            ("GET /api/v1/metrics?group_by=month", "/api/v1/metrics?group_by=month"),
            ("GET /api/v1/incidents (50 per page)", "/api/v1/incidents"),
            ("GET /incidents/ (HTML list, 25 per page)", "/incidents/"),
            ("GET / (dashboard)", "/"),
            ("GET /incidents/1 (detail page)", "/incidents/1"),
        ):
            timed(label, getter(client, path), 5)
    finally:
        cleanup()


if __name__ == "__main__":
    main()
