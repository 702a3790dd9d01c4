"""Release rules: validation, create, update, delete, and the lists pages and the API read.

Views, API, CLI and imports pass plain dicts of already-typed values; every rule for
releases is checked here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from catalog.db import utcnow
from catalog.errors import ConflictError, FieldErrors, NotFoundError
from catalog.incidents.models import Incident
from catalog.locking import check_version
from catalog.releases.models import Release
from catalog.releases.spec import RELEASE
from catalog.rules import MAX_ID, is_storable

EDITABLE = RELEASE.names


def validate_release(
    session: Session,
    data: Mapping[str, Any],
    *,
    now: datetime | None = None,
    errors: FieldErrors | None = None,
) -> dict[str, Any]:
    """Check a full set of release fields; return cleaned values or raise ValidationError
    with every message at once: each field's own (RELEASE), then the rollback's rules."""
    errors = errors if errors is not None else FieldErrors()
    clean = RELEASE.check(errors, data, now=now or utcnow())
    _check_rollback(errors, clean)
    errors.raise_if_any()
    return clean


def _check_rollback(errors: FieldErrors, clean: dict[str, Any]) -> None:
    """Rolled back means both rollback moments, in order after the deploy; no other
    outcome has a finished rollback (a rollback under way is still in progress)."""
    deployed, started, done = (
        clean.get("deployed_at"),
        clean.get("rollback_started_at"),
        clean.get("rolled_back_at"),
    )
    outcome = clean.get("outcome")
    if outcome == "rolled_back":
        for name, value in (("rollback_started_at", started), ("rolled_back_at", done)):
            if value is None and not errors.has(name):
                errors.add(name, f"{RELEASE[name].label} is required for a rolled-back release.")
    elif done is not None:
        errors.add(
            "rolled_back_at",
            "Only a rolled-back release has this time: set the outcome to Rolled back, "
            "or clear it.",
        )
    if outcome in ("promoted", "abandoned") and started is not None:
        errors.add(
            "rollback_started_at",
            "A promoted or abandoned release has no rollback: clear this time, "
            "or set the outcome to Rolled back (In progress while it runs).",
        )
    if deployed is not None and started is not None and started < deployed:
        errors.add("rollback_started_at", "Rollback started cannot be before Deployed.")
    if started is not None and done is not None and done < started:
        errors.add("rolled_back_at", "Rolled back cannot be before Rollback started.")


def get_release(session: Session, release_id: int) -> Release:
    release = session.get(Release, release_id) if 1 <= release_id <= MAX_ID else None
    if release is None:
        raise NotFoundError(f"There is no release #{release_id}.")
    return release


def create_release(
    session: Session,
    data: Mapping[str, Any],
    *,
    now: datetime | None = None,
    errors: FieldErrors | None = None,
) -> Release:
    release = Release(**validate_release(session, data, now=now, errors=errors))
    session.add(release)
    session.flush()
    return release


def update_release(
    session: Session,
    release: Release,
    data: Mapping[str, Any],
    *,
    now: datetime | None = None,
    errors: FieldErrors | None = None,
) -> Release:
    """Apply a partial change against the version the caller read."""
    check_version(release, data.get("version"), noun="release")
    merged = RELEASE.values_of(release)
    merged.update({k: v for k, v in data.items() if k in EDITABLE})
    clean = validate_release(session, merged, now=now, errors=errors)
    for field, value in clean.items():
        setattr(release, field, value)
    release.updated_at = utcnow()  # always an UPDATE, so the version moves on
    session.flush()
    return release


def linked_incidents(session: Session, release: Release) -> int:
    return session.scalar(select(func.count()).where(Incident.release_id == release.id)) or 0


def delete_release(session: Session, release: Release) -> None:
    """Delete only a release no incident names: the cause of an incident is history."""
    if session.scalar(select(exists().where(Incident.release_id == release.id))):
        raise ConflictError(
            "Incidents name this release as their cause; unlink them first, "
            "or keep the release and mark its outcome."
        )
    session.delete(release)
    session.flush()


@dataclass(frozen=True)
class ReleaseFilters:
    service: str | None = None
    team: str | None = None
    outcome: str | None = None


@dataclass(frozen=True)
class ReleasePage:
    items: list[Release]
    total: int
    page: int
    per_page: int


def list_releases(
    session: Session, filters: ReleaseFilters, *, page: int = 1, per_page: int = 50
) -> ReleasePage:
    """Newest deployment first. A filter no stored value can equal (a NUL byte, which
    PostgreSQL refuses to compare) matches nothing."""
    wanted = (filters.service, filters.team, filters.outcome)
    if any(value is not None and not is_storable(value) for value in wanted):
        return ReleasePage([], 0, page, per_page)
    query = select(Release)
    if filters.service:
        query = query.where(Release.service == filters.service)
    if filters.team:
        query = query.where(Release.team == filters.team)
    if filters.outcome:
        query = query.where(Release.outcome == filters.outcome)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(
        query.order_by(Release.deployed_at.desc(), Release.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return ReleasePage(list(items), total, page, per_page)


def release_choices(session: Session, current: Release | None = None) -> list[Release]:
    """What an incident form offers: the 100 newest releases, and the one already named."""
    releases = list(
        session.scalars(
            select(Release).order_by(Release.deployed_at.desc(), Release.id.desc()).limit(100)
        )
    )
    if current is not None and current not in releases:
        releases.append(current)
    return releases


def release_of_service(
    session: Session, service: str, tag: str, *, at: datetime | None = None
) -> Release | None:
    """The release of `service` tagged `tag` deployed last (before `at`, when given): what
    an alert's `release` label or an import rule names."""
    if not is_storable(service) or not is_storable(tag):
        return None
    query = select(Release).where(Release.service == service, Release.tag == tag)
    if at is not None:
        query = query.where(Release.deployed_at <= at)
    return session.scalar(query.order_by(Release.deployed_at.desc(), Release.id.desc()).limit(1))
