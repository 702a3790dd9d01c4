"""The import upload page (/imports/): a CSV or a JSON backup, all or nothing, for editors.

A bad CSV is refused naming its line and writes nothing; a dry run says so and writes
nothing; an import redirects and says what it did, and creates nothing the second time; a
backup restores; a missing or non-UTF-8 file and bad vector rules are refused; files over
two MiB are taken up to the import limit.
"""

from __future__ import annotations

import io
import time
from typing import Any

from helpers.accounts import signed_in_client
from helpers.backup import DEMO_COUNT, build_catalog, delete_all_incidents, export, state
from sqlalchemy import select

from catalog.incidents.models import Incident

GOOD_CSV = (
    "title,severity,service,vectors,started_at,detected_at\r\n"
    "Chat timeouts,SEV2,chat-api,dependency-latency,2026-03-02T12:00:00Z,2026-03-02T12:04:00Z\r\n"
    "Drifted ranker,SEV3,ranker,data-drift,2026-03-03T08:00:00Z,2026-03-03T09:00:00Z\r\n"
)


def upload(client, raw: bytes, filename: str, **fields: str):  # type: ignore[no-untyped-def]
    """The form as a script might post it: fields left out (vector, rules) take their defaults."""
    data: dict[str, Any] = {"format": "csv", **fields}
    data["file"] = (io.BytesIO(raw), filename)
    return client.post("/imports/", data=data, content_type="multipart/form-data")


def test_upload_page_shows_the_form(client):
    response = client.get("/imports/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html
    for name in ("file", "format", "vector", "rules", "dry_run"):
        assert f'name="{name}"' in html
    assert "Failure Catalog JSON backup" in html


def test_upload_of_a_bad_csv_names_the_line_and_writes_nothing(app, client):
    before = state(app)
    bad = GOOD_CSV + "Bad row,SEV7,ranker,data-drift,2026-03-03T08:00:00Z,2026-03-03T09:00:00Z\r\n"
    response = upload(client, bad.encode(), "incidents.csv")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Line 4 is refused; nothing was imported." in html
    assert "line 4: severity" in html
    assert state(app) == before


def test_upload_dry_run_says_so_and_writes_nothing(app, client):
    before = state(app)
    response = upload(client, GOOD_CSV.encode(), "incidents.csv", dry_run="y")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Dry run, nothing written." in html
    assert "Would create 2 incidents from 2 records" in html
    assert state(app) == before


def test_upload_imports_redirects_and_says_what_it_did(app, client, session):
    response = upload(client, GOOD_CSV.encode(), "incidents.csv")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/imports/")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Created 2 incidents from 2 records; 0 already imported." in page
    titles = sorted(session.scalars(select(Incident.title)))
    assert titles == ["Chat timeouts", "Drifted ranker"]
    again = upload(client, GOOD_CSV.encode(), "incidents.csv")
    assert again.status_code == 302
    assert "Created 0 incidents from 2 records; 2 already imported." in client.get(
        "/imports/"
    ).get_data(as_text=True)


def test_upload_restores_a_backup(app, client, session):
    build_catalog(session)
    raw = export(app).encode()
    delete_all_incidents(app)
    response = upload(client, raw, "catalog-backup.json", format="json")
    assert response.status_code == 302
    assert state(app)["counts"]["Incident"] == DEMO_COUNT + 2
    assert export(app).encode() == raw


def test_upload_without_a_file_or_with_a_non_utf8_file_is_refused(app, client):
    before = state(app)
    missing = client.post(
        "/imports/",
        data={"format": "csv", "vector": "", "rules": ""},
        content_type="multipart/form-data",
    )
    assert missing.status_code == 422
    assert "Choose a file to import." in missing.get_data(as_text=True)
    latin1 = upload(client, GOOD_CSV.replace("Chat", "Caf\xe9").encode("latin-1"), "x.csv")
    assert latin1.status_code == 422
    assert "Not UTF-8" in latin1.get_data(as_text=True)
    assert state(app) == before


def test_upload_refuses_bad_vector_rules(app, client):
    response = upload(client, b'{"incidents": []}', "x.json", format="statuspage", rules="(=x")
    assert response.status_code == 422
    assert "vector_rule" in response.get_data(as_text=True)


def multipart(raw: bytes, **fields: str) -> tuple[bytes, str]:
    """A multipart body built by hand (the test client spools large files to temporary
    files it never closes, which this suite's warnings-as-errors would report)."""
    boundary = "catalog-test-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n".encode()
        + raw
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def test_upload_takes_files_over_two_mib_up_to_the_import_limit(small_import_limit, app, client):
    raw = GOOD_CSV.encode() + b"\r\n" * (5 * 1024 * 1024 // 4)  # 2.5 MiB, blank lines
    fields = {"format": "csv", "vector": "", "rules": "", "dry_run": "y"}
    body, content_type = multipart(raw, **fields)
    accepted = client.post("/imports/", data=body, content_type=content_type)
    assert accepted.status_code == 302  # over a MiB: a background job with a status page
    for _ in range(600):
        page = client.get(accepted.headers["Location"]).get_data(as_text=True)
        if 'data-state="running"' not in page:
            break
        time.sleep(0.1)
    assert "Would create 2 incidents from 2 records" in page
    body, content_type = multipart(raw + b"\r\n" * (1024 * 1024), **fields)
    assert client.post("/imports/", data=body, content_type=content_type).status_code == 413


def test_upload_page_needs_an_editor(app):
    viewer = signed_in_client(app, "viewer")
    assert viewer.get("/imports/").status_code == 403
    assert upload(viewer, GOOD_CSV.encode(), "x.csv").status_code == 403
    editor = signed_in_client(app, "editor")
    assert editor.get("/imports/").status_code == 200
