"""Load at 1×, 5× and 10× a base concurrency, against gunicorn on loopback, with the ceiling.

Prints figures; asserts nothing. Usage:

    .venv/bin/python bench/load.py [--incidents 100000] [--database-url URL]
                                   [--base 4] [--duration 20] [--workers 4]
                                   [--release-file PATH] [--breakdown]

What it does, per database (a fresh SQLite file, or with --database-url a PostgreSQL
server on which it creates and drops a database of its own):

1. bulk-loads --incidents incidents (`catalog demo --bulk`'s generator: two years of
   history; on PostgreSQL then VACUUM ANALYZE, where autovacuum would be minutes later,
   so its first pass over 10^5 new rows does not land in a tier), makes an admin, signs
   in through the real login form and makes a token;
2. starts the app under gunicorn with catalog/gunicorn_conf.py (--workers sync workers)
   on 127.0.0.1 and a free port;
3. warms up for a few seconds (not counted), then drives the *mix* with wrk for
   --duration seconds at --base, 5× and 10× that many connections: the dashboard, the
   incident list page and API (50 a page), incident pages and API reads, the metrics API
   (by vector over the dashboard's 90 days, by month over a year), and writes: 1 % creates
   and 1 % edits, each write moving the data version the report cache is keyed on;
4. drives the incident list API alone (`per_page=50`) at 5×;
5. starts a bare Flask "hello" (bench/hello_app.py) under the same gunicorn settings right
   after, and drives it at the same three tiers: the ceiling;
6. serves the app once more with the report cache off (CATALOG_METRICS_CACHE_SIZE=0) and
   times the dashboard one request at a time: its cost when nothing is cached.

With --release-file PATH, the run is also written as release evidence: one release of the
Failure Catalog per database (service `failure-catalog-sqlite` or `-postgresql`, tag the
version and commit) with its 1×, 5× and 10× tiers, for `catalog releases import PATH`.

With --breakdown, gunicorn logs every request of the app, and each mix tier also prints
each kind's count and its time inside the worker (p50, p99, max, and how many of the
tier's slowest 1 %): which requests the tail is made of, without queueing.

Every tier prints requests per second, p50/p95/p99/max in milliseconds, and errors:
socket errors plus answers that are not 2xx/3xx. Needs Debian's `wrk` (apt-get install
wrk). All traffic stays on 127.0.0.1; every run is bounded in time.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from support import scratch_database

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MIX = REPO / "bench" / "load_mix.lua"
PASSWORD = "bench-password-123"
WARMUP_SECONDS = 5


@dataclass
class Tier:
    label: str
    connections: int
    rps: float
    p50: float
    p95: float
    p99: float
    max: float
    requests: int
    errors: int

    def line(self) -> str:
        rate = 100 * self.errors / self.requests if self.requests else 0.0
        return (
            f"  {self.label:<28} c={self.connections:<3} {self.rps:8.0f} req/s   "
            f"p50 {self.p50:7.1f}  p95 {self.p95:7.1f}  p99 {self.p99:7.1f}  "
            f"max {self.max:7.1f} ms   errors {self.errors} ({rate:.2f} %)"
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(url: str, incidents: int) -> str:
    """Migrate, bulk-load, make the admin; returns the API token."""
    from catalog import create_app
    from catalog.auth.service import create_token, create_user
    from catalog.demo import load_demo_bulk
    from catalog.migrate import upgrade

    upgrade(url)
    app = create_app({"DATABASE_URL": url, "TESTING": True})
    session = app.extensions["catalog.sessionmaker"]()
    session.info["actor_label"] = "bench"
    started = time.perf_counter()
    load_demo_bulk(session, count=incidents)
    print(f"  bulk load of {incidents:,} incidents: {time.perf_counter() - started:.1f} s")
    engine = app.extensions["catalog.engine"]
    if engine.dialect.name == "postgresql":  # the state autovacuum reaches within minutes
        session.commit()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    with app.app_context():  # production's password hashing (scrypt) for the real sign-in
        user, _ = create_user(session, email="load@example.com", role="admin", password=PASSWORD)
        token = create_token(session, user, "load").secret
    session.commit()
    session.close()
    app.extensions["catalog.engine"].dispose()
    return token


@contextmanager
def gunicorn(
    app_spec: str, env: dict[str, str], workers: int, access_log: Path | None = None
) -> Iterator[str]:
    """gunicorn with the project's settings on a free loopback port; yields its base URL.

    With access_log, every request's method, path, status and time in the worker (µs)
    go to that file, for --breakdown."""
    port = free_port()
    env = {
        **env,
        "CATALOG_BIND": f"127.0.0.1:{port}",
        "CATALOG_WORKERS": str(workers),
        "CATALOG_ACCESS_LOG": "off",  # the same for the app and the ceiling: no log I/O
    }
    log = tempfile.TemporaryFile()
    logging = (
        ["--access-logfile", str(access_log), "--access-logformat", "%(m)s %(U)s %(s)s %(D)s"]
        if access_log
        else []
    )
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "python:catalog.gunicorn_conf", *logging, app_spec],
        cwd=REPO / ("bench" if app_spec.startswith("hello_app") else "."),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/healthz" if "wsgi" in app_spec else base, timeout=5)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise SystemExit(
                        "gunicorn did not start:\n" + log.read().decode()[-3000:]
                    ) from None
                time.sleep(0.2)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.seek(0)
        tail = log.read().decode(errors="replace")
        if "Traceback" in tail:
            print("  server log holds a traceback:\n" + tail[-2000:])
        log.close()


def sign_in(base: str) -> str:
    """The session cookie a browser gets from the real login form."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/login", timeout=30).read().decode()
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    data = {"email": "load@example.com", "password": PASSWORD}
    if match:
        data["csrf_token"] = match.group(1)
    opener.open(base + "/login", urllib.parse.urlencode(data).encode(), timeout=30)
    cookies = [f"{c.name}={c.value}" for c in jar]
    if not cookies:
        raise SystemExit("signing in gave no session cookie")
    check = opener.open(base + "/", timeout=60)
    if "/login" in check.geturl():
        raise SystemExit("signing in did not work")
    return "; ".join(cookies)


