"""Prometheus Alertmanager deliveries (webhook payload version 4) to incidents.

A firing alert opens an incident; the matching resolved alert recovers it.
Alertmanager retries, repeats and batches deliveries and may deliver them out
of order, so every alert is applied idempotently:

- An alert episode is its `fingerprint` (a hash of its labels) plus its
  `startsAt`: the same labels firing again after a resolution is a new
  incident. The episode is the incident's external id (source `alertmanager`),
  unique in the database.
- A repeated firing alert changes nothing. A resolved alert sets `recovered_at`
  to its `endsAt` and only ever moves it later, never back; a firing alert that
  arrives after its resolution does not reopen the incident.
- `detected_at` is when the alert reached us, never before `startsAt` and, for
  an alert first seen already resolved, never after `endsAt` (so TTR is never
  negative). It is set once, when the incident is opened.

A delivery is all or nothing: one bad alert (unknown vector, a timestamp the
domain rules refuse) is reported with its index and nothing is written.

Deliveries race: Alertmanager sends the same group again while the first is
still being written, and a firing and its resolution can arrive at once. Such a
race must never answer 4xx, since Alertmanager does not retry those and the
alert (or its resolution) would be lost: `record_delivery` treats a clash on the
unique external id as "already recorded" and applies the whole delivery again,
which then finds the incident that won.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from catalog.errors import FieldErrors, ValidationError
from catalog.incidents import service, timeline
from catalog.incidents.models import SEVERITIES, Incident
from catalog.releases.service import release_of_service
from catalog.rules import EARLIEST, SHORT_MAX, TITLE_MAX, storable
from catalog.timefmt import parse_timestamp

SOURCE = "alertmanager"
MAX_ALERTS = 1000
FINGERPRINT = re.compile(r"^[0-9A-Za-z]{1,64}$")
ZERO_TIME = "0001-01-01T00:00:00"  # Alertmanager's "not set", e.g. endsAt of a firing alert
# A delivery that lost a race is applied again; each attempt reads what the winners committed,
# so it makes progress, and a handful is plenty even for a burst of identical deliveries.
ATTEMPTS = 5
RETRYABLE_SQLSTATES = ("40P01", "40001")  # deadlock detected, serialization failure

# Alertmanager severity labels by convention, and our own names, to SEV1-4.
SEVERITY_LABELS = {
    "critical": "SEV1",
    "page": "SEV1",
    "high": "SEV2",
    "error": "SEV2",
    "major": "SEV2",
    "warning": "SEV3",
    "warn": "SEV3",
    "medium": "SEV3",
    "minor": "SEV4",
    "low": "SEV4",
    "info": "SEV4",
    **{sev.lower(): sev for sev in SEVERITIES},
}
DEFAULT_SEVERITY = "SEV3"


@dataclass
class DeliveryResult:
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, list[int]]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


@dataclass(frozen=True)
class _Alert:
    index: int
    status: str
    fingerprint: str
    starts_at: datetime
    ends_at: datetime | None
    labels: dict[str, str]
    annotations: dict[str, str]
    generator_url: str

    @property
    def external_id(self) -> str:
        """`fingerprint@startsAt`, the instant in UTC: the same moment in any offset is one key.

        The format is what earlier versions stored for a `Z` startsAt (isoformat, `Z` for
        `+00:00`, microseconds only when present), so those incidents keep matching.
        """
        return f"{self.fingerprint}@{_utc_text(self.starts_at)}"

    @property
    def legacy_external_id(self) -> str:
        """The key earlier versions stored for a startsAt sent with another offset."""
        return f"{self.fingerprint}@{self.starts_at.isoformat().replace('+00:00', 'Z')}"


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class DeliveryBusy(Exception):
    """The delivery kept losing races (or the database stayed locked): answer 503, so
    Alertmanager retries it later. Nothing of it was kept."""


def record_delivery(
    session: Session,
    payload: dict[str, Any],
    *,
    received_at: datetime,
    default_vector: str | None,
) -> DeliveryResult:
    """Apply a delivery and commit it; a clash with a concurrent delivery is retried.

    A unique-key clash on the external id means another delivery recorded that alert
    first (a StaleDataError, that it changed the incident first): everything of this
    attempt is rolled back and the delivery applied again from the top, now finding
    the winner's incident, so a resolution racing its firing still lands. Refusals
    (ValidationError) are not retried; the caller rolls back.
    """
    for _attempt in range(ATTEMPTS):
        try:
            result = apply_delivery(
                session, payload, received_at=received_at, default_vector=default_vector
            )
            session.commit()
            return result
        except (IntegrityError, StaleDataError):
            session.rollback()
        except OperationalError as exc:
            # PostgreSQL picked this transaction as a deadlock victim (or a serialization
            # failure): as good as a lost race. Anything else (SQLite "database is locked"
            # after its busy timeout, a lost connection) is the caller's 503.
            session.rollback()
            if getattr(exc.orig, "sqlstate", None) not in RETRYABLE_SQLSTATES:
                raise
    raise DeliveryBusy(f"Still clashing with concurrent deliveries after {ATTEMPTS} attempts.")


def apply_delivery(
    session: Session,
    payload: dict[str, Any],
    *,
    received_at: datetime,
    default_vector: str | None,
) -> DeliveryResult:
    """Open, recover or leave alone one incident per alert; flushes, does not commit."""
    alerts = _parse(payload)
    result = DeliveryResult()
    errors = FieldErrors()
    for alert in alerts:
        try:
            incident_id, outcome = _apply(session, alert, received_at, default_vector)
        except ValidationError as exc:
            errors.merge(
                exc.fields, lambda name, i=alert.index: f"alerts[{i}].{_payload_name(name)}"
            )
            continue
        getattr(result, outcome).append(incident_id)
    errors.raise_if_any()  # the caller rolls back: nothing of this delivery is kept
    return result


def _payload_name(field_name: str) -> str:
    """Our field name as the alert's: where the sender has to look."""
    return {
        "started_at": "startsAt",
        "recovered_at": "endsAt",
        "detected_at": "startsAt",
        "vectors": "labels.failure_vector",
        "title": "annotations.summary",
        "service": "labels.service",
        "team": "labels.team",
        "summary": "annotations.description",
    }.get(field_name, field_name)


