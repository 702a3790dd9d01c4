"""Large uploads run as a tracked background job, with a status page of their own.

An import of tens of thousands of records takes longer than a browser (or a proxy)
waits for an answer. Above `IMPORT_BACKGROUND_BYTES` the upload page saves the job
and answers at once with its status page, which shows records done of total and
refreshes itself until the job ends. The job runs `run_import` in a thread of the
worker that took the upload, with its own session, as the uploader: the same rules,
the same all-or-nothing transaction, the same audit trail as an import in the
request.

State lives in `instance/imports/jobs/<id>.json`, written whole (a temporary file
renamed over it), so every worker of the host can show it. A job whose heartbeat
stops (the worker was restarted) is shown as stopped: its transaction never
committed, so nothing of it was written.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from flask import Flask

from catalog.errors import DomainError
from catalog.imports import pending, progress
from catalog.imports.formats import run_import
from catalog.imports.statuspage import parse_rules

KEEP_HOURS = 24
STALE_SECONDS = 60
"""A running job that has not written its state for this long is taken for dead."""
ID_LENGTH = 22


@dataclass(frozen=True)
class ImportJob:
    id: str
    owner_id: int
    filename: str
    fmt: str
    dry_run: bool
    state: str = "running"  # running, done, refused, failed
    done: int = 0
    total: int = 0
    unit: str = "records"
    message: str = ""
    lines: list[str] = field(default_factory=list)
    """A refusal's lines (the record and field), shown as on the upload page."""
    created: int = 0  # incidents created, or that a dry run would create
    pending_token: str = ""
    """A dry run's kept file: 'Import these N incidents' applies it (imports.pending)."""
    started_at: float = 0.0
    updated_at: float = 0.0

    @property
    def stopped(self) -> bool:
        """Running, but its worker has stopped writing: it will never finish."""
        return self.state == "running" and time.time() - self.updated_at > STALE_SECONDS

    @property
    def elapsed(self) -> int:
        return int((self.updated_at or time.time()) - self.started_at)


_running: set[threading.Thread] = set()


def wait_for_running(seconds: float) -> None:
    """Let this process's jobs finish before it exits (gunicorn's worker_exit), up to
    `seconds` in all; one still running then dies with the process and shows as stopped."""
    deadline = time.monotonic() + seconds
    for thread in list(_running):
        thread.join(max(0.0, deadline - time.monotonic()))


class JobGone(LookupError):
    """No such job for this account (or it was cleared after KEEP_HOURS)."""


def _folder(instance_path: str) -> Path:
    return pending.private_folder(instance_path, "jobs")


def save(instance_path: str, job: ImportJob) -> ImportJob:
    job = replace(job, updated_at=time.time())
    folder = _folder(instance_path)
    temporary = folder / f".{job.id}.{threading.get_ident()}.tmp"
    temporary.write_text(json.dumps(asdict(job)), "utf-8")
    os.replace(temporary, folder / f"{job.id}.json")
    return job


def load(instance_path: str, job_id: str, owner_id: int) -> ImportJob:
    if len(job_id) != ID_LENGTH or not job_id.replace("-", "").replace("_", "").isalnum():
        raise JobGone(job_id)
    try:
        data: dict[str, Any] = json.loads(
            (_folder(instance_path) / f"{job_id}.json").read_text("utf-8")
        )
        job = ImportJob(**data)
    except (OSError, ValueError, TypeError) as exc:
        raise JobGone(job_id) from exc
    if job.owner_id != owner_id:
        raise JobGone(job_id)
    return job


def start(
    app: Flask,
    options: pending.PendingImport,
    raw: bytes,
    *,
    dry_run: bool,
) -> ImportJob:
    """Save the job and start it in a thread; its id names the status page. `options`
    are the upload's (the same a dry run keeps for 'Import these N incidents')."""
    _sweep(app.instance_path)
    job = save(
        app.instance_path,
        ImportJob(
            id=secrets.token_urlsafe(16)[:ID_LENGTH],
            owner_id=options.owner_id,
            filename=options.filename,
            fmt=options.fmt,
            dry_run=dry_run,
            started_at=time.time(),
        ),
    )

    def run() -> None:
        try:
            _run(app, job, options, raw)
        finally:
            _running.discard(threading.current_thread())

    thread = threading.Thread(target=run, name=f"import-{job.id}", daemon=True)
    _running.add(thread)
    thread.start()
    return job


def _run(app: Flask, job: ImportJob, options: pending.PendingImport, raw: bytes) -> None:
    from catalog.auth.models import User
    from catalog.sessions import close_session, get_session

    state = {"job": job}

    def report(done: int, total: int, unit: str) -> None:
        state["job"] = save(
            app.instance_path, replace(state["job"], done=done, total=total, unit=unit)
        )

    stop = threading.Event()

    def heartbeat() -> None:  # long phases (parsing, the commit) report no steps
        while not stop.wait(STALE_SECONDS / 6):
            state["job"] = save(app.instance_path, state["job"])

    beating = threading.Thread(target=heartbeat, name=f"import-{job.id}-beat", daemon=True)
    beating.start()

    def end(**changes: Any) -> None:
        stop.set()
        beating.join()
        save(app.instance_path, replace(state["job"], **changes))

    with app.app_context():
        session = get_session()
        try:
            session.info["actor"] = session.get(User, job.owner_id)
            session.info["source"] = "web"
            with progress.watching(report):
                summary = run_import(
                    session,
                    job.fmt,
                    raw,
                    vector=options.vector,
                    rules=parse_rules(options.rules),
                    dry_run=job.dry_run,
                )
        except DomainError as exc:  # refused, all or nothing: nothing was written
            # As the upload page shows a refusal: what, then each record and field (20).
            end(state="refused", message=exc.message, lines=exc.field_lines()[:20])
        except Exception:  # noqa: BLE001 - the page must end, and the log says why
            app.logger.exception("Import job %s failed", job.id)
            end(
                state="failed",
                message="The import stopped on an error of the server; nothing was written. "
                "The server's log has the details.",
            )
        else:
            token = ""
            if summary.dry_run and summary.created:
                token = pending.keep(app.instance_path, options, raw)
            end(
                state="done",
                done=state["job"].total or summary.records,
                message=summary.describe(),
                created=summary.created,
                pending_token=token,
            )
        finally:
            close_session()


def _sweep(instance_path: str) -> None:
    pending.remove_older_than(_folder(instance_path), KEEP_HOURS * 3600)
