"""Fault drills on what comes in: racing webhook deliveries and chunked request bodies.

Alertmanager drops a delivery answered with a 4xx (it retries only 5xx), so a
race between identical or overlapping deliveries must end in 200 for all of
them and one incident, whose resolution is not lost. A body sent chunked, with
no Content-Length, is held to the same size limits as one with a length: over
the limit is a 413, never a silently truncated body.
"""

from __future__ import annotations

import http.client
import io
import json
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from helpers.accounts import make_user
from sqlalchemy import func, select
from werkzeug.serving import make_server

from catalog.db import SQLITE_BUSY_SECONDS
from catalog.incidents.models import Incident

HOOK = "/api/v1/hooks/alertmanager"
NOW = datetime.now(UTC).replace(microsecond=0)
STARTS = NOW - timedelta(hours=2)
ENDS = NOW - timedelta(hours=1)
FINGERPRINT = "f00dfeed12345678"
PLUS_ONE = timezone(timedelta(hours=1))


def z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def delivery(status: str, starts_at: str | None = None) -> dict[str, object]:
    return {
        "version": "4",
        "status": status,
        "receiver": "failure-catalog",
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": "GPUThrottled", "failure_vector": "dependency-latency"},
                "annotations": {"summary": "GPU nodes throttled"},
                "startsAt": starts_at or z(STARTS),
                "endsAt": z(ENDS) if status == "resolved" else "0001-01-01T00:00:00Z",
                "generatorURL": "",
                "fingerprint": FINGERPRINT,
            }
        ],
    }