def _apply(
    session: Session, alert: _Alert, received_at: datetime, default_vector: str | None
) -> tuple[int, str]:
    incident = session.scalar(
        select(Incident)
        .where(
            Incident.external_source == SOURCE,
            Incident.external_id.in_([alert.external_id, alert.legacy_external_id]),
        )
        .order_by(Incident.id)
        .limit(1)
    )
    resolved_at = alert.ends_at if alert.status == "resolved" else None
    if incident is None:
        vector = alert.labels.get("failure_vector") or default_vector
        if not vector:
            raise ValidationError(
                {
                    "vectors": [
                        "No failure_vector label, and CATALOG_ALERT_DEFAULT_VECTOR is not set."
                    ]
                }
            )
        detected = max(alert.starts_at, min(received_at, resolved_at or received_at))
        service_name = (alert.labels.get("service") or alert.labels.get("job") or "unknown")[
            :SHORT_MAX
        ]
        cause, note = _release(session, alert, service_name.strip())
        incident = service.create_incident(
            session,
            {
                "title": _title(alert),
                "severity": SEVERITY_LABELS.get(
                    alert.labels.get("severity", "").strip().lower(), DEFAULT_SEVERITY
                ),
                "service": service_name,
                "team": alert.labels.get("team", "")[:SHORT_MAX],
                "summary": _summary(alert) + note,
                "release": cause,
                "detection_source": "alert",
                "vectors": [vector],
                "started_at": alert.starts_at,
                "detected_at": detected,
                "recovered_at": resolved_at,
            },
            now=received_at,
            external=(SOURCE, alert.external_id),
        )
        _tell(session, incident, alert, "firing", alert.starts_at)
        if resolved_at is not None:
            _tell(session, incident, alert, "resolved", resolved_at)
        return incident.id, "created"
    if resolved_at is None:
        return incident.id, "unchanged"  # repeated, or late after its own resolution
    # Never before detection (TTR is not negative), never earlier than already recorded.
    recovered = max(resolved_at, incident.detected_at, incident.mitigated_at or resolved_at)
    if incident.recovered_at is not None and recovered <= incident.recovered_at:
        return incident.id, "unchanged"
    service.update_incident(
        session, incident, {"recovered_at": recovered, "version": incident.version}, now=received_at
    )
    # the alert's own time, unless it is one no stored time may be (before 2000)
    _tell(
        session, incident, alert, "resolved", resolved_at if resolved_at >= EARLIEST else recovered
    )
    return incident.id, "updated"


