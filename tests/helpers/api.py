"""Checks and builders shared by the tests of the JSON API contract (tests/test_api_*.py).

An error answer is the JSON envelope `{"error": {"code", "message", "fields"}}`
(`assert_error`, `assert_fields`); `count` reads a table's rows outside any request;
`incident_at` places the factory incident in time; `walk` follows a list's `next` links.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from factories import T0, iso, make_incident
from sqlalchemy import text
from sqlalchemy.orm import Session

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")
MIB = 1024 * 1024


def count(session: Session, table: str) -> int:
    session.rollback()
    n = session.scalar(text(f"SELECT count(*) FROM {table}"))
    session.rollback()
    return int(n or 0)


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_data()[:300])
    assert response.is_json, response.content_type
    error = response.get_json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return error


def assert_fields(response: Any, *fields: str) -> dict[str, list[str]]:
    error = assert_error(response, 422, "validation_error")
    assert set(error["fields"]) == set(fields), error["fields"]
    return error["fields"]


def incident_at(session: Session, hours: float = 0, **overrides: Any) -> Any:
    """The factory incident shifted by `hours`; pass timestamps as offsets in minutes."""
    base = T0 + timedelta(hours=hours)
    minutes = {"started_at": 0, "detected_at": 4, "recovered_at": 16}
    for field in ("started_at", "detected_at", "acknowledged_at", "mitigated_at", "recovered_at"):
        if field in overrides:
            value = overrides.pop(field)
            minutes[field] = value
    stamps = {f: None if m is None else base + timedelta(minutes=m) for f, m in minutes.items()}
    return make_incident(session, **stamps, **overrides)


def walk(client: Any, url: str, **query: Any) -> list[dict[str, Any]]:
    """Follow `next` links from the first page; return each page's body."""
    pages = []
    response = client.get(url, query_string=query)
    while True:
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        pages.append(body)
        if body["next"] is None:
            return pages
        assert len(pages) < 50
        response = client.get(body["next"])


DAY1, DAY2 = iso(T0 + timedelta(days=1)), iso(T0 + timedelta(days=2))