def race(app, token: str, payloads: list[dict[str, object]]) -> list[tuple[int, object]]:  # type: ignore[no-untyped-def]
    """POST every payload at once, each from its own thread and test client."""
    barrier = threading.Barrier(len(payloads))
    answers: list[tuple[int, object]] = [(0, None)] * len(payloads)

    def send(i: int, payload: dict[str, object]) -> None:
        client = app.test_client()
        barrier.wait(timeout=30)
        response = client.post(HOOK, json=payload, headers={"Authorization": f"Bearer {token}"})
        answers[i] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=send, args=(i, p)) for i, p in enumerate(payloads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a delivery hung"
    return answers


def alert_incidents(session) -> list[Incident]:  # type: ignore[no-untyped-def]
    session.expire_all()
    return list(
        session.scalars(
            select(Incident).where(Incident.external_source == "alertmanager").order_by(Incident.id)
        )
    )


@pytest.fixture
def editor_token(app) -> str:  # type: ignore[no-untyped-def]
    return make_user(app, "editor", "alertmanager@example.com")[2]


def test_twenty_identical_deliveries_at_once_all_succeed_and_open_one_incident(
    app, editor_token, session
):
    answers = race(app, editor_token, [delivery("firing")] * 20)
    assert [status for status, _ in answers] == [200] * 20, answers
    [incident] = alert_incidents(session)
    assert incident.external_id == f"{FINGERPRINT}@{z(STARTS)}"
    created = [body["created"] for _, body in answers if body["created"]]  # type: ignore[index]
    assert created == [[incident.id]]  # exactly one delivery opened it; the others found it


def test_a_firing_and_its_resolution_racing_keep_the_resolution(app, editor_token, session):
    payloads = [delivery("firing"), delivery("resolved")] * 6
    answers = race(app, editor_token, payloads)
    assert [status for status, _ in answers] == [200] * len(payloads), answers
    [incident] = alert_incidents(session)
    # The resolution landed whoever won the insert (never before detection: TTR is not negative).
    assert incident.recovered_at is not None
    assert incident.recovered_at == max(ENDS, incident.detected_at)


def test_the_same_starts_at_in_another_offset_is_the_same_alert(app, editor_token, session):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {editor_token}"}
    in_utc = z(STARTS)
    in_paris = STARTS.astimezone(PLUS_ONE).isoformat()
    assert in_paris.endswith("+01:00") and in_paris != in_utc
    assert client.post(HOOK, json=delivery("firing", in_utc), headers=headers).status_code == 200
    response = client.post(HOOK, json=delivery("resolved", in_paris), headers=headers)
    assert response.status_code == 200, response.get_json()
    [incident] = alert_incidents(session)
    assert response.get_json()["updated"] == [incident.id]
    assert incident.external_id == f"{FINGERPRINT}@{in_utc}"
    assert incident.recovered_at == max(ENDS, incident.detected_at)


def test_an_incident_keyed_by_an_older_version_with_an_offset_still_matches(
    app, editor_token, session
):
    """Earlier versions stored the raw offset in the key; such an incident is not opened twice."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {editor_token}"}
    in_paris = STARTS.astimezone(PLUS_ONE).isoformat()
    assert client.post(HOOK, json=delivery("firing"), headers=headers).status_code == 200
    [incident] = alert_incidents(session)
    incident.external_id = f"{FINGERPRINT}@{in_paris}"  # as the old code keyed it
    session.commit()
    response = client.post(HOOK, json=delivery("resolved", in_paris), headers=headers)
    assert response.status_code == 200
    [again] = alert_incidents(session)
    assert again.id == incident.id and again.recovered_at == max(ENDS, again.detected_at)


def hold_sqlite_write_lock(database_url: str, seconds: float) -> threading.Thread:
    """Another writer holding SQLite's write lock for `seconds` (SQLite serialises writers)."""
    import sqlite3

    path = database_url.removeprefix("sqlite:///")
    locked = threading.Event()

    def hold() -> None:
        connection = sqlite3.connect(path, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            locked.set()
            threading.Event().wait(seconds)
            connection.execute("ROLLBACK")
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert locked.wait(10)
    return thread


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # its database-wide lock
def test_a_delivery_waiting_on_a_short_sqlite_lock_succeeds(
    app, editor_token, session, database_url
):
    holder = hold_sqlite_write_lock(database_url, 1.0)
    response = app.test_client().post(
        HOOK, json=delivery("firing"), headers={"Authorization": f"Bearer {editor_token}"}
    )
    holder.join()
    assert response.status_code == 200, response.get_json()
    assert len(alert_incidents(session)) == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # its database-wide lock
def test_a_delivery_outlasted_by_a_sqlite_lock_is_a_503_to_retry_not_a_4xx(
    app, editor_token, session, database_url
):
    client, headers = app.test_client(), {"Authorization": f"Bearer {editor_token}"}
    # The token's last-use stamp is written at most once a minute; get it written now, so
    # the delivery's own writes are the ones that meet the lock.
    assert client.get("/api/v1/vectors", headers=headers).status_code == 200
    holder = hold_sqlite_write_lock(database_url, SQLITE_BUSY_SECONDS + 2.0)  # past the timeout
    response = client.post(HOOK, json=delivery("firing"), headers=headers)
    holder.join()
    assert response.status_code == 503, response.get_json()
    assert response.headers["Retry-After"] == "5"
    assert "retry" in response.get_json()["error"]["message"]
    assert alert_incidents(session) == []


# ---- bodies sent chunked, without a Content-Length ------------------------------------

CHUNKED = {"wsgi.input_terminated": True}  # what Werkzeug's server and gunicorn set


def chunked_post(client, url: str, body: bytes, content_type: str, **kwargs):  # type: ignore[no-untyped-def]
    """POST `body` as a server hands on a de-chunked body: a stream, and no Content-Length."""
    headers = {"Transfer-Encoding": "chunked", "Content-Type": content_type}
    headers.update(kwargs.pop("headers", {}))
    return client.post(
        url,
        input_stream=io.BytesIO(body),
        headers=headers,
        environ_overrides=CHUNKED,
        **kwargs,
    )


def incident_count(session) -> int:  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Incident))


def incident_json(title: str = "Chunked", padding: int = 0) -> bytes:
    return json.dumps(
        {
            "title": title,
            "severity": "SEV3",
            "service": "rag-search",
            "vectors": ["dependency-latency"],
            "summary": "x" * padding,
            "detection_source": "alert",
            "started_at": "2026-03-02T12:00:00Z",
            "detected_at": "2026-03-02T12:05:00Z",
        }
    ).encode()