def _release(session: Session, alert: _Alert, service_name: str) -> tuple[int | None, str]:
    """The release a `release` label names: the service's newest deployment of that version
    at or before the alert began. One it cannot find is said in the summary, not refused:
    Alertmanager does not send a refused delivery again, and the alert matters more."""
    tag = alert.labels.get("release", "").strip()
    if not tag:
        return None, ""
    found = release_of_service(session, service_name, tag[:SHORT_MAX], at=alert.starts_at)
    if found is None:
        return None, (
            f"\n\nThe `release` label names `{tag[:SHORT_MAX]}`, but no release of "
            f"`{service_name}` with that version was deployed before the alert began."
        )
    return found.id, ""


def _tell(session: Session, incident: Incident, alert: _Alert, status: str, at: datetime) -> None:
    """A delivery that changed the incident, on its timeline at the alert's own time
    (`startsAt`, `endsAt`), even where the incident's times had to differ (recovered
    no earlier than detected)."""
    name = alert.labels.get("alertname") or "alert"
    timeline.record(
        session,
        incident,
        "status",
        storable(f"**{status.capitalize()}**: Alertmanager `{name[:TITLE_MAX]}`."),
        at=at,
        source="alertmanager",
        label="Alertmanager",
    )


def _title(alert: _Alert) -> str:
    title = alert.annotations.get("summary") or alert.labels.get("alertname") or "Alert"
    return " ".join(title.split())[:TITLE_MAX] or "Alert"


def _summary(alert: _Alert) -> str:
    lines = []
    if alert.annotations.get("description"):
        lines.append(alert.annotations["description"])
    labels = ", ".join(f"`{k}={v}`" for k, v in sorted(alert.labels.items()))
    lines.append(f"Opened by Alertmanager. Labels: {labels}.")
    if alert.generator_url.startswith(("http://", "https://")):
        lines.append(f"Source: <{alert.generator_url}>")
    return "\n\n".join(lines)


# ---- parsing -------------------------------------------------------------------


def _parse(payload: dict[str, Any]) -> list[_Alert]:
    """The alerts of a delivery, checked; ValidationError names each bad field by index."""
    errors = FieldErrors()
    raw_alerts = payload.get("alerts")
    if not isinstance(raw_alerts, list) or not raw_alerts:
        raise ValidationError({"alerts": ["A delivery needs a non-empty list of alerts."]})
    if len(raw_alerts) > MAX_ALERTS:
        raise ValidationError({"alerts": [f"At most {MAX_ALERTS} alerts per delivery."]})
    alerts = []
    for index, raw in enumerate(raw_alerts):
        where = f"alerts[{index}]"
        if not isinstance(raw, dict):
            errors.add(where, "Each alert must be an object.")
            continue
        status = raw.get("status")
        if status not in ("firing", "resolved"):
            errors.add(f"{where}.status", "Status must be firing or resolved.")
        fingerprint = raw.get("fingerprint")
        if not isinstance(fingerprint, str) or not FINGERPRINT.match(fingerprint):
            errors.add(f"{where}.fingerprint", "A fingerprint of 1 to 64 letters and digits.")
        starts_at = _time(errors, f"{where}.startsAt", raw.get("startsAt"), required=True)
        ends_at = _time(errors, f"{where}.endsAt", raw.get("endsAt"), required=False)
        if status == "resolved" and ends_at is None and not errors.has(f"{where}.endsAt"):
            errors.add(f"{where}.endsAt", "A resolved alert needs its endsAt.")
        labels = _strings(errors, f"{where}.labels", raw.get("labels", {}))
        annotations = _strings(errors, f"{where}.annotations", raw.get("annotations", {}))
        url = raw.get("generatorURL", "")
        if not isinstance(url, str):
            errors.add(f"{where}.generatorURL", "Must be a string.")
        if errors:
            continue
        alerts.append(
            _Alert(index, status, fingerprint, starts_at, ends_at, labels, annotations, url[:2000])  # type: ignore[arg-type]
        )
    errors.raise_if_any()
    return alerts


def _time(errors: FieldErrors, where: str, value: object, *, required: bool) -> datetime | None:
    if isinstance(value, str) and value.startswith(ZERO_TIME):
        value = None  # Alertmanager's "not set"
    if value is None or value == "":
        if required:
            errors.add(where, "Required.")
        return None
    return parse_timestamp(errors, where, value)


def _strings(errors: FieldErrors, where: str, value: object) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and len(k) <= 200 and len(v) <= 10_000
        for k, v in value.items()
    ):
        errors.add(where, "Must be an object of short strings.")
        return {}
    return value
