"""Small builders for valid incidents and payloads; tests change only what they test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from catalog.incidents.models import Incident
from catalog.incidents.service import create_incident
from catalog.releases.models import Release
from catalog.releases.service import create_release

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday, long before "now"


def incident_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Vector DB latency spike",
        "severity": "SEV2",
        "service": "rag-search",
        "team": "search",
        "vectors": ["dependency-latency"],
        "summary": "p99 at 4 s",
        "detection_source": "alert",
        "started_at": T0,
        "detected_at": T0 + timedelta(minutes=4),
        "acknowledged_at": None,
        "mitigated_at": None,
        "recovered_at": T0 + timedelta(minutes=4 + 12),
    }
    data.update(overrides)
    return data


def make_incident(session: Session, **overrides: Any) -> Incident:
    incident = create_incident(session, incident_data(**overrides))
    session.commit()
    return incident


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def api_payload(**overrides: Any) -> dict[str, Any]:
    """The same incident as JSON for the API."""
    data = incident_data()
    out = {k: (iso(v) if isinstance(v, datetime) else v) for k, v in data.items()}
    out.update(overrides)
    return out


def form_payload(**overrides: Any) -> dict[str, Any]:
    """The same incident as a browser would post the form (times in the display zone, UTC here)."""
    data = incident_data()
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, datetime):
            out[key] = value.strftime("%Y-%m-%dT%H:%M")
        elif value is None:
            out[key] = ""
        else:
            out[key] = value
    out.update(overrides)
    return out


def release_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "service": "chat-api",
        "tag": "v2.4.1",
        "team": "assistant",
        "deployed_at": T0,
        "canary_percent": 5,
        "guard_p99_ms": 300,
        "guard_error_rate": 0.2,
        "rollback_window_seconds": 300,
    }
    data.update(overrides)
    return data


def make_release(session: Session, **overrides: Any) -> Release:
    release = create_release(session, release_data(**overrides))
    session.commit()
    return release
