"""Change metrics: how a team ships, beside how it fails (DORA's measures, from releases).

For the releases deployed in a report's range (whole local days, as every report), per
service, team, week or month:

- **deployments** and **deployment frequency** (deployments per week of the range or
  period): every release counts, whatever its outcome;
- **change failure rate**: releases that were rolled back or that an incident names as its
  cause, over all releases;
- **time to restore** of change-caused incidents (those naming a release, started in the
  range, grouped by their own service, team or period as every incident figure is): median
  and p90 of their TTR, by the metrics module's definitions (`ttr_seconds`, DurationStats);
- **rollback time**: the median of the measured rollback times (rollback started to rolled
  back) of the releases rolled back.

Releases have no vector or severity, so those two filters are not applied here (the page
says so). Releases are few (a team ships weekly, not 10^5 times), so they are read whole
for the range; change-caused incidents come through the release_id index.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from catalog.incidents.models import Incident
from catalog.incidents.service import BLANK
from catalog.releases.models import Release, rollback_seconds
from catalog.reports.analytics import Change
from catalog.reports.metrics import (
    DurationStats,
    next_period,
    period_start,
    periods_in,
    ttr_seconds,
)
from catalog.reports.query import ReportQuery, day_start
from catalog.settings import Settings

CHANGE_GROUPS = ("overall", "service", "team", "week", "month")
OVERALL = "all releases"


@dataclass(frozen=True)
class ChangeGroup:
    key: str
    deployments: int
    failed: int
    rolled_back: int
    restore: DurationStats
    """TTR of the change-caused incidents (target: the default MTTR target)."""
    rollback_median: float | None
    """Seconds, from rollback started to rolled back."""
    days: int
    """The days the group spans, for the frequency."""

    @property
    def per_week(self) -> float:
        return self.deployments * 7 / self.days if self.days else 0.0

    @property
    def change_failure_rate(self) -> float | None:
        return self.failed / self.deployments if self.deployments else None


@dataclass(frozen=True)
class ChangeReport:
    group_by: str
    groups: list[ChangeGroup]
    overall: ChangeGroup
    previous: ChangeGroup
    """The range of equal length just before, for period-over-period change."""

    @property
    def changes(self) -> list[Change]:
        cur, prev = self.overall, self.previous
        return [
            Change("Deployments", cur.deployments, prev.deployments, "count", True),
            Change(
                "Change failure rate", cur.change_failure_rate, prev.change_failure_rate, "percent"
            ),
            Change("Time to restore, median", cur.restore.median, prev.restore.median, "duration"),
            Change("Rollback time, median", cur.rollback_median, prev.rollback_median, "duration"),
        ]


def compute_changes(
    session: Session, settings: Settings, query: ReportQuery, group_by: str = "service"
) -> ChangeReport:
    if group_by not in CHANGE_GROUPS:
        raise ValueError(f"group_by must be one of {CHANGE_GROUPS}")
    earlier = query.previous()
    # One read of each table covers this range and the one before it.
    shipped, restored = _read(session, settings, earlier.first_day, query)
    current = day_start(query.first_day, settings.zone)
    now_shipped = [r for r in shipped if r.deployed_at >= current]
    now_restored = [r for r in restored if r.started_at >= current]
    before_shipped = [r for r in shipped if r.deployed_at < current]
    before_restored = [r for r in restored if r.started_at < current]
    return ChangeReport(
        group_by,
        _groups(settings, query, group_by, now_shipped, now_restored),
        _groups(settings, query, "overall", now_shipped, now_restored)[0],
        _groups(settings, earlier, "overall", before_shipped, before_restored)[0],
    )


def _read(
    session: Session, settings: Settings, first_day: date, query: ReportQuery
) -> tuple[list[Any], list[Any]]:
    """The releases deployed and the change-caused incidents started from `first_day` to the
    end of the view, as plain rows (no ORM objects: a year of releases is a few hundred)."""
    since = day_start(first_day, settings.zone)
    until = day_start(query.last_day + timedelta(days=1), settings.zone)
    caused = exists().where(Incident.release_id == Release.id)
    releases = select(
        Release.service,
        Release.team,
        Release.deployed_at,
        Release.outcome,
        Release.rollback_started_at,
        Release.rolled_back_at,
        caused.label("caused"),
    ).where(Release.deployed_at >= since, Release.deployed_at < until)
    incidents = select(
        Incident.service,
        Incident.team,
        Incident.started_at,
        Incident.detected_at,
        Incident.recovered_at,
    ).where(
        Incident.release_id.is_not(None),
        Incident.recovered_at.is_not(None),
        Incident.started_at >= since,
        Incident.started_at < until,
    )
    if query.service:
        releases = releases.where(Release.service == query.service)
        incidents = incidents.where(Incident.service == query.service)
    if query.team:
        releases = releases.where(Release.team == query.team)
        incidents = incidents.where(Incident.team == query.team)
    return list(session.execute(releases)), list(session.execute(incidents))


def _groups(
    settings: Settings,
    query: ReportQuery,
    group_by: str,
    releases: list[Any],
    incidents: list[Any],
) -> list[ChangeGroup]:
    def key_of(service: str, team: str, moment: datetime) -> str:
        if group_by == "service":
            return service
        if group_by == "team":
            return team or BLANK
        if group_by in ("week", "month"):
            return period_start(moment, group_by, settings).isoformat()
        return OVERALL

    shipped: dict[str, list[Any]] = defaultdict(list)
    for row in releases:
        shipped[key_of(row.service, row.team, row.deployed_at)].append(row)
    restores: dict[str, list[float]] = defaultdict(list)
    for row in incidents:
        restores[key_of(row.service, row.team, row.started_at)].append(
            ttr_seconds(
                row.started_at, row.detected_at, row.recovered_at, mttr_from=settings.mttr_from
            )
        )
    keys = _keys(group_by, query, settings, set(shipped) | set(restores))
    target = settings.mttr_target_minutes * 60
    out = []
    for key in keys:
        rows = shipped.get(key, [])
        measured = (rollback_seconds(r.rollback_started_at, r.rolled_back_at) for r in rows)
        rollbacks = [seconds for seconds in measured if seconds is not None]
        out.append(
            ChangeGroup(
                key=key,
                deployments=len(rows),
                failed=sum(1 for r in rows if r.caused or r.outcome == "rolled_back"),
                rolled_back=sum(1 for r in rows if r.outcome == "rolled_back"),
                restore=DurationStats.of(restores.get(key, []), target),
                rollback_median=statistics.median(rollbacks) if rollbacks else None,
                days=_days(key, group_by, query),
            )
        )
    return out


def _keys(group_by: str, query: ReportQuery, settings: Settings, seen: set[str]) -> list[str]:
    """Every period of the range (a quiet week is a zero, not a gap); other keys by name."""
    if group_by == "overall":
        return [OVERALL]
    if group_by not in ("week", "month"):
        return sorted(seen)
    return periods_in(group_by, query.filters(settings), settings, sorted(seen))


def _days(key: str, group_by: str, query: ReportQuery) -> int:
    """The days of the range a group spans: the whole range, or its period's part of it."""
    if group_by not in ("week", "month"):
        return query.days
    start = date.fromisoformat(key)
    end = next_period(start, group_by)
    first, last = max(start, query.first_day), min(end, query.last_day + timedelta(days=1))
    return max((last - first).days, 1)


def change_csv_header(first: str) -> list[str]:
    return [
        first,
        "deployments",
        "deployments_per_week",
        "failed_changes",
        "rolled_back",
        "change_failure_rate",
        "restore_incidents",
        "time_to_restore_median_s",
        "time_to_restore_p90_s",
        "rollback_median_s",
    ]


def change_csv_row(group: ChangeGroup) -> list[object]:
    """Seconds and fractions as numbers (a spreadsheet computes with them), blank for none."""

    def number(value: float | None) -> object:
        return "" if value is None else round(value, 4)

    return [
        group.key,
        group.deployments,
        round(group.per_week, 4),
        group.failed,
        group.rolled_back,
        number(group.change_failure_rate),
        group.restore.samples,
        number(group.restore.median),
        number(group.restore.p90),
        number(group.rollback_median),
    ]
