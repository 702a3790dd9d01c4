"""Explicit JSON shapes of vectors, incidents and post-mortems (SPEC §4)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from catalog.incidents.models import Incident
from catalog.incidents.service import IncidentSummary, incident_status
from catalog.postmortems.models import ActionItem, Postmortem
from catalog.postmortems.service import (
    incident_root_cause_flag,
    is_action_item_overdue,
    root_cause_overdue_from,
    root_cause_seconds,
)
from catalog.reports.metrics import (
    impact_seconds,
    incident_breaching,
    incident_breaching_from,
    ttd_seconds,
    ttr_seconds,
)
from catalog.settings import Settings
from catalog.timefmt import iso_utc
from catalog.vectors.models import Vector


def vector_to_dict(vector: Vector) -> dict[str, Any]:
    return {
        "slug": vector.slug,
        "name": vector.name,
        "category": vector.category,
        "description": vector.description,
        "detection": vector.detection,
        "mitigation": vector.mitigation,
        "mttd_target_minutes": vector.mttd_target_minutes,
        "mttr_target_minutes": vector.mttr_target_minutes,
        "severity": vector.severity,
        "occurrence": vector.occurrence,
        "detectability": vector.detectability,
        "rpn": vector.rpn,
        "archived": vector.archived,
        "archived_at": iso_utc(vector.archived_at),
        "created_at": iso_utc(vector.created_at),
        "updated_at": iso_utc(vector.updated_at),
        "version": vector.version,
    }


def incident_to_dict(
    incident: Incident | IncidentSummary, settings: Settings, *, now: datetime
) -> dict[str, Any]:
    """An incident as the API shows it: its row, and what the clock decides now
    (`breaching`, `root_cause_flag`; `next_clock_change` says when those move)."""
    return {
        "id": incident.id,
        "title": incident.title,
        "severity": incident.severity,
        "service": incident.service,
        "team": incident.team,
        "vectors": incident.vector_slugs,
        "summary": incident.summary,
        "detection_source": incident.detection_source,
        "started_at": iso_utc(incident.started_at),
        "detected_at": iso_utc(incident.detected_at),
        "acknowledged_at": iso_utc(incident.acknowledged_at),
        "mitigated_at": iso_utc(incident.mitigated_at),
        "recovered_at": iso_utc(incident.recovered_at),
        "lead": incident.lead_email,
        "comms_lead": incident.comms_lead_email,
        "release": incident.release_id,
        "status": incident_status(incident),
        "ttd_seconds": ttd_seconds(incident.started_at, incident.detected_at),
        "ttr_seconds": ttr_seconds(
            incident.started_at,
            incident.detected_at,
            incident.recovered_at,
            mttr_from=settings.mttr_from,
        ),
        "impact_seconds": impact_seconds(incident.started_at, incident.recovered_at),
        "created_at": iso_utc(incident.created_at),
        "updated_at": iso_utc(incident.updated_at),
        "version": incident.version,
        "breaching": incident_breaching(incident, settings, now=now),
        "root_cause_flag": incident_root_cause_flag(
            incident, now=now, rca_hours=settings.rca_hours
        ),
        "has_postmortem": incident.postmortem is not None,
    }


def next_clock_change(
    incidents: Iterable[Incident | IncidentSummary], settings: Settings, *, now: datetime
) -> datetime | None:
    """The first moment after `now` at which the clock alone changes `incident_to_dict` of
    any of these (an open incident starts breaching, a root cause becomes overdue)."""
    moments = [
        moment
        for incident in incidents
        for moment in (
            incident_breaching_from(incident, settings),
            root_cause_overdue_from(incident, rca_hours=settings.rca_hours),
        )
        if moment is not None and moment >= now
    ]
    return min(moments, default=None)


def action_item_to_dict(item: ActionItem, *, now: datetime) -> dict[str, Any]:
    return {
        "id": item.id,
        "title": item.title,
        "owner": item.owner,
        "due_on": item.due_on.isoformat() if item.due_on else None,
        "done_at": iso_utc(item.done_at),
        "link": item.link,
        "overdue": is_action_item_overdue(item, today=now.date()),
    }


def postmortem_to_dict(pm: Postmortem, settings: Settings, *, now: datetime) -> dict[str, Any]:
    incident = pm.incident
    return {
        "incident_id": incident.id,
        "status": pm.status,
        "root_cause_at": iso_utc(pm.root_cause_at),
        "root_cause": pm.root_cause,
        "body": pm.body,
        "published_at": iso_utc(pm.published_at),
        "root_cause_seconds": root_cause_seconds(incident),
        "root_cause_flag": incident_root_cause_flag(
            incident, now=now, rca_hours=settings.rca_hours
        ),
        "action_items": [action_item_to_dict(i, now=now) for i in pm.action_items],
        "created_at": iso_utc(pm.created_at),
        "updated_at": iso_utc(pm.updated_at),
        "version": pm.version,
    }
