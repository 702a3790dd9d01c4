"""Time and peak memory of the CSV and JSON exports and imports at 10k, 100k and 1M incidents.

    .venv/bin/python bench/exports.py [--sizes 10000,100000,1000000] [--database-url URL]
        [--skip-import-above N] [--formats csv,json]

Each step runs in a child process of its own, so its peak resident memory
(ru_maxrss) is that step's alone: an export whose memory is flat shows about
the same peak at 10k and at 1M incidents. The parent loads the incidents with
the bulk demo loader (no post-mortems), then for each format exports to a
file and imports that file into a fresh, empty, migrated database through the
same `run_import` the CLI, the API and the upload page call.

Without --database-url the databases are SQLite files; with a PostgreSQL
server URL, scratch databases on it (dropped afterwards).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from catalog.settings import settings_of

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support import scratch_database  # noqa: E402


def _child(step: str, url: str, path: str) -> None:
    """One measured step, in this process; prints one JSON line."""
    os.environ.setdefault("CATALOG_INSTANCE_PATH", tempfile.mkdtemp(prefix="catalog-bench-"))
    from catalog import create_app

    app = create_app({"DATABASE_URL": url, "TESTING": True})
    with app.app_context():
        session = app.extensions["catalog.sessionmaker"]()
        session.info["actor_label"] = "bench"
        start = time.perf_counter()
        detail = ""
        if step.startswith("export"):
            from catalog.exports.backup import backup_chunks
            from catalog.exports.incidents_csv import incident_csv_chunks

            chunks = (
                incident_csv_chunks(session, settings_of(app))
                if step == "export-csv"
                else backup_chunks(session)
            )
            with open(path, "wb") as out:
                for chunk in chunks:
                    out.write(chunk.encode("utf-8"))
            detail = f"{os.path.getsize(path) / 2**20:.0f} MB"
        else:
            from catalog.imports.formats import run_import

            fmt = "csv" if step == "import-csv" else "json"
            raw = Path(path).read_bytes()
            summary = run_import(session, fmt, raw)
            session.commit()
            detail = f"{summary.created} created"
        seconds = time.perf_counter() - start
        session.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "detail": detail}))


def _run(step: str, url: str, path: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", step, url, path],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fresh(server_url: str | None, tmp: str, name: str):  # type: ignore[no-untyped-def]
    from catalog.migrate import upgrade

    os.makedirs(f"{tmp}/{name}", exist_ok=True)
    url, drop = scratch_database(server_url, f"{tmp}/{name}")
    upgrade(url)
    return url, drop


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL")
    parser.add_argument(
        "--skip-import-above", type=int, default=None, help="Measure imports only up to N."
    )
    parser.add_argument("--formats", default="csv,json", help="Which of csv,json to measure.")
    parser.add_argument("--child", nargs=3, metavar=("STEP", "URL", "PATH"))
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return

    from sqlalchemy.orm import Session

    from catalog.db import make_engine
    from catalog.demo import load_demo_bulk

    backend = "postgresql" if args.database_url else "sqlite"
    print(f"Exports and imports on {backend}; peak = the step's own process, resident MB")
    print(f"{'incidents':>10} {'step':<12} {'seconds':>9} {'peak MB':>9}  detail")
    for size in (int(s) for s in args.sizes.split(",")):
        tmp = tempfile.mkdtemp(prefix="catalog-bench-")
        source, drop_source = _fresh(args.database_url, tmp, "source")
        try:
            engine = make_engine(source)
            with Session(engine) as session:
                session.info["actor_label"] = "bench"
                load_demo_bulk(session, count=size)
            engine.dispose()
            for fmt in args.formats.split(","):
                path = f"{tmp}/export.{fmt}"
                result = _run(f"export-{fmt}", source, path)
                print(
                    f"{size:>10,} {'export ' + fmt:<12} {result['seconds']:>9.1f} "
                    f"{result['peak_mb']:>9.0f}  {result['detail']}",
                    flush=True,
                )
                if args.skip_import_above and size > args.skip_import_above:
                    continue
                target, drop_target = _fresh(args.database_url, tmp, f"target-{fmt}")
                try:
                    result = _run(f"import-{fmt}", target, path)
                finally:
                    drop_target()
                print(
                    f"{size:>10,} {'import ' + fmt:<12} {result['seconds']:>9.1f} "
                    f"{result['peak_mb']:>9.0f}  {result['detail']}",
                    flush=True,
                )
                os.remove(path)
        finally:
            drop_source()


if __name__ == "__main__":
    main()
