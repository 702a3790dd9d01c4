"""Metrics at scale: the app against the raw-SQL floor and against pandas.

Prints figures; asserts nothing. Usage:

    .venv/bin/python bench/metrics.py [--incidents 100000] [--database-url URL]

Without --database-url it uses a fresh SQLite file in a temporary folder. With a
PostgreSQL server URL it creates and drops a database of its own on it. The data
comes from the bulk demo path (`catalog demo --incidents N`).

What is timed (medians of --repeat runs after a warm-up, in-process through the
Flask test client, so the figures are server time without a network):

- the metrics API for group_by=vector and group_by=month over all data, cold
  (the metrics cache emptied before every request: what the first request after
  a write costs) and warm (served from the cache, as every request until the
  next write or the next open incident to start breaching);
- the dashboard (the home page, default view: the last 90 days), cold and warm;
- the floor: the smallest raw SQL that returns the same durations the app
  reduces, fetched through the bare DB-API cursor (no ORM, no statistics, no
  JSON). "The same" means identical values: on SQLite that includes the
  rounding to the millisecond that makes julianday() arithmetic exact, so the
  unrounded query is printed too, for reference;
- pandas: what someone without the app would do, read the CSV export of the
  incidents and compute the same per-vector statistics (count, mean, median,
  p90, max of ttd and ttr). Reading the file and computing are timed; making
  the export is printed separately.

app/floor and app/pandas are printed for cold and warm.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable

from sqlalchemy import Engine, text
from support import bench_app, getter, signed_in_client, timed

from catalog.settings import settings_of

SQLITE_TTD = "(julianday(i.detected_at) - julianday(i.started_at)) * 86400.0"
SQLITE_TTR = "(julianday(i.recovered_at) - julianday(i.detected_at)) * 86400.0"
PG_TTD = "date_part('epoch', i.detected_at - i.started_at)"
PG_TTR = "date_part('epoch', i.recovered_at - i.detected_at)"
FROM = {
    "vector": ("iv.vector_id", "incidents i JOIN incident_vectors iv ON iv.incident_id = i.id"),
    "month": ("i.started_at", "incidents i"),
}


def floor_sql(backend: str, group_by: str, *, exact: bool = True) -> str:
    key, source = FROM[group_by]
    if backend == "sqlite":
        ttd, ttr = (
            (f"round({SQLITE_TTD}, 3)", f"round({SQLITE_TTR}, 3)")
            if exact
            else (SQLITE_TTD, SQLITE_TTR)
        )
    else:
        ttd, ttr = PG_TTD, PG_TTR
    return f"SELECT {key}, {ttd}, {ttr} FROM {source}"


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


def cold(app, fetch: Callable[[], object]) -> Callable[[], object]:  # type: ignore[no-untyped-def]
    """The request with the metrics cache emptied first: the cost after a write."""
    cache = app.extensions["catalog.metrics_cache"]

    def call() -> object:
        cache.clear()
        return fetch()

    return call


def export_csv(app, path: str) -> float:  # type: ignore[no-untyped-def]
    """Write the incidents CSV export (the streamed /incidents/export.csv body) to a file."""
    from catalog.exports.incidents_csv import incident_csv_chunks

    session = app.extensions["catalog.sessionmaker"]()
    start = time.perf_counter()
    with open(path, "w", encoding="utf-8", newline="") as out:
        for chunk in incident_csv_chunks(session, settings_of(app)):
            out.write(chunk)
    session.close()
    return time.perf_counter() - start


def pandas_per_vector(path: str):  # type: ignore[no-untyped-def]
    """Per-vector count/mean/median/p90/max of ttd and ttr from the CSV, as a user would."""
    import pandas as pd

    frame = pd.read_csv(path, usecols=["id", "vectors", "ttd_s", "ttr_s"])
    frame["vector"] = frame["vectors"].str.split(";")
    frame = frame.explode("vector")
    grouped = frame.groupby("vector")[["ttd_s", "ttr_s"]]
    return grouped.agg(
        ["count", "mean", "median", lambda s: s.quantile(0.9), "max"]  # linear = inclusive
    )


def check_pandas_agrees(app, table) -> str:  # type: ignore[no-untyped-def]
    """Do pandas' medians and p90s equal the app's? (They should: same data, same method.)"""
    from catalog.reports.metrics import compute_metrics

    session = app.extensions["catalog.sessionmaker"]()
    groups = compute_metrics(session, settings_of(app), group_by="vector").groups
    session.close()
    worst = 0.0
    for g in groups:
        if g.key not in table.index:
            continue
        row = table.loc[g.key]
        for part in ("ttd", "ttr"):
            stats = getattr(g, part)
            for ours, theirs in (
                (stats.median, row[(f"{part}_s", "median")]),
                (stats.p90, row[(f"{part}_s", "<lambda_0>")]),
            ):
                if ours is not None:
                    worst = max(worst, abs(ours - float(theirs)))
    return f"largest difference {worst:.6f} s"


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
    scratch = tempfile.mkdtemp(prefix="catalog-bench-csv-")
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
        figures: dict[str, float] = {}
        for group_by in ("vector", "month"):
            path = f"/api/v1/metrics?group_by={group_by}"
            figures[f"cold {group_by}"] = timed(
                f"GET {path} cold", cold(app, getter(client, path)), args.repeat
            )
            figures[f"warm {group_by}"] = timed(
                f"GET {path} warm", getter(client, path), args.repeat
            )
            figures[f"floor {group_by}"] = timed(
                f"floor: raw SQL durations ({group_by})",
                raw_fetch(engine, floor_sql(backend, group_by)),
                args.repeat,
            )
            if backend == "sqlite":
                timed(
                    "  (the same, unrounded: not exact)",
                    raw_fetch(engine, floor_sql(backend, group_by, exact=False)),
                    args.repeat,
                )
        figures["dashboard cold"] = timed(
            "GET / dashboard (last 90 days) cold", cold(app, getter(client, "/")), args.repeat
        )
        figures["dashboard warm"] = timed(
            "GET / dashboard (last 90 days) warm", getter(client, "/"), args.repeat
        )
        timed(
            "GET /reports/?range=730d cold",
            cold(app, getter(client, "/reports/?range=730d")),
            args.repeat,
        )
        timed("GET /reports/?range=730d warm", getter(client, "/reports/?range=730d"), args.repeat)
        timed(
            "GET /reports/chart/ttr.svg (730 days) warm",
            getter(client, "/reports/chart/ttr.svg?range=730d"),
            args.repeat,
        )

        csv_path = os.path.join(scratch, "incidents.csv")
        made = export_csv(app, csv_path)
        size = os.path.getsize(csv_path) / 1e6
        print(f"  {'CSV export of all incidents (streamed)':<44} {made:9.1f} s   {size:.0f} MB")
        runs = []
        table = None
        for _ in range(max(1, min(args.repeat, 3))):
            start = time.perf_counter()
            table = pandas_per_vector(csv_path)
            runs.append((time.perf_counter() - start) * 1000)
        figures["pandas"] = statistics.median(runs)
        print(
            f"  {'pandas: read CSV + per-vector stats':<44} median {figures['pandas']:9.1f} ms   (n={len(runs)})"
        )
        print(f"  pandas vs app, medians and p90 by vector: {check_pandas_agrees(app, table)}")

        print("  ratios")
        for group_by in ("vector", "month"):
            floor = figures[f"floor {group_by}"]
            print(
                f"    app/floor  group_by={group_by:<7} cold {figures[f'cold {group_by}'] / floor:6.2f}"
                f"   warm {figures[f'warm {group_by}'] / floor:6.2f}"
            )
        print(
            f"    app/pandas group_by=vector  cold {figures['cold vector'] / figures['pandas']:6.2f}"
            f"   warm {figures['warm vector'] / figures['pandas']:6.2f}"
        )
        print(
            f"    dashboard: cold {figures['dashboard cold']:.0f} ms, warm {figures['dashboard warm']:.0f} ms"
            " (target: under 150 ms)"
        )
    finally:
        cleanup()


if __name__ == "__main__":
    main()
