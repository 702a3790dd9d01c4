"""The pages a manager clicks through, warm, and the dossier's PDF: server time per request.

Prints figures; asserts nothing. Usage:

    .venv/bin/python bench/pages.py [--incidents 5000] [--repeat 40] [--database-url URL]

Bulk demo history (a year), an admin signed in through the test client; each page is
fetched once to warm the caches, then `--repeat` times (the PDF 5 times).
"""

from __future__ import annotations

import argparse
import statistics
import time

from support import bench_app, signed_in_client

PAGES = (
    "/incidents/",
    "/incidents/?rca=flagged",
    "/",
    "/reports/?range=180d",
    "/reports/?range=365d&by=team",
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--incidents", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    app, cleanup = bench_app(args.database_url)
    try:
        from catalog.demo import load_demo_bulk

        with app.app_context():
            session = app.extensions["catalog.sessionmaker"]()
            load_demo_bulk(session, count=args.incidents, seed=1, days=365)
            session.close()
        client = signed_in_client(app)
        backend = app.extensions["catalog.engine"].dialect.name
        print(f"backend={backend} incidents={args.incidents}")
        for path, repeat in [(p, args.repeat) for p in PAGES] + [
            ("/exports/dossier?format=pdf", 5)
        ]:
            assert client.get(path).status_code == 200, path
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, path
            print(
                f"  GET {path:34s} median {statistics.median(times):8.1f} ms"
                f"   best {min(times):8.1f} ms   (n={repeat})"
            )
    finally:
        cleanup()


if __name__ == "__main__":
    main()
