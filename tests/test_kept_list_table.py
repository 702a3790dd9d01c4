"""The incident list page keeps its rendered table: never a stale row, never someone else's.

The table (rows and pager) is rendered once and kept under the data versions until
the clock changes a row, per reader's zone and URL. Each test reads a page twice or
more so that the second answer comes from what was kept.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from factories import T0, api_payload, iso, make_incident
from helpers.accounts import signed_in_client
from sqlalchemy import text

LIST = "/incidents/?per_page=50"


def _rows(client, path: str = LIST) -> str:  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    start = page.find('<table class="table incident-list">')
    return page[start : page.index("</table>", start)] if start >= 0 else ""


def test_the_kept_table_follows_every_write_through_the_app_and_behind_its_back(client, session):
    make_incident(session, title="Before")
    first = _rows(client)
    assert "Before" in first and _rows(client) == first  # kept
    assert client.post("/api/v1/incidents", json=api_payload(title="Second")).status_code == 201
    assert "Second" in _rows(client)
    session.execute(text("UPDATE incidents SET title = 'Renamed behind its back'"))
    session.commit()
    rows = _rows(client)
    assert "Before" not in rows and rows.count("Renamed behind its back") == 2


def test_the_kept_table_shows_a_new_root_cause_at_once(client, session):
    incident = make_incident(session)
    assert "overdue" in _rows(client).lower()
    put = client.put(
        f"/api/v1/incidents/{incident.id}/postmortem",
        json={"status": "draft", "root_cause_at": iso(T0 + timedelta(hours=1))},
    )
    assert put.status_code == 201
    assert "on time" in _rows(client).lower()


def test_the_kept_table_follows_the_clock(client, session, monkeypatch):
    """Open 14 minutes of a 15-minute target: breaching two minutes on, with no write."""
    import catalog.incidents.views as views

    now = datetime.now(UTC).replace(microsecond=0)
    make_incident(
        session,
        started_at=now - timedelta(minutes=14),
        detected_at=now - timedelta(minutes=14),
        recovered_at=None,
    )
    monkeypatch.setattr(views, "utcnow", lambda: now)
    assert "Breaching" not in _rows(client)
    assert "Breaching" not in _rows(client)  # kept
    monkeypatch.setattr(views, "utcnow", lambda: now + timedelta(minutes=1, seconds=1))
    assert "Breaching" in _rows(client)


def test_each_reader_sees_times_in_their_own_zone(app, session):
    make_incident(session)  # started 2026-03-02 12:00 UTC
    utc = signed_in_client(app, "viewer", "utc@example.com")
    tokyo = signed_in_client(app, "viewer", "tokyo@example.com")
    assert tokyo.post("/account", data={"name": "K", "timezone": "Asia/Tokyo"}).status_code == 302
    for _ in range(2):
        assert "2026-03-02 12:00" in _rows(utc)
        assert "2026-03-02 21:00" in _rows(tokyo)


def test_led_by_me_is_each_readers_own_list(app, session):
    ann = signed_in_client(app, "editor", "ann@example.com")
    bob = signed_in_client(app, "editor", "bob@example.com")
    make_incident(session, title="Ann incident", lead="ann@example.com")
    make_incident(session, title="Bob incident", lead="bob@example.com")
    for _ in range(2):
        assert "Ann incident" in _rows(ann, LIST + "&lead=me")
        assert "Bob incident" not in _rows(ann, LIST + "&lead=me")
        assert "Bob incident" in _rows(bob, LIST + "&lead=me")
        assert "Ann incident" not in _rows(bob, LIST + "&lead=me")


def test_the_pager_links_of_a_kept_table_are_the_requests_own(client, session):
    for n in range(3):
        make_incident(session, title=f"Incident {n}")
    for wanted in ("service=rag-search", "sort=title"):
        for _ in range(2):
            page = client.get(f"/incidents/?per_page=2&{wanted}").get_data(as_text=True)
            link = re.search(r'href="([^"]+)" rel="next"', page)
            assert link is not None and wanted in link.group(1) and "page=2" in link.group(1)
