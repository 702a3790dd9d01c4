"""The one definition of every MTTD/MTTR number (SPEC §3).

Every page, API answer, export and CLI table gets its numbers from here. Each
per-incident duration is defined once, twice spelled: in Python for one
incident already loaded (`ttd_seconds`, `ttr_seconds`, ...) and, right beside
it, in SQL for the group statistics (`ttd_sql`, `ttr_sql`, ...), so that
100,000 incidents are filtered, joined and reduced to durations by the
database instead of becoming 100,000 Python datetimes. A test checks that both
spellings agree on both backends.
"""

from __future__ import annotations

import statistics
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    String,
    bindparam,
    case,
    cast,
    func,
    null,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from catalog.config import MetricSettings
from catalog.db import UTCDateTime, seconds_between, utcnow
from catalog.errors import ValidationError
from catalog.incidents.models import SEVERITIES, Incident, incident_vectors
from catalog.incidents.service import IncidentFilters, apply_filters, check_filters
from catalog.vectors.models import Vector

GROUP_BYS = ("overall", "vector", "severity", "service", "team", "week", "month")
MAX_FILLED_PERIODS = 1000


# ---- per incident ------------------------------------------------------------


def ttr_origin(mttr_from: str) -> str:
    """Which timestamp the ttr clock starts at: detected_at, or started_at (CATALOG_MTTR_FROM)."""
    return "started_at" if mttr_from == "started" else "detected_at"


def over_target(seconds: float, target_seconds: float) -> bool:
    """A breach is strictly over target; at target is attained (SPEC §3)."""
    return seconds > target_seconds


def ttd_seconds(started_at: datetime, detected_at: datetime) -> float:
    """Time to detect: detected_at - started_at."""
    return (detected_at - started_at).total_seconds()


def ttd_sql() -> ColumnElement[float]:
    """`ttd_seconds` computed by the database."""
    return seconds_between(Incident.started_at, Incident.detected_at)


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
    origin = started_at if ttr_origin(mttr_from) == "started_at" else detected_at
    return (recovered_at - origin).total_seconds()


def ttr_sql(mttr_from: str) -> ColumnElement[float]:
    """`ttr_seconds` computed by the database; NULL while open, like None."""
    return seconds_between(getattr(Incident, ttr_origin(mttr_from)), Incident.recovered_at)


def impact_seconds(started_at: datetime, recovered_at: datetime | None) -> float | None:
    return None if recovered_at is None else (recovered_at - started_at).total_seconds()


def open_elapsed_seconds(
    started_at: datetime, detected_at: datetime, *, now: datetime, mttr_from: str
) -> float:
    """How long an open incident has been running on the ttr clock."""
    origin = started_at if ttr_origin(mttr_from) == "started_at" else detected_at
    return (now - origin).total_seconds()


def open_elapsed_sql(*, now: datetime, mttr_from: str) -> ColumnElement[float]:
    """`open_elapsed_seconds` computed by the database; NULL once recovered."""
    elapsed = seconds_between(
        getattr(Incident, ttr_origin(mttr_from)), bindparam("now", now, type_=UTCDateTime())
    )
    return case((Incident.recovered_at.is_(None), elapsed), else_=None)


def exact_seconds(duration: ColumnElement[float], dialect: str) -> ColumnElement[float]:
    """A duration from SQL, rounded to the millisecond on SQLite.

    SQLite computes durations from julianday() doubles, off by ~1e-5 s;
    timestamps are entered to the second, so rounding (here, the one place,
    in the database where it is cheap) gives back exactly the values the Python
    definitions compute. PostgreSQL's interval arithmetic is exact already.
    """
    return func.round(duration, 3) if dialect == "sqlite" else duration


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
    return over_target(elapsed, ttr_target_seconds)


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
        within = bisect_right(ordered, target)  # the values not over_target
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


# One incident as the group statistics need it: its durations, not its timestamps.
# A result row of the columns below (by position: attribute access on 10^5 rows
# cost more than the statistics); started_at is only fetched for week/month
# bucketing (see _utc_start), open_elapsed is None once recovered; a row for
# the vector grouping has the vector id after them.
_Row = Row[Any]
ID, SEVERITY, SERVICE, TEAM, STARTED_AT, TTD, TTR, OPEN_ELAPSED, VECTOR_ID = range(9)
_GROUP_COLUMN = {"severity": SEVERITY, "service": SERVICE, "team": TEAM}


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
    report = MetricsReport(group_by=group_by, settings=settings, filters=filters)
    default_ttd = settings.mttd_target_minutes * 60
    default_ttr = settings.mttr_target_minutes * 60

    buckets: dict[str, list[_Row]] = defaultdict(list)
    labels: dict[str, str] = {}
    targets: dict[str, tuple[int, int]] = {}
    own_ttr_targets: dict[int, int] = {}
    if group_by == "vector":
        _bucket_by_vector(session, settings, filters, now, buckets, labels, targets)
    else:
        rows = _fetch_rows(session, settings, filters, now, group_by=group_by)
        own_ttr_targets = _open_ttr_targets(
            session, [r[ID] for r in rows if r[OPEN_ELAPSED] is not None]
        )
        if group_by == "overall":
            buckets["overall"] = rows
            labels["overall"] = "All incidents"
        elif group_by in ("severity", "service", "team"):
            if group_by == "severity" and not filters.severity:
                for sev in SEVERITIES:
                    buckets[sev] = []
            for row in rows:
                buckets[row[_GROUP_COLUMN[group_by]] or "(none)"].append(row)
        else:
            _bucket_by_period(group_by, settings, filters, rows, buckets)

    for key in _ordered_keys(group_by, buckets):
        members = buckets[key]
        ttd_target, ttr_target = targets.get(key, (default_ttd, default_ttr))
        # In a vector group the vector's target decides; elsewhere each open incident's own.
        breach_targets = (
            {}
            if group_by == "vector"
            else {
                r[ID]: own_ttr_targets.get(r[ID], default_ttr)
                for r in members
                if r[OPEN_ELAPSED] is not None
            }
        )
        report.groups.append(
            _group(
                key,
                labels.get(key, key),
                members,
                ttd_target,
                ttr_target,
                breach_targets,
            )
        )
    return report


