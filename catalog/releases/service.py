"""Release rules: validation, create, update, delete, and the lists pages and the API read.

Views, API, CLI and imports pass plain dicts of already-typed values; every rule for
releases is checked here and nowhere else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from catalog.db import utcnow
from catalog.errors import ConflictError, FieldErrors, NotFoundError, ValidationError
from catalog.incidents.models import Incident
from catalog.incidents.service import BLANK
from catalog.locking import check_version
from catalog.releases.loadtests import FORMATS, read_result
from catalog.releases.models import CanaryAnalysis, LoadTest, ReadinessBars, Release
from catalog.releases.spec import BARS, DEFAULT_BARS, LOAD_TEST, RELEASE
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
    """Delete only a release no incident names: the cause of an incident is history.

    `incidents.release_id` has no foreign key (see migration 0011), so the rule is held
    here against an incident being linked at the same moment: the row is locked first
    (PostgreSQL; an incident that is linking it holds it FOR SHARE until it commits) and
    deleted before the check (SQLite: the delete takes the write lock, so no incident can
    commit between the check and the commit). A refusal rolls the delete back.
    """
    session.scalar(select(Release.id).where(Release.id == release.id).with_for_update())
    session.delete(release)
    session.flush()
    if session.scalar(select(exists().where(Incident.release_id == release.id))):
        raise ConflictError(
            "Incidents name this release as their cause; unlink them first, "
            "or keep the release and mark its outcome."
        )


@dataclass(frozen=True)
class ReleaseFilters:
    service: str | None = None
    team: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    """Deployed at or after `since`, before `until`."""


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
    if filters.team == BLANK:  # a change metric's "(none)" row: releases without a team
        query = query.where(Release.team == "")
    elif filters.team:
        query = query.where(Release.team == filters.team)
    if filters.outcome:
        query = query.where(Release.outcome == filters.outcome)
    if filters.since:
        query = query.where(Release.deployed_at >= filters.since)
    if filters.until:
        query = query.where(Release.deployed_at < filters.until)
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


# ---- load tests -------------------------------------------------------------------------

_MULTIPLE = re.compile(r"([0-9]{1,4})\s*[x×X]?")


def read_tier(errors: FieldErrors, value: str | None) -> tuple[str, int | None] | None:
    """A tier's label and multiple: `5`, `5x`, `5×` are the same tier, 5×; anything else
    is a named tier (`peak`, `soak`), shown but not judged against the bars."""
    tier = LOAD_TEST["tier"].check(errors, value, now=utcnow())
    if tier is None:
        return None
    match = _MULTIPLE.fullmatch(tier)
    if match is None:
        return tier, None
    multiple = int(match[1])
    if multiple < 1:
        errors.add("tier", "Tier must be a multiple of 1 or more, or a name.")
        return None
    return f"{multiple}×", multiple


def record_load_test(
    session: Session,
    release: Release,
    data: Mapping[str, Any],
    *,
    source: str = "typed",
    errors: FieldErrors | None = None,
) -> LoadTest:
    """Store one tier (typed, or read from a result file), replacing the same tier's earlier
    result: a test run again is the newer evidence."""
    errors = errors if errors is not None else FieldErrors()
    tier = read_tier(errors, data.get("tier"))
    clean = LOAD_TEST.check(errors, data, only=LOAD_TEST.names[1:])
    ordered = [clean.get(n) for n in ("p50_ms", "p95_ms", "p99_ms")]
    present = [v for v in ordered if v is not None]
    if len(present) > 1 and present != sorted(present):
        errors.add("p99_ms", "Latencies must be in order: p50 ≤ p95 ≤ p99.")
    errors.raise_if_any()
    assert tier is not None
    label, multiple = tier
    for earlier in [t for t in release.load_tests if t.tier == label]:
        release.load_tests.remove(earlier)
    session.flush()  # the unique (release, tier) index sees the old row gone first
    test = LoadTest(tier=label, multiplier=multiple, source=source, **clean)
    release.load_tests.append(test)
    session.flush()
    return test


def import_load_test(
    session: Session, release: Release, tier: str | None, fmt: str | None, raw: bytes
) -> LoadTest:
    """A tier from a k6, wrk or Locust result file (catalog.releases.loadtests)."""
    errors = FieldErrors()
    read_tier(errors, tier)
    if fmt not in FORMATS:
        errors.add("format", f"Format must be one of: {', '.join(FORMATS)}.")
    errors.raise_if_any()
    assert fmt is not None
    result = read_result(fmt, raw)
    return record_load_test(session, release, {"tier": tier, **asdict(result)}, source=fmt)


def get_load_test(session: Session, release: Release, load_test_id: int) -> LoadTest:
    test = next((t for t in release.load_tests if t.id == load_test_id), None)
    if test is None:
        raise NotFoundError(f"Release #{release.id} has no load test #{load_test_id}.")
    return test


def delete_load_test(session: Session, release: Release, test: LoadTest) -> None:
    release.load_tests.remove(test)
    session.flush()


# ---- the bars a service's tiers are judged against ------------------------------------


@dataclass(frozen=True)
class Bars:
    service: str
    p99_1x_ms: int
    p99_5x_ms: int
    error_rate_10x: float
    custom: bool
    """False while the service uses the defaults."""
    version: int = 0


def bars_for(session: Session, service: str) -> Bars:
    row = session.get(ReadinessBars, service) if is_storable(service) else None
    if row is None:
        return Bars(service, **DEFAULT_BARS, custom=False)  # type: ignore[arg-type]
    return Bars(
        service, row.p99_1x_ms, row.p99_5x_ms, row.error_rate_10x, custom=True, version=row.version
    )


def set_bars(
    session: Session,
    service: str,
    data: Mapping[str, Any],
    *,
    errors: FieldErrors | None = None,
) -> Bars:
    """Set a service's bars (every field; a missing one takes its default)."""
    errors = errors if errors is not None else FieldErrors()
    name = RELEASE["service"].check(errors, service, now=utcnow())
    clean = BARS.check(errors, data)
    errors.raise_if_any()
    row = session.get(ReadinessBars, name)
    if row is None:
        row = ReadinessBars(service=name, **clean)
        session.add(row)
    else:
        check_version(row, data.get("version"), noun="bars")
        for field, value in clean.items():
            setattr(row, field, value)
    session.flush()
    return bars_for(session, name or "")


