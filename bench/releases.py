"""What the release features cost: canary analysis by sample size, result-file imports,
change metrics and the pages that show them. Prints figures; asserts nothing. Usage:

    .venv/bin/python bench/releases.py [--database-url URL] [--repeat 5]

A year of demo history (400 incidents, a weekly release of six services with load tests and
rolled-back canaries) in a scratch database; an admin signed in through the test client.
"""

from __future__ import annotations

import argparse
import io
import random
import time

from support import bench_app, signed_in_client, timed

WRK = b"""Running 20s test @ http://127.0.0.1:8080/
  2 threads and 20 connections
  Latency Distribution
     50%   21.69ms
     75%   44.24ms
     90%   76.84ms
     99%  224.22ms
  16880 requests in 20.00s, 41.73MB read
Requests/sec:    843.51
"""


def samples(n: int, mean: float, seed: int) -> bytes:
    rng = random.Random(seed)
    return "\n".join(f"{rng.lognormvariate(mean, 0.5):.2f}" for _ in range(n)).encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    app, cleanup = bench_app(args.database_url)
    try:
        from catalog.demo import load_demo

        with app.app_context():
            session = app.extensions["catalog.sessionmaker"]()
            load_demo(session, count=400, seed=7, days=365)
            session.close()
        client = signed_in_client(app)
        backend = app.extensions["catalog.engine"].dialect.name
        print(f"backend={backend}")
        release = client.post(
            "/api/v1/releases",
            json={
                "service": "bench",
                "tag": "v1",
                "deployed_at": "2026-03-02T12:00:00Z",
                "guard_p99_ms": 300,
            },
        ).get_json()["id"]

        def canary(n: int):  # type: ignore[no-untyped-def]
            base, can = samples(n, 4.2, 1), samples(n, 4.3, 2)

            def post() -> None:
                response = client.post(
                    f"/api/v1/releases/{release}/canary",
                    data={
                        "baseline": (io.BytesIO(base), "b.csv"),
                        "canary": (io.BytesIO(can), "c.csv"),
                    },
                    content_type="multipart/form-data",
                )
                assert response.status_code == 201, response.get_data()[:200]

            return post

        for n in (1_000, 10_000, 100_000, 500_000):
            timed(
                f"canary analysis, {n:,} samples a side",
                canary(n),
                1 if n > 100_000 else args.repeat,
            )

        def wrk_import() -> None:
            response = client.post(
                f"/api/v1/releases/{release}/load-tests/import?tier=5x&format=wrk", data=WRK
            )
            assert response.status_code == 201

        timed("wrk result import", wrk_import, args.repeat * 4)
        for path in (
            "/api/v1/metrics/changes?range=365d&group_by=service",
            "/api/v1/metrics/changes?range=365d&group_by=week",
            "/reports/?range=365d",
            "/releases/",
            f"/releases/{release}",
            "/exports/dossier",
        ):
            timed(f"GET {path}", lambda path=path: client.get(path), args.repeat * 4)
        started = time.perf_counter()
        client.get("/exports/dossier?format=pdf")
        print(f"  dossier PDF with the matrix: {(time.perf_counter() - started) * 1000:.0f} ms")
    finally:
        cleanup()


if __name__ == "__main__":
    main()