def _row_columns(settings: MetricSettings, now: datetime, dialect: str, group_by: str) -> list[Any]:
    """The _Row columns; those the grouping does not read are NULL, to fetch less."""
    started: Any = null()
    if group_by in ("week", "month"):
        # As ISO text ('YYYY-MM-DD HH:MM:SS[.ffffff]', naive UTC): bucketing works
        # per UTC hour on its first 13 characters (see _period_key) and parses
        # only one value an hour. SQLite stores that text already (type_coerce
        # just skips SQLAlchemy's regex parser, which dominated the month
        # grouping); PostgreSQL prints it with the default ISO DateStyle.
        started = (
            type_coerce(Incident.started_at, String)
            if dialect == "sqlite"
            else cast(Incident.started_at, String)
        )
    return [
        Incident.id.label("id"),
        *(
            getattr(Incident, name).label(name) if group_by == name else null().label(name)
            for name in ("severity", "service", "team")
        ),
        started.label("started_at"),
        exact_seconds(ttd_sql(), dialect).label("ttd"),
        exact_seconds(ttr_sql(settings.mttr_from), dialect).label("ttr"),
        exact_seconds(open_elapsed_sql(now=now, mttr_from=settings.mttr_from), dialect).label(
            "open_elapsed"
        ),
    ]


def _period_key(period: str, settings: MetricSettings) -> Callable[[str], str]:
    """`period_start(...).isoformat()` for each started_at text, worked out once per UTC hour.

    Within an hour with no UTC-offset change the local clock runs straight, so
    if the hour's first and last instants fall in the same period every instant
    between does; hours holding a DST change (or straddling a period edge in a
    zone with a fractional offset) are worked out per value.
    """
    zone = settings.zone
    per_hour: dict[str, str | None] = {}

    def exact(start: datetime) -> str:
        return period_start(start, period, settings).isoformat()

    def key(value: str) -> str:
        hour = value[:13]  # 'YYYY-MM-DD HH'
        if hour not in per_hour:
            first = _utc_start(hour + ":00:00")
            last = first + timedelta(hours=1, microseconds=-1)
            same_offset = first.astimezone(zone).utcoffset() == last.astimezone(zone).utcoffset()
            whole = exact(first)
            per_hour[hour] = whole if same_offset and whole == exact(last) else None
        return per_hour[hour] or exact(_utc_start(value))

    return key


def _utc_start(value: str) -> datetime:
    """A started_at fetched as text (naive UTC) back to an aware datetime."""
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _fetch_rows(
    session: Session,
    settings: MetricSettings,
    filters: IncidentFilters,
    now: datetime,
    *,
    group_by: str,
) -> list[_Row]:
    """The filtered incidents with their durations computed by the database.

    Executed as Core on the session's connection: the ORM result machinery
    would only add per-row cost to plain tuples.
    """
    dialect = session.get_bind().dialect.name
    query = apply_filters(select(*_row_columns(settings, now, dialect, group_by)), filters)
    return session.connection().execute(query).all()


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
    settings: MetricSettings,
    filters: IncidentFilters,
    now: datetime,
    buckets: dict[str, list[_Row]],
    labels: dict[str, str],
    targets: dict[str, tuple[int, int]],
) -> None:
    """An incident linked to several vectors counts once in each of them (a join row each)."""
    dialect = session.get_bind().dialect.name
    query = apply_filters(
        select(*_row_columns(settings, now, dialect, "vector"), incident_vectors.c.vector_id)
        .select_from(Incident)
        .join(incident_vectors, incident_vectors.c.incident_id == Incident.id),
        filters,
    )
    per_vector: dict[int, list[_Row]] = defaultdict(list)
    for row in session.connection().execute(query).all():
        per_vector[row[VECTOR_ID]].append(row)
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
    key = _period_key(period, settings)
    for row in rows:
        buckets[key(row[STARTED_AT])].append(row)
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
) -> GroupMetrics:
    """One pass over the members' durations; the statistics come from DurationStats."""
    ids, ttds, ttrs_all, elapsed_all = (
        list(map(itemgetter(column), members)) for column in (ID, TTD, TTR, OPEN_ELAPSED)
    )
    ttrs = [v for v in ttrs_all if v is not None]
    open_ids = [(i, e) for i, e in zip(ids, elapsed_all, strict=True) if e is not None]
    breaching = sum(
        1 for i, elapsed in open_ids if over_target(elapsed, breach_targets.get(i, ttr_target))
    )
    return GroupMetrics(
        key=key,
        label=label,
        count=len(members),
        open=len(open_ids),
        breaching=breaching,
        ttd=DurationStats.of(ttds, ttd_target),
        ttr=DurationStats.of(ttrs, ttr_target),
    )
