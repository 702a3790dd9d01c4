"""A large upload runs as a tracked background job with its own status page.

Above IMPORT_BACKGROUND_BYTES the upload answers at once with a status page that
shows records done of total until the job ends; the job is all or nothing like any
import, runs as the uploader, and only the uploader can see it.
"""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path

import pytest
from helpers.accounts import signed_in_client
from sqlalchemy import func, select

from catalog.imports import jobs, progress
from catalog.incidents.models import Incident

HEADER = "title,severity,service,vectors,started_at,detected_at\r\n"


def _csv(rows: int, bad_at: int | None = None) -> bytes:
    lines = [HEADER]
    for n in range(rows):
        severity = "SEV9" if n == bad_at else "SEV3"
        lines.append(
            f"Drift {n},{severity},ranker,data-drift,2026-03-03T08:00:00Z,2026-03-03T09:{n % 60:02d}:00Z\r\n"
        )
    return "".join(lines).encode()


@pytest.fixture
def app_config(app_config):  # type: ignore[no-untyped-def]
    app_config["IMPORT_BACKGROUND_BYTES"] = 500
    return app_config


def _upload(client, raw: bytes, **fields: str):  # type: ignore[no-untyped-def]
    data = {"format": "csv", **fields, "file": (io.BytesIO(raw), "big.csv")}
    return client.post("/imports/", data=data, content_type="multipart/form-data")


def _finished(client, location: str) -> str:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page = client.get(location).get_data(as_text=True)
        state = re.search(r'data-state="(\w+)"', page).group(1)
        if state != "running":
            return page
        time.sleep(0.1)
    raise AssertionError("the job did not end within a minute")


def _count(session) -> int:  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Incident))


def test_a_large_dry_run_then_import_runs_in_the_background(client, session):
    response = _upload(client, _csv(120), dry_run="y")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert re.fullmatch(r"/imports/jobs/[\w-]{22}", location)
    page = _finished(client, location)
    assert 'data-state="done"' in page and "Dry run, nothing written." in page
    assert "Would create 120 incidents from 120 records" in page and _count(session) == 0
    token = re.search(r'name="pending" type="hidden" value="([^"]+)"', page).group(1)
    applied = client.post("/imports/", data={"pending": token})
    assert applied.status_code == 302 and "/imports/jobs/" in applied.headers["Location"]
    page = _finished(client, applied.headers["Location"])
    assert "Created 120 incidents from 120 records" in page and _count(session) == 120


def test_a_refused_job_names_the_line_and_writes_nothing(client, session):
    response = _upload(client, _csv(80, bad_at=40))
    page = _finished(client, response.headers["Location"])
    assert 'data-state="refused"' in page
    assert "Line 42 is refused; nothing was imported." in page
    assert page.count("line 42: severity: Severity must be one of") == 1, "said once"
    assert _count(session) == 0


def test_a_job_is_its_uploaders_only(app, client):
    location = _upload(client, _csv(30), dry_run="y").headers["Location"]
    _finished(client, location)
    other = signed_in_client(app, "editor", "other@example.com")
    assert other.get(location).status_code == 404
    viewer = signed_in_client(app, "viewer", "viewer@example.com")
    assert viewer.get(location).status_code == 403
    for bad in ("x", "../../etc/passwd", "a" * 22, "ü" * 22):
        assert client.get(f"/imports/jobs/{bad}").status_code == 404


def test_a_job_whose_worker_died_shows_as_stopped(app, client):
    location = _upload(client, _csv(30), dry_run="y").headers["Location"]
    _finished(client, location)
    path = Path(app.instance_path) / "imports" / "jobs" / f"{location.rsplit('/', 1)[1]}.json"
    state = json.loads(path.read_text())
    state.update(state="running", updated_at=time.time() - jobs.STALE_SECONDS - 1)
    path.write_text(json.dumps(state))
    page = client.get(location).get_data(as_text=True)
    assert 'data-state="stopped"' in page and "nothing of it was written" in page
    assert 'http-equiv="refresh"' not in page


def test_progress_is_reported_as_records_are_read(app, session):
    seen: list[tuple[int, int, str]] = []
    from catalog.imports.formats import run_import

    with progress.watching(lambda done, total, unit: seen.append((done, total, unit))):
        run_import(session, "csv", _csv(50), dry_run=True)
    assert seen and seen[0][1] == seen[-1][1] == 52  # the header, 50 rows, the end
    assert seen[-1][0] == seen[-1][1] and {unit for *_, unit in seen} == {"lines"}
    progress.step(1, 2)  # nobody watching: nothing happens


def test_a_leaving_worker_lets_its_jobs_finish_first(app, client):
    location = _upload(client, _csv(200)).headers["Location"]
    jobs.wait_for_running(60)  # what gunicorn's worker_exit hook calls
    assert not jobs._running
    page = client.get(location).get_data(as_text=True)
    assert 'data-state="done"' in page and "Created 200 incidents" in page