@dataclass(frozen=True)
class TierVerdict:
    bar: str
    """What the tier is held to, in words ("p99 ≤ 150 ms"); empty for a named tier."""
    met: bool | None


def judge(test: LoadTest, bars: Bars) -> TierVerdict:
    """1× and 5× are held to their p99 bars, 10× to its error budget; other tiers to none."""
    if test.multiplier == 1:
        return TierVerdict(f"p99 ≤ {bars.p99_1x_ms} ms", test.p99_ms <= bars.p99_1x_ms)
    if test.multiplier == 5:
        return TierVerdict(f"p99 ≤ {bars.p99_5x_ms} ms", test.p99_ms <= bars.p99_5x_ms)
    if test.multiplier == 10:
        return TierVerdict(
            f"errors ≤ {bars.error_rate_10x:g} %", test.error_rate <= bars.error_rate_10x
        )
    return TierVerdict("", None)


# ---- canary analysis --------------------------------------------------------------------


def save_canary(
    session: Session, release: Release, baseline: bytes, canary: bytes
) -> CanaryAnalysis:
    """Analyse a canary from both sides' samples and keep it with the release (replacing
    an earlier analysis). Both files are read before anything is written."""
    from catalog.releases.canary import analyse, read_samples  # SciPy loads on first use

    errors = FieldErrors()
    sides = {}
    for field, raw in (("baseline", baseline), ("canary", canary)):
        try:
            sides[field] = read_samples(raw, field)
        except ValidationError as exc:
            errors.merge(exc.fields)
    errors.raise_if_any()
    analysis = analyse(release, sides["baseline"], sides["canary"])
    if release.canary is not None:
        release.canary = None
        session.flush()
    release.canary = analysis
    session.flush()
    return analysis
