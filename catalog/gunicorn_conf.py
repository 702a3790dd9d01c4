"""gunicorn settings for `make serve` and docs/deploy.md: `gunicorn -c python:catalog.gunicorn_conf wsgi:app`.

Every value comes from a CATALOG_* variable so that a systemd unit, a
container and `make serve` start the same server. The app is mostly waiting on
the database, so sync workers, about two per core, are the sensible default:
each holds one request at a time and its own small connection pool.
"""

from __future__ import annotations

import os


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"{name} must be a whole number of at least 1, got {raw!r}")
    return int(raw)


def default_workers() -> int:
    """Two per core, at least two (one slow request must not stall the site), at most eight."""
    return max(2, min(8, 2 * (os.cpu_count() or 1)))


bind = os.environ.get("CATALOG_BIND", "127.0.0.1:8000")
workers = _int("CATALOG_WORKERS", default_workers())
worker_class = "sync"
# A request that runs longer than this is killed and logged: every request is
# bounded well below it (statement timeouts, import budgets), so it only fires on a bug.
timeout = _int("CATALOG_WORKER_TIMEOUT", 60)
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so that a slow leak can never grow without bound, but
# rarely: a new worker starts with empty caches (kept report months, known tokens, list
# answers) and rebuilds them from the database, which at 5,000 requests (every few
# seconds per worker under load) cost a fifth of the list throughput and most of its tail.
max_requests = 100_000
max_requests_jitter = 10_000
# The app's own ProxyFix (CATALOG_PROXY_HOPS) decides which X-Forwarded-* headers to
# trust; gunicorn must not apply its own defaults on top.
forwarded_allow_ips = ""
# One line per request to standard output (journald); CATALOG_ACCESS_LOG=off for none.
accesslog = None if os.environ.get("CATALOG_ACCESS_LOG", "").lower() == "off" else "-"
errorlog = "-"
loglevel = os.environ.get("CATALOG_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'


def worker_exit(server: object, worker: object) -> None:
    """A worker leaving (a restart, max_requests) first lets its import jobs finish, up to
    graceful_timeout; one that takes longer dies with it and shows as stopped, having
    written nothing (catalog/imports/jobs.py)."""
    from catalog.imports.jobs import wait_for_running

    wait_for_running(graceful_timeout)
