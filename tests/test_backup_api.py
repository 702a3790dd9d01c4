"""The JSON backup over the API: POST /api/v1/imports, and the backup download.

The API imports a backup, dry run first, for editors and admins and as their own user; it
refuses a bad backup with the fields and writes nothing, refuses bad options before
reading the file, and has a body limit of its own rather than the global two MiB. The
download, for viewers too, is the CLI's export byte for byte.
"""

from __future__ import annotations

import json

import pytest
from helpers.accounts import signed_in_client
from helpers.backup import DEMO_COUNT, audited, build_catalog, delete_all_incidents, export, state


def api_import(client, body: bytes, **params: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/imports",
        query_string=params,
        data=body,
        content_type="application/octet-stream",
    )


def test_api_imports_a_backup_dry_run_first(app, client, session):
    build_catalog(session)
    body = export(app).encode()
    delete_all_incidents(app)
    before = state(app)

    dry = api_import(client, body, format="json", dry_run="true")
    assert dry.status_code == 200, dry.get_data(as_text=True)
    assert dry.json["dry_run"] is True and dry.json["created"] == DEMO_COUNT + 2
    assert dry.json["message"].startswith("Would create")
    assert state(app) == before

    real = api_import(client, body, format="json")
    assert real.status_code == 200, real.get_data(as_text=True)
    expected = {"source": "backup", "created": DEMO_COUNT + 2, "already_imported": 0}
    assert expected.items() <= real.json.items()
    assert real.json["postmortems_created"] == state(app)["counts"]["Postmortem"] > 0
    assert state(app)["counts"]["Incident"] == DEMO_COUNT + 2
    assert export(app).encode() == body
    assert audited(app, "incident").get(client.user_email) == DEMO_COUNT + 2  # as its user

    again = api_import(client, body, format="json", dry_run="false")
    assert (again.json["created"], again.json["already_imported"]) == (0, DEMO_COUNT + 2)


def test_api_refuses_a_bad_backup_with_the_fields_and_writes_nothing(app, client, small_backup):
    before = state(app)
    small_backup["incidents"][2]["started_at"] = "not a time"
    response = api_import(client, json.dumps(small_backup).encode(), format="json")
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "validation_error"
    assert "incidents[2].started_at" in error["fields"]
    assert error["message"].startswith("Record incidents[2] (uid new-2) is refused")
    assert state(app) == before


@pytest.mark.parametrize(
    "params, field",
    [
        ({"format": "xml"}, "format"),
        ({}, "format"),
        ({"format": "json", "dry_run": "maybe"}, "dry_run"),
        ({"format": "statuspage", "vector_rule": "no-equals"}, "vector_rule"),
    ],
)
def test_api_refuses_bad_options_before_reading_the_file(client, params, field):
    response = api_import(client, b"{}", **params)
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]


@pytest.mark.parametrize(
    "body, words",
    [(b"{oops", "line 1, column 2"), (b"\xff\xfe", "Not UTF-8"), (b"", "empty")],
)
def test_api_refuses_unreadable_bodies_as_the_file(client, body, words):
    response = api_import(client, body, format="json")
    assert response.status_code == 422
    assert words in response.json["error"]["fields"]["file"][0]


def test_api_import_needs_an_editor(app, session):
    body = export(app).encode()
    viewer = signed_in_client(app, "viewer")
    assert api_import(viewer, body, format="json").status_code == 403
    editor = signed_in_client(app, "editor")
    assert api_import(editor, body, format="json", dry_run="1").status_code == 200
    anonymous = app.test_client()
    assert api_import(anonymous, body, format="json").status_code == 401


def test_api_import_body_limit_is_its_own_not_the_global_two_mib(small_import_limit, app, client):
    """A 2.5 MiB backup is more than any other request may send, but fine for an import."""
    document = export(app)
    padded = document.encode() + b" " * (5 * 1024 * 1024 // 2)
    accepted = api_import(client, padded, format="json", dry_run="true")
    assert accepted.status_code == 200, accepted.get_data(as_text=True)[:300]
    too_big = api_import(client, padded + b" " * (1024 * 1024), format="json")
    assert too_big.status_code == 413
    assert too_big.json["error"]["message"] == "The request body is larger than 3 MiB."
    # every other endpoint keeps the global limit
    other = client.post("/api/v1/incidents", data=padded, content_type="application/json")
    assert other.status_code == 413


def test_backup_downloads_match_the_cli_export_byte_for_byte(
    app, client, session, runner, tmp_path
):
    build_catalog(session)
    path = tmp_path / "backup.json"
    result = runner.invoke(args=["export", "--format", "json", "-o", str(path)])
    assert result.exit_code == 0, result.output
    cli_bytes = path.read_bytes()
    api = client.get("/api/v1/exports/backup.json")
    web = client.get("/exports/backup.json")
    for response in (api, web):
        assert response.status_code == 200
        assert response.mimetype == "application/json"
        assert response.headers["Content-Disposition"].startswith(
            'attachment; filename="catalog-backup-'
        )
        assert response.get_data() == cli_bytes
    stdout = runner.invoke(args=["export", "--format", "json"])
    assert stdout.stdout_bytes == cli_bytes


def test_a_viewer_may_download_the_backup(app):
    viewer = signed_in_client(app, "viewer")
    assert viewer.get("/api/v1/exports/backup.json").status_code == 200
    assert viewer.get("/exports/backup.json").status_code == 200
