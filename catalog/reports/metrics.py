"""The one definition of every MTTD/MTTR number (SPEC §3).

Every page, API answer, export and CLI table gets its numbers from here. The
per-incident durations are defined once (`ttd_seconds`, `ttr_seconds`) and the
group statistics are computed from exactly those values.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.config import MetricSettings
from catalog.db import utcnow
from catalog.errors import ValidationError
from catalog.incidents.models import SEVERITIES, Incident, incident_vectors
from catalog.incidents.service import IncidentFilters, apply_filters, check_filters
from catalog.vectors.models import Vector

GROUP_BYS = ("overall", "vector", "severity", "service", "team", "week", "month")
MAX_FILLED_PERIODS = 1000


# ---- per incident ------------------------------------------------------------


def ttd_seconds(started_at: datetime, detected_at: datetime) -> float:
    """Time to detect: detected_at - started_at."""
    return (detected_at - started_at).total_seconds()


def ttr_seconds(
    started_at: datetime,
    detected_at: datetime,
    recovered_at: datetime | None,
    *,
    mttr_from: str,
) -> float | None:
    """Time to recover from detection (default) or from the start (CATALOG_MTTR_FROM=started)."""
    if recovered_at is None:
        return None
    origin = started_at if mttr_from == "started" else detected_at
    return (recovered_at - origin).total_seconds()


def impact_seconds(started_at: datetime, recovered_at: datetime | None) -> float | None:
    return None if recovered_at is None else (recovered_at - started_at).total_seconds()


def open_elapsed_seconds(
    started_at: datetime, detected_at: datetime, *, now: datetime, mttr_from: str
) -> float:
    """How long an open incident has been running on the ttr clock."""
    origin = started_at if mttr_from == "started" else detected_at
    return (now - origin).total_seconds()


def incident_ttr_target_seconds(incident: Incident, settings: MetricSettings) -> int:
    """An incident's own ttr target: the strictest of its vectors' targets."""
    targets = [v.mttr_target_seconds for v in incident.vectors]
    return min(targets) if targets else settings.mttr_target_minutes * 60


def incident_ttd_target_seconds(incident: Incident, settings: MetricSettings) -> int:
    targets = [v.mttd_target_seconds for v in incident.vectors]
    return min(targets) if targets else settings.mttd_target_minutes * 60


def is_breaching(
    started_at: datetime,
    detected_at: datetime,
    recovered_at: datetime | None,
    ttr_target_seconds: float,
    *,
    now: datetime,
    mttr_from: str,
) -> bool:
    """Open and already past its ttr target (a live flag)."""
    if recovered_at is not None:
        return False
    elapsed = open_elapsed_seconds(started_at, detected_at, now=now, mttr_from=mttr_from)
    return elapsed > ttr_target_seconds


def incident_breaching(incident: Incident, settings: MetricSettings, *, now: datetime) -> bool:
    return is_breaching(
        incident.started_at,
        incident.detected_at,
        incident.recovered_at,
        incident_ttr_target_seconds(incident, settings),
        now=now,
        mttr_from=settings.mttr_from,
    )


@dataclass(frozen=True)
class IncidentDurations:
    """What the detail page and the API show for one incident."""

    ttd: float
    ttr: float | None
    impact: float | None
    ttd_target: int
    ttr_target: int
    breaching: bool
    open_elapsed: float | None

    @property
    def ttd_met(self) -> bool:
        return self.ttd <= self.ttd_target

    @property
    def ttr_met(self) -> bool | None:
        return None if self.ttr is None else self.ttr <= self.ttr_target


def incident_durations(
    incident: Incident, settings: MetricSettings, *, now: datetime
) -> IncidentDurations:
    ttr = ttr_seconds(
        incident.started_at,
        incident.detected_at,
        incident.recovered_at,
        mttr_from=settings.mttr_from,
    )
    return IncidentDurations(
        ttd=ttd_seconds(incident.started_at, incident.detected_at),
        ttr=ttr,
        impact=impact_seconds(incident.started_at, incident.recovered_at),
        ttd_target=incident_ttd_target_seconds(incident, settings),
        ttr_target=incident_ttr_target_seconds(incident, settings),
        breaching=incident_breaching(incident, settings, now=now),
        open_elapsed=None
        if incident.recovered_at is not None
        else open_elapsed_seconds(
            incident.started_at, incident.detected_at, now=now, mttr_from=settings.mttr_from
        ),
    )


# ---- group statistics ---------------------------------------------------------


def p90_of(sorted_values: Sequence[float]) -> float:
    """90th percentile by linear interpolation (statistics.quantiles, method="inclusive")."""
    if len(sorted_values) == 1:
        return float(sorted_values[0])
    return statistics.quantiles(sorted_values, n=10, method="inclusive")[8]


@dataclass(frozen=True)
class DurationStats:
    mean: float | None
    median: float | None
    p90: float | None
    max: float | None
    target: int
    attainment: float | None
    breaches: int
    samples: int

    @classmethod
    def of(cls, values: Iterable[float], target: int) -> DurationStats:
        ordered = sorted(values)
        if not ordered:
            return cls(None, None, None, None, target, None, 0, 0)
        within = sum(1 for v in ordered if v <= target)
        return cls(
            mean=statistics.fmean(ordered),
            median=statistics.median(ordered),
            p90=p90_of(ordered),
            max=ordered[-1],
            target=target,
            attainment=within / len(ordered),
            breaches=len(ordered) - within,
            samples=len(ordered),
        )


@dataclass(frozen=True)
class GroupMetrics:
    key: str
    label: str
    count: int
    open: int
    breaching: int
    ttd: DurationStats
    ttr: DurationStats

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for part in ("ttd", "ttr"):
            out[part].pop("samples")
        return out


@dataclass
class MetricsReport:
    group_by: str
    settings: MetricSettings
    filters: IncidentFilters
    groups: list[GroupMetrics] = field(default_factory=list)
    generated_at: datetime = field(default_factory=utcnow)

    def definition(self) -> dict[str, Any]:
        s = self.settings
        return {
            "ttd": "detected_at - started_at",
            "ttr": f"recovered_at - {'started_at' if s.mttr_from == 'started' else 'detected_at'}",
            "mttr_from": s.mttr_from,
            "units": "seconds",
            "percentile": "linear interpolation between closest ranks (inclusive)",
            "attainment": "share of incidents with a value at or under target",
            "breaching": "open incidents already past their ttr target (in a vector group, "
            "the vector's; elsewhere each incident's own: the strictest of its vectors')",
            "group_by": self.group_by,
            "period_field": "started_at",
            "period_zone": s.timezone,
            "default_targets": {
                "ttd": s.mttd_target_minutes * 60,
                "ttr": s.mttr_target_minutes * 60,
            },
            "since": _iso(self.filters.since),
            "until": _iso(self.filters.until),
            "generated_at": _iso(self.generated_at),
        }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class _Row:
    id: int
    severity: str
    service: str
    team: str
    started_at: datetime
    detected_at: datetime
    recovered_at: datetime | None


def period_start(moment: datetime, period: str, settings: MetricSettings) -> date:
    """The first day of the week (Monday) or month holding `moment`, in the display zone."""
    local = moment.astimezone(settings.zone).date()
    if period == "week":
        return local - timedelta(days=local.weekday())
    return local.replace(day=1)


def _next_period(day: date, period: str) -> date:
    if period == "week":
        return day + timedelta(days=7)
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def compute_metrics(
    session: Session,
    settings: MetricSettings,
    *,
    group_by: str = "overall",
    filters: IncidentFilters | None = None,
    now: datetime | None = None,
) -> MetricsReport:
    """MTTD/MTTR statistics per group, SPEC §3."""
    filters = filters or IncidentFilters()
    if group_by not in GROUP_BYS:
        raise ValidationError({"group_by": [f"Group by must be one of: {', '.join(GROUP_BYS)}."]})
    check_filters(filters)
    now = now or utcnow()
    query = apply_filters(
        select(
            Incident.id,
            Incident.severity,
            Incident.service,
            Incident.team,
            Incident.started_at,
            Incident.detected_at,
            Incident.recovered_at,
        ),
        filters,
    )
    rows = [_Row(*r) for r in session.execute(query)]
    own_ttr_targets = _open_ttr_targets(session, [r.id for r in rows if r.recovered_at is None])
    report = MetricsReport(group_by=group_by, settings=settings, filters=filters)
    default_ttd = settings.mttd_target_minutes * 60
    default_ttr = settings.mttr_target_minutes * 60

    buckets: dict[str, list[_Row]] = defaultdict(list)
    labels: dict[str, str] = {}
    targets: dict[str, tuple[int, int]] = {}
    if group_by == "overall":
        buckets["overall"] = rows
        labels["overall"] = "All incidents"
    elif group_by == "vector":
        _bucket_by_vector(session, filters, rows, buckets, labels, targets)
    elif group_by in ("severity", "service", "team"):
        if group_by == "severity" and not filters.severity:
            for sev in SEVERITIES:
                buckets[sev] = []
        for row in rows:
            buckets[getattr(row, group_by) or "(none)"].append(row)
    else:
        _bucket_by_period(group_by, settings, filters, rows, buckets)

    for key in _ordered_keys(group_by, buckets):
        members = buckets[key]
        ttd_target, ttr_target = targets.get(key, (default_ttd, default_ttr))
        # In a vector group the vector's target decides; elsewhere each open incident's own.
        breach_targets = (
            {}
            if group_by == "vector"
            else {r.id: own_ttr_targets.get(r.id, default_ttr) for r in members}
        )
        report.groups.append(
            _group(
                key,
                labels.get(key, key),
                members,
                ttd_target,
                ttr_target,
                breach_targets,
                settings,
                now,
            )
        )
    return report


def _open_ttr_targets(session: Session, open_ids: list[int]) -> dict[int, int]:
    """Each open incident's own ttr target in seconds: the strictest of its vectors'."""
    targets: dict[int, int] = {}
    for start in range(0, len(open_ids), 500):
        chunk = open_ids[start : start + 500]
        rows = session.execute(
            select(incident_vectors.c.incident_id, func.min(Vector.mttr_target_minutes))
            .join(Vector, Vector.id == incident_vectors.c.vector_id)
            .where(incident_vectors.c.incident_id.in_(chunk))
            .group_by(incident_vectors.c.incident_id)
        )
        targets.update({incident_id: minutes * 60 for incident_id, minutes in rows})
    return targets


def _ordered_keys(group_by: str, buckets: dict[str, list[_Row]]) -> list[str]:
    if group_by == "severity":
        return sorted(buckets, key=lambda k: (k not in SEVERITIES, k))
    if group_by in ("week", "month"):
        return sorted(buckets)
    if group_by in ("service", "team"):
        return sorted(buckets, key=lambda k: (-len(buckets[k]), k))
    return list(buckets)


def _bucket_by_vector(
    session: Session,
    filters: IncidentFilters,
    rows: list[_Row],
    buckets: dict[str, list[_Row]],
    labels: dict[str, str],
    targets: dict[str, tuple[int, int]],
) -> None:
    """An incident linked to several vectors counts once in each of them."""
    by_id = {row.id: row for row in rows}
    links = session.execute(
        select(incident_vectors.c.incident_id, incident_vectors.c.vector_id).where(
            incident_vectors.c.incident_id.in_(
                apply_filters(select(Incident.id), filters).scalar_subquery()
            )
        )
    ).all()
    per_vector: dict[int, list[_Row]] = defaultdict(list)
    for incident_id, vector_id in links:
        if incident_id in by_id:
            per_vector[vector_id].append(by_id[incident_id])
    vectors = session.scalars(select(Vector).order_by(Vector.name)).all()
    for vector in vectors:
        if filters.vector and vector.slug != filters.vector:
            continue
        if vector.archived and vector.id not in per_vector:
            continue
        buckets[vector.slug] = per_vector.get(vector.id, [])
        labels[vector.slug] = vector.name
        targets[vector.slug] = (vector.mttd_target_seconds, vector.mttr_target_seconds)


def _bucket_by_period(
    period: str,
    settings: MetricSettings,
    filters: IncidentFilters,
    rows: list[_Row],
    buckets: dict[str, list[_Row]],
) -> None:
    """Periods by started_at in the display zone; empty periods inside the range are kept."""
    for row in rows:
        buckets[period_start(row.started_at, period, settings).isoformat()].append(row)
    first = period_start(filters.since, period, settings) if filters.since else None
    last = (
        period_start(filters.until - timedelta(microseconds=1), period, settings)
        if filters.until
        else None
    )
    if buckets:
        keys = sorted(buckets)
        first = first or date.fromisoformat(keys[0])
        last = last or date.fromisoformat(keys[-1])
    if first is None or last is None:
        return
    day, filled = first, 0
    while day <= last and filled < MAX_FILLED_PERIODS:
        buckets.setdefault(day.isoformat(), [])
        day, filled = _next_period(day, period), filled + 1


def _group(
    key: str,
    label: str,
    members: list[_Row],
    ttd_target: int,
    ttr_target: int,
    breach_targets: dict[int, int],
    settings: MetricSettings,
    now: datetime,
) -> GroupMetrics:
    ttds = [ttd_seconds(r.started_at, r.detected_at) for r in members]
    ttrs = [
        v
        for r in members
        if (
            v := ttr_seconds(
                r.started_at, r.detected_at, r.recovered_at, mttr_from=settings.mttr_from
            )
        )
        is not None
    ]
    open_rows = [r for r in members if r.recovered_at is None]
    breaching = sum(
        1
        for r in open_rows
        if is_breaching(
            r.started_at,
            r.detected_at,
            r.recovered_at,
            breach_targets.get(r.id, ttr_target),
            now=now,
            mttr_from=settings.mttr_from,
        )
    )
    return GroupMetrics(
        key=key,
        label=label,
        count=len(members),
        open=len(open_rows),
        breaching=breaching,
        ttd=DurationStats.of(ttds, ttd_target),
        ttr=DurationStats.of(ttrs, ttr_target),
    )
