"""How the validation tests send a value over each surface and check that it was refused.

Every validation rule of SPEC §2 is tested in tests/test_validation_*.py, through the HTML
forms and through the JSON API. A refused form answers 422 with the message on the page
(next to its field); a refused API call answers 422 with `error.fields` naming every
offending field. Either way nothing in the database changes (`db_state`) and nothing
answers 500.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from factories import api_payload, form_payload, iso, make_incident
from markupsafe import escape
from sqlalchemy import text
from sqlalchemy.orm import Session

from catalog.postmortems.service import save_postmortem

TABLES = ("vectors", "incidents", "incident_vectors", "postmortems", "action_items")
FUTURE = "cannot be more than 5 minutes in the future."
BEFORE_2000 = "cannot be before 2000-01-01."
CONTROL = "contains control characters; only newline and tab are allowed."
NAIVE = "naive times are ambiguous"

Value = Any  # a datetime (UTC), None, a string, or a callable now -> datetime


def in_future(minutes: int) -> Callable[[datetime], datetime]:
    return lambda now: now + timedelta(minutes=minutes)


def resolve(value: Value, now: datetime) -> Value:
    return value(now) if callable(value) else value


def local(value: Value) -> str:
    """A datetime as a datetime-local input posts it (the display zone is UTC by default)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
    return value


def api_value(value: Value) -> Any:
    return iso(value) if isinstance(value, datetime) else value


def db_state(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to prove a refused request changed nothing."""
    session.rollback()
    state = {
        table: [tuple(r) for r in session.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2"))]
        for table in TABLES
    }
    session.rollback()  # end the read transaction: SQLite would keep its snapshot
    return state


def assert_api_refused(response: Any, expected: dict[str, str]) -> None:
    assert response.status_code == 422, response.get_data(as_text=True)[:500]
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["fields"]) == set(expected), error["fields"]
    for field, fragment in expected.items():
        assert any(fragment in m for m in error["fields"][field]), (field, error["fields"])


def assert_form_refused(response: Any, expected: dict[str, str]) -> None:
    assert response.status_code == 422, response.status_code
    page = response.get_data(as_text=True)
    assert "Please correct the" in page
    for field, fragment in expected.items():
        assert f'id="{field}-error"' in page, field
        assert str(escape(fragment)) in page, fragment


def assert_refused(response: Any, surface: str, expected: dict[str, str]) -> None:
    if surface.startswith("api"):
        assert_api_refused(response, expected)
    else:
        assert_form_refused(response, expected)


# ---- incidents ---------------------------------------------------------------


INCIDENT_SURFACES = ("form-new", "form-edit", "api-post", "api-patch")


def existing_incident(session: Session, surface: str) -> Any:
    return make_incident(session) if surface in ("form-edit", "api-patch") else None


def send_incident(client: Any, surface: str, incident: Any, fields: dict[str, Value]) -> Any:
    """Send `fields` on top of the factory's valid incident, over one surface."""
    now = datetime.now(UTC)
    fields = {k: resolve(v, now) for k, v in fields.items()}
    if surface.startswith("form"):
        data = form_payload(**{k: local(v) for k, v in fields.items()})
        if incident is None:
            return client.post("/incidents/new", data=data)
        data["version"] = str(incident.version)
        return client.post(f"/incidents/{incident.id}/edit", data=data)
    payload = {k: api_value(v) for k, v in fields.items()}
    if incident is None:
        return client.post("/api/v1/incidents", json=api_payload(**payload))
    return client.patch(
        f"/api/v1/incidents/{incident.id}", json={**payload, "version": incident.version}
    )


def check_incident_refused(
    client: Any, session: Session, surface: str, fields: dict[str, Value], expected: dict[str, str]
) -> None:
    incident = existing_incident(session, surface)
    before = db_state(session)
    response = send_incident(client, surface, incident, fields)
    assert_refused(response, surface, expected)
    assert db_state(session) == before


def check_incident_accepted(
    client: Any, session: Session, surface: str, fields: dict[str, Value]
) -> None:
    incident = existing_incident(session, surface)
    count = len(db_state(session)["incidents"])
    response = send_incident(client, surface, incident, fields)
    expected_status = {"form-new": 302, "form-edit": 302, "api-post": 201, "api-patch": 200}
    assert response.status_code == expected_status[surface], response.get_data(as_text=True)[:800]
    state = db_state(session)
    assert len(state["incidents"]) == count + (1 if incident is None else 0)


# ---- vectors -------------------------------------------------------------------


EDITED_SLUG = "data-drift"


def vector_fields(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "slug": "prompt-injection",
        "name": "Prompt injection",
        "category": "other",
        "description": "Instructions smuggled in retrieved text.",
        "detection": "Canary prompts; output classifiers.",
        "mitigation": "Strip instructions from retrieved text.",
        "mttd_target_minutes": 5,
        "mttr_target_minutes": 15,
        "severity": 7,
        "occurrence": 3,
        "detectability": 6,
    }
    data.update(overrides)
    return data


# ---- post-mortems ----------------------------------------------------------------


def pm_form_data(fields: dict[str, Any], items: list[dict[str, Any]] | None = None) -> dict:
    data: dict[str, Any] = {
        "status": "draft",
        "root_cause_at": "",
        "root_cause": "A cache stampede.",
        "body": "## Summary\nIt broke.",
        "save": "Save post-mortem",
    }
    data.update({k: local(v) for k, v in fields.items()})
    for i, item in enumerate(items or []):
        for key, value in item.items():
            data[f"action_items-{i}-{key}"] = "" if value is None else str(value)
    return data


def api_pm_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def existing_postmortem(session: Session, surface: str) -> tuple[Any, int | None]:
    """The incident to write about and, for the edit surfaces, its post-mortem's version."""
    incident = make_incident(session)
    if surface not in ("form-edit", "api-replace"):
        return incident, None
    pm, _ = save_postmortem(
        session,
        incident,
        {"root_cause": "first draft", "action_items": [{"title": "Add a canary"}]},
    )
    session.commit()
    return incident, pm.version


def send_postmortem(
    client: Any,
    session: Session,
    surface: str,
    fields: dict[str, Value],
    items: list[Any] | None = None,
) -> tuple[Any, dict[str, list[tuple[Any, ...]]]]:
    """Write a post-mortem over one surface; returns the response and the state before it."""
    now = datetime.now(UTC)
    fields = {k: resolve(v, now) for k, v in fields.items()}
    if items is not None:
        items = [
            {k: resolve(v, now) for k, v in item.items()} if isinstance(item, dict) else item
            for item in items
        ]
    incident, version = existing_postmortem(session, surface)
    before = db_state(session)
    if surface.startswith("form"):
        data = pm_form_data(fields, items)
        if version is not None:
            data["version"] = str(version)
        response = client.post(f"/incidents/{incident.id}/postmortem", data=data)
    else:
        payload: dict[str, Any] = {"status": "draft", "root_cause": "A cache stampede."}
        payload.update({k: api_pm_value(v) for k, v in fields.items()})
        if items is not None:
            payload["action_items"] = [
                {k: api_pm_value(v) for k, v in item.items()} if isinstance(item, dict) else item
                for item in items
            ]
        if version is not None:
            payload["version"] = version
        response = client.put(f"/api/v1/incidents/{incident.id}/postmortem", json=payload)
    return response, before
