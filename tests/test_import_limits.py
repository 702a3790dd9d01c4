"""Imports take larger bodies than the rest of the app, and only imports do."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from catalog.incidents.models import Incident

HEADER = "title,severity,service,started_at,detected_at,vectors\r\n"
ROW = "Big file,SEV3,api,2026-03-01T10:00:00Z,2026-03-01T10:04:00Z,data-drift\r\n"


def padded_csv(size: int) -> bytes:
    """A valid one-incident CSV made `size` bytes long with blank lines (which are skipped)."""
    body = (HEADER + ROW).encode()
    return body + b"\r\n" * ((size - len(body)) // 2)


def test_an_import_may_be_larger_than_2_mib(client, api_headers, session):
    body = padded_csv(3 * 2**20)
    response = client.post(
        "/api/v1/imports?format=csv", data=body, headers=api_headers, content_type="text/csv"
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["created"] == 1
    assert session.scalar(select(func.count()).select_from(Incident)) == 1


def test_other_endpoints_keep_the_2_mib_limit(client, api_headers):
    response = client.post(
        "/api/v1/incidents",
        data=b'{"title": "' + b"x" * (3 * 2**20) + b'"}',
        headers=api_headers,
        content_type="application/json",
    )
    assert response.status_code == 413
    assert "2 MiB" in response.get_json()["error"]["message"]


class TestASmallerImportLimit:
    @pytest.fixture
    def app_config(self, app_config):  # type: ignore[no-untyped-def]
        app_config["IMPORT_MAX_BYTES"] = 2**20
        return app_config

    def test_an_import_over_it_is_a_413_that_says_the_limit(self, client, api_headers, session):
        response = client.post(
            "/api/v1/imports?format=csv",
            data=padded_csv(2 * 2**20),
            headers=api_headers,
            content_type="text/csv",
        )
        assert response.status_code == 413
        assert "1 MiB" in response.get_json()["error"]["message"]
        assert session.scalar(select(func.count()).select_from(Incident)) == 0


def test_the_upload_page_refuses_a_file_that_is_not_utf8(client, session):
    response = client.post(
        "/imports/",
        data={
            "file": (io.BytesIO(HEADER.encode() + b"\xff\xfe broken\r\n"), "x.csv"),
            "format": "csv",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "Not UTF-8" in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Incident)) == 0


def test_multipart_is_still_refused_everywhere_else(client):
    response = client.post(
        "/incidents/new",
        data={"title": "x", "file": (io.BytesIO(b"x"), "x.txt")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400


def test_a_vector_rule_that_backtracks_forever_is_refused_not_run(client, api_headers, session):
    """A user's regex is matched with a timeout: `(a|aa)+$` on a long name would hang `re`."""
    document = {
        "page": {"id": "p"},
        "incidents": [
            {
                "id": "abc",
                "name": "a" * 60 + "!",
                "impact": "minor",
                "created_at": "2026-03-01T10:00:00Z",
                "resolved_at": "2026-03-01T11:00:00Z",
            }
        ],
    }
    response = client.post(
        "/api/v1/imports?format=statuspage&vector=data-drift&vector_rule=(a|aa)%2B$=data-drift",
        json=document,
        headers=api_headers,
    )
    assert response.status_code == 422
    assert "too long to match" in str(response.get_json()["error"]["fields"])
    assert session.scalar(select(func.count()).select_from(Incident)) == 0


def test_a_json_number_too_long_to_read_is_a_clear_refusal(client, api_headers):
    body = b'{"format": "failure-catalog-backup", "version": ' + b"9" * 5000 + b"}"
    response = client.post(
        "/api/v1/imports?format=json",
        data=body,
        headers=api_headers,
        content_type="application/json",
    )
    assert response.status_code == 422
    assert "file" in response.get_json()["error"]["fields"]


def test_a_vector_slug_with_a_nul_byte_is_named_not_a_crash(client, api_headers):
    document = {
        "format": "failure-catalog-backup",
        "version": 1,
        "vectors": [{"slug": "a\u0000b", "name": "x", "category": "other"}],
        "incidents": [],
    }
    response = client.post("/api/v1/imports?format=json", json=document, headers=api_headers)
    assert response.status_code == 422
    assert "vectors[0].slug" in response.get_json()["error"]["fields"]


def test_only_someone_allowed_to_import_gets_the_larger_limit(app, anon_client):
    """Anonymous and viewer callers stay at 2 MiB: they cannot make the server read 64 MiB."""
    from helpers.accounts import make_user

    body = padded_csv(3 * 2**20)
    anonymous = anon_client.post("/api/v1/imports?format=csv", data=body, content_type="text/csv")
    assert anonymous.status_code == 401
    _, _, token = make_user(app, "viewer", "vera@example.com")
    viewer = app.test_client().post(
        "/api/v1/imports?format=csv",
        data=body,
        headers={"Authorization": f"Bearer {token}"},
        content_type="text/csv",
    )
    assert viewer.status_code == 403