def wrk(base: str, connections: int, seconds: int, label: str, args: list[str]) -> Tier:
    threads = min(2, connections)
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(MIX),
        base,
        "--",
        *args,
    ]
    output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout
    line = next((ln for ln in output.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no figures:\n{output}")
    r = json.loads(line.removeprefix("WRKJSON "))
    errors = r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"]
    return Tier(
        label=label,
        connections=connections,
        rps=r["requests"] / (r["duration_us"] / 1e6),
        p50=r["p50"] / 1000,
        p95=r["p95"] / 1000,
        p99=r["p99"] / 1000,
        max=r["max"] / 1000,
        requests=r["requests"],
        errors=errors,
    )


KINDS = (  # the mix's request kinds, as bench/load_mix.lua sends them
    ("create", re.compile(r"POST /api/v1/incidents$")),
    ("edit", re.compile(r"PATCH /api/v1/incidents/\d+$")),
    ("dashboard", re.compile(r"GET /$")),
    ("list page", re.compile(r"GET /incidents/$")),
    ("list API", re.compile(r"GET /api/v1/incidents$")),
    ("detail page", re.compile(r"GET /incidents/\d+$")),
    ("detail API", re.compile(r"GET /api/v1/incidents/\d+$")),
    ("metrics API", re.compile(r"GET /api/v1/metrics$")),
)


def breakdown(lines: list[str]) -> None:
    """Each kind's count and its time inside the worker (no queueing), from the access log:
    which kind the tail of a tier is made of."""
    from catalog.reports.metrics import percentiles_of  # the app's one interpolation

    times: dict[str, list[float]] = {}
    for line in lines:
        method, path, _status, micros = line.split()
        kind = next((k for k, rx in KINDS if rx.match(f"{method} {path}")), "other")
        times.setdefault(kind, []).append(int(micros) / 1000)
    if not times:
        return
    total = sum(len(v) for v in times.values())
    slow = percentiles_of(sorted(t for v in times.values() for t in v))[99]
    print(f"    in the worker, by kind (the slowest 1 % take ≥ {slow:.1f} ms):")
    for kind, values in sorted(times.items(), key=lambda kv: -max(kv[1])):
        values.sort()
        at = percentiles_of(values)
        p50, p99 = at[50], at[99]
        share = sum(1 for t in values if t >= slow)
        print(
            f"      {kind:<12} {len(values):6d} ({100 * len(values) / total:4.1f} %)  "
            f"p50 {p50:6.1f}  p99 {p99:6.1f}  max {values[-1]:6.1f} ms  "
            f"in the slowest 1 %: {share}"
        )


def release_record(
    backend: str,
    opts: argparse.Namespace,
    started: datetime,
    tiers: list[Tier],
    listing: Tier,
    ceiling: list[Tier],
) -> dict[str, object]:
    """This run as a release of the Failure Catalog itself (catalog releases import): the
    mix's tiers, judged in the app against the default bars, which are issue 10's targets."""
    from catalog import __version__

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"

    def tier(name: str, t: Tier) -> dict[str, object]:
        return {
            "tier": name,
            "rps": round(t.rps, 1),
            "p50_ms": round(t.p50, 2),
            "p95_ms": round(t.p95, 2),
            "p99_ms": round(t.p99, 2),
            "error_rate": round(100 * t.errors / t.requests, 4) if t.requests else 0,
            "requests": max(t.requests, 1),
        }

    return {
        "service": f"failure-catalog-{backend.lower()}",
        "tag": f"{__version__}+{commit}",
        "team": "failure-catalog",
        "deployed_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": "wrk",
        "notes": (
            f"bench/load.py on {backend}: {opts.incidents:,} incidents, gunicorn -w "
            f"{opts.workers}, wrk for {opts.duration} s a tier at {opts.base}, "
            f"{5 * opts.base} and {10 * opts.base} connections, the realistic mix (pages, "
            "API reads, metrics, 2 % writes). The bare Flask ceiling in the same run: "
            + ", ".join(f"{c.rps:,.0f} req/s at c={c.connections}" for c in ceiling)
            + "."
        ),
        "load_tests": [
            *(tier(name, t) for name, t in zip(("1x", "5x", "10x"), tiers, strict=True)),
            tier("list API alone at 5x", listing),
        ],
    }


def run(database_url: str | None, opts: argparse.Namespace) -> dict[str, object]:
    run_started = datetime.now(UTC)
    tmp = tempfile.mkdtemp(prefix="catalog-load-")
    url, drop = scratch_database(database_url, tmp)
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(
        f"\n== {backend}: {opts.incidents:,} incidents, gunicorn -w {opts.workers}, "
        f"{opts.duration} s a tier"
    )
    secret = Path(tmp) / "secret_key"
    secret.write_text(os.urandom(32).hex())
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_")}
    env.update(
        CATALOG_ENV="production",
        CATALOG_DATABASE_URL=url,
        CATALOG_SECRET_KEY_FILE=str(secret),
        CATALOG_INSTANCE_PATH=tmp,
    )
    try:
        token = prepare(url, opts.incidents)
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        iso = lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
        started = iso(datetime.now(UTC) - timedelta(hours=1))
        fixed = [iso(today - timedelta(days=89)), iso(today - timedelta(days=364)), started]
        tiers = [("1×", opts.base), ("5×", 5 * opts.base), ("10×", 10 * opts.base)]
        results: list[Tier] = []
        access = Path(tmp) / "access.log" if opts.breakdown else None
        with gunicorn("wsgi:app", env, opts.workers, access) as base:
            cookie = sign_in(base)
            mix_args = [token, cookie, str(opts.incidents), *fixed, "full"]
            wrk(base, 10 * opts.base, WARMUP_SECONDS, "warm-up", mix_args)
            for name, connections in tiers:
                seen = len(access.read_text().splitlines()) if access else 0
                results.append(wrk(base, connections, opts.duration, f"mix {name}", mix_args))
                print(results[-1].line(), flush=True)
                if access:
                    breakdown(access.read_text().splitlines()[seen:])
            list_args = [token, cookie, str(opts.incidents), *fixed]
            list_path = "/api/v1/incidents?per_page=50"
            wrk(base, 5 * opts.base, WARMUP_SECONDS, "warm-up", [*list_args, list_path])
            listing = wrk(
                base,
                5 * opts.base,
                opts.duration,
                "incident list API only",
                [*list_args, list_path],
            )
            print(listing.line(), flush=True)
        ceiling: list[Tier] = []
        with gunicorn("hello_app:app", env, opts.workers) as hello:
            wrk(
                hello,
                10 * opts.base,
                WARMUP_SECONDS,
                "warm-up",
                ["-", "-", "1", "-", "-", "-", "/"],
            )
            for name, connections in tiers:
                ceiling.append(
                    wrk(
                        hello,
                        connections,
                        opts.duration,
                        f"bare Flask hello {name}",
                        ["-", "-", "1", "-", "-", "-", "/"],
                    )
                )
                print(ceiling[-1].line(), flush=True)
        with gunicorn("wsgi:app", {**env, "CATALOG_METRICS_CACHE_SIZE": "0"}, opts.workers) as b:
            cookie = sign_in(b)
            dash = wrk(
                b,
                1,
                opts.duration,
                "dashboard, report cache off",
                [token, cookie, str(opts.incidents), *fixed, "/"],
            )
            print(dash.line(), flush=True)
        top = ceiling[1]
        print(
            f"  list API / bare ceiling at 5×: {listing.rps:.0f} / {top.rps:.0f} = "
            f"{100 * listing.rps / top.rps:.0f} %"
        )
        for app_tier, bare in zip(results, ceiling, strict=True):
            print(
                f"  {app_tier.label}: {100 * app_tier.rps / bare.rps:.0f} % of the bare "
                f"ceiling at c={app_tier.connections}"
            )
        return release_record(backend, opts, run_started, results, listing, ceiling)
    finally:
        drop()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument(
        "--database-url",
        action="append",
        default=None,
        help="PostgreSQL server URL; repeat for several; 'sqlite' for SQLite",
    )
    parser.add_argument("--base", type=int, default=4, help="connections at 1× (default 4)")
    parser.add_argument("--duration", type=int, default=20, help="seconds per tier")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="log every request and print each kind's time in the worker per mix tier",
    )
    parser.add_argument(
        "--release-file",
        type=Path,
        default=None,
        help="also write the run as release evidence (catalog releases import FILE)",
    )
    opts = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench/load.py needs wrk: apt-get install wrk")
    os.environ.setdefault("CATALOG_ENV", "development")
    os.environ.setdefault("CATALOG_INSTANCE_PATH", tempfile.mkdtemp(prefix="catalog-load-"))
    releases = [
        run(None if target == "sqlite" else target, opts)
        for target in opts.database_url or ["sqlite"]
    ]
    if opts.release_file:
        document = {
            "format": "failure-catalog-release-evidence",
            "version": 1,
            "releases": releases,
        }
        opts.release_file.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
        print(f"\nRelease evidence written to {opts.release_file}: catalog releases import it.")


if __name__ == "__main__":
    main()
