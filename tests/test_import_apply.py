"""After a dry run, *Import these N incidents* applies the same file without choosing it again.

The file is kept server-side for its owner only, for a short time; applying it
writes exactly what the dry run described, once; anything else (another account,
an old or made-up token, a second click) writes nothing and says why.
"""

from __future__ import annotations

import io
import json
import os
import re
import time
from pathlib import Path

from helpers.accounts import signed_in_client
from sqlalchemy import func, select

from catalog.imports import pending
from catalog.incidents.models import Incident

CSV = (
    "title,severity,service,vectors,started_at,detected_at\r\n"
    "Chat timeouts,SEV2,chat-api,dependency-latency,2026-03-02T12:00:00Z,2026-03-02T12:04:00Z\r\n"
    "Drifted ranker,SEV3,ranker,data-drift,2026-03-03T08:00:00Z,2026-03-03T09:00:00Z\r\n"
)
TOKEN = re.compile(r'name="pending" type="hidden" value="([^"]+)"')


def _dry_run(client) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    response = client.post(
        "/imports/",
        data={"format": "csv", "dry_run": "y", "file": (io.BytesIO(CSV.encode()), "march.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    return TOKEN.search(page).group(1), page


def _count(session) -> int:  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Incident))


def _pending_files(app) -> list[Path]:  # type: ignore[no-untyped-def]
    return sorted((Path(app.instance_path) / "imports" / "pending").iterdir())


def test_a_dry_run_offers_to_import_the_same_file_once(app, client, session):
    token, page = _dry_run(client)
    assert "Import these 2 incidents" in page and _count(session) == 0
    assert [p.stat().st_mode & 0o777 for p in _pending_files(app)] == [0o600, 0o600]
    response = client.post("/imports/", data={"pending": token}, follow_redirects=True)
    assert "march.csv: Created 2 incidents from 2 records" in response.get_data(as_text=True)
    assert _count(session) == 2
    assert _pending_files(app) == [], "applied: the kept file is gone"
    again = client.post("/imports/", data={"pending": token}, follow_redirects=True)
    assert "no longer kept" in again.get_data(as_text=True) and _count(session) == 2


def test_only_the_account_that_ran_it_can_apply_it(app, client, session):
    token, _ = _dry_run(client)
    other = signed_in_client(app, "editor", "other@example.com")
    response = other.post("/imports/", data={"pending": token}, follow_redirects=True)
    assert "no longer kept" in response.get_data(as_text=True) and _count(session) == 0
    viewer = signed_in_client(app, "viewer", "viewer@example.com")
    assert viewer.post("/imports/", data={"pending": token}).status_code == 403
    assert _count(session) == 0


def test_an_old_or_made_up_token_writes_nothing(app, client, session):
    token, _ = _dry_run(client)
    meta = Path(app.instance_path) / "imports" / "pending" / f"{token}.json"
    kept = json.loads(meta.read_text())
    kept["created"] = time.time() - pending.KEEP_MINUTES * 60 - 1
    meta.write_text(json.dumps(kept))
    for value in (token, "", "../../etc/passwd", "x" * 32, "ü" * 40):
        response = client.post("/imports/", data={"pending": value}, follow_redirects=True)
        assert response.status_code == 200
        assert "no longer kept" in response.get_data(as_text=True)
    assert _count(session) == 0


def test_a_forgotten_dry_run_is_swept(app, client):
    token, _ = _dry_run(client)
    old = time.time() - pending.KEEP_MINUTES * 60 - 5
    for path in _pending_files(app):
        os.utime(path, (old, old))
    _dry_run(client)
    names = {p.name.split(".")[0] for p in _pending_files(app)}
    assert token not in names and len(names) == 1


def test_nothing_new_offers_nothing(client, session):
    _dry_run(client)
    token, _ = _dry_run(client)
    client.post("/imports/", data={"pending": token})
    response = client.post(
        "/imports/",
        data={"format": "csv", "dry_run": "y", "file": (io.BytesIO(CSV.encode()), "march.csv")},
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert "Nothing new to import." in page and 'name="pending"' not in page