def test_a_chunked_json_body_over_the_limit_is_a_413_not_truncated(client, api_headers, session):
    body = incident_json(padding=3 * 2**20)  # 3 MiB, over the 2 MiB every API body is held to
    response = chunked_post(
        client, "/api/v1/incidents", body, "application/json", headers=api_headers
    )
    assert response.status_code == 413
    assert response.get_json()["error"]["message"] == "The request body is larger than 2 MiB."
    assert incident_count(session) == 0


def test_a_chunked_json_body_under_the_limit_still_works(client, api_headers, session):
    response = chunked_post(
        client, "/api/v1/incidents", incident_json(padding=1000), "application/json",
        headers=api_headers,
    )  # fmt: skip
    assert response.status_code == 201, response.get_json()
    assert incident_count(session) == 1


CSV_HEAD = b"title,severity,service,vectors,started_at,detected_at\n"


def csv_rows(count: int) -> bytes:
    """Rows of one fixed length, so a body cut at a row boundary still reads as a good CSV."""
    return b"".join(
        f"Row {n:04d},SEV3,ranker,data-drift,2026-03-02T12:00:00Z,2026-03-02T12:05:00Z\n".encode()
        for n in range(count)
    )


@pytest.fixture
def small_import_limit(app_config):  # type: ignore[no-untyped-def]
    """The import limit (CATALOG_IMPORT_MAX_MB) at exactly the header and ten rows."""
    app_config["IMPORT_MAX_BYTES"] = len(CSV_HEAD) + len(csv_rows(10))
    return app_config["IMPORT_MAX_BYTES"]


def test_a_chunked_csv_import_over_the_import_limit_is_a_413_and_imports_nothing(
    small_import_limit, client, api_headers, session
):
    """Werkzeug stopped reading at the limit and the import took the first ten rows: 200."""
    response = chunked_post(
        client, "/api/v1/imports?format=csv", CSV_HEAD + csv_rows(30), "text/csv",
        headers=api_headers,
    )  # fmt: skip
    assert response.status_code == 413, response.get_json()
    assert response.get_json()["error"]["code"] == "payload_too_large"
    assert incident_count(session) == 0


def test_a_chunked_csv_import_of_exactly_the_limit_imports_every_row(
    small_import_limit, client, api_headers, session
):
    body = CSV_HEAD + csv_rows(10)
    assert len(body) == small_import_limit
    response = chunked_post(
        client, "/api/v1/imports?format=csv", body, "text/csv", headers=api_headers
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["created"] == 10
    assert incident_count(session) == 10


def test_a_chunked_upload_on_the_import_page_over_the_limit_is_a_413(
    small_import_limit, client, session
):
    boundary = "drill"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="format"\r\n\r\ncsv\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + CSV_HEAD
        + csv_rows(30)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = chunked_post(client, "/imports/", body, f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    assert incident_count(session) == 0


def test_a_chunked_web_form_over_the_limit_is_a_413(client, session):
    body = b"title=Chunked&severity=SEV3&summary=" + b"x" * (3 * 2**20)
    response = chunked_post(client, "/incidents/new", body, "application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert "Too Large" in response.get_data(as_text=True)
    assert incident_count(session) == 0


@pytest.fixture
def live_server(app):  # type: ignore[no-untyped-def]
    """The app behind Werkzeug's own server on a free port, as `flask run` serves it."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join(timeout=10)


def send_chunked(port: int, path: str, body: bytes, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        pieces = (body[i : i + 1000] for i in range(0, len(body), 1000))
        connection.request(
            "POST", path, body=pieces, headers={"Host": "catalog.test", **headers},
            encode_chunked=True,
        )  # fmt: skip
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_through_a_real_server_a_chunked_import_over_the_limit_is_refused(
    small_import_limit, live_server, client, session
):
    headers = {"Authorization": f"Bearer {client.token}", "Content-Type": "text/csv"}
    status, body = send_chunked(
        live_server, "/api/v1/imports?format=csv", CSV_HEAD + csv_rows(30), headers
    )
    assert status == 413, body
    assert incident_count(session) == 0
    status, body = send_chunked(
        live_server, "/api/v1/imports?format=csv", CSV_HEAD + csv_rows(10), headers
    )
    assert status == 200, body
    assert json.loads(body)["created"] == 10
