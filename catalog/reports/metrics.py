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
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from itertools import chain
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    bindparam,
    case,
    func,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from catalog.db import UTCDateTime, seconds_between, utcnow
from catalog.errors import ValidationError
from catalog.incidents.models import SEVERITIES, Incident, incident_vectors
from catalog.incidents.service import BLANK, IncidentFilters, apply_filters, check_filters
from catalog.reports.chunks import ChunkCache, MonthVersions
from catalog.settings import Settings
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


def incident_ttr_target_seconds(incident: Incident, settings: Settings) -> int:
    """An incident's own ttr target: the strictest of its vectors' targets."""
    targets = [v.mttr_target_seconds for v in incident.vectors]
    return min(targets) if targets else settings.mttr_target_minutes * 60


def incident_ttd_target_seconds(incident: Incident, settings: Settings) -> int:
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


def incident_breaching(incident: Incident, settings: Settings, *, now: datetime) -> bool:
    return is_breaching(
        incident.started_at,
        incident.detected_at,
        incident.recovered_at,
        incident_ttr_target_seconds(incident, settings),
        now=now,
        mttr_from=settings.mttr_from,
    )


def incident_breaching_from(incident: Incident, settings: Settings) -> datetime | None:
    """When an open incident starts breaching (the first instant past its ttr target);
    None once recovered. Until then `incident_breaching` is False, from then on True."""
    if incident.recovered_at is not None:
        return None
    origin = getattr(incident, ttr_origin(settings.mttr_from))
    return origin + timedelta(seconds=incident_ttr_target_seconds(incident, settings))


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
        return not over_target(self.ttd, self.ttd_target)

    @property
    def ttr_met(self) -> bool | None:
        return None if self.ttr is None else not over_target(self.ttr, self.ttr_target)


def incident_durations(
    incident: Incident, settings: Settings, *, now: datetime
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


def percentiles_of(sorted_values: Sequence[float]) -> list[float]:
    """The 0th to 100th percentiles, by the same interpolation as p90_of (so a canary's p99
    and a team's p90 are one definition): index q is the q-th percentile."""
    if len(sorted_values) == 1:
        return [float(sorted_values[0])] * 101
    inner = statistics.quantiles(sorted_values, n=100, method="inclusive")
    return [float(sorted_values[0]), *inner, float(sorted_values[-1])]


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

    @property
    def median_met(self) -> bool | None:
        """The verdict a page shows beside the median; None without incidents."""
        return None if self.median is None else not over_target(self.median, self.target)

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
    # Week and month groupings only: the median of every incident in this period and
    # the ROLLING_PERIODS - 1 before it, a trend line that one odd week cannot bend.
    ttd_rolling_median: float | None = None
    ttr_rolling_median: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The API's form: `as_dict` without the sample counts."""
        out = self.as_dict()
        for part in ("ttd", "ttr"):
            out[part].pop("samples")
        return out

    def as_dict(self) -> dict[str, Any]:
        """`dataclasses.asdict` without its deep copy, which every field (a number, text
        or None) does not need: a tenth of the cost, on every report shared or served."""
        out: dict[str, Any] = {name: getattr(self, name) for name in _GROUP_FIELDS}
        for part in ("ttd", "ttr"):
            stats = out[part]
            out[part] = {name: getattr(stats, name) for name in _STATS_FIELDS}
        return out


_GROUP_FIELDS = tuple(f.name for f in fields(GroupMetrics))
_STATS_FIELDS = tuple(f.name for f in fields(DurationStats))


@dataclass
class MetricsReport:
    group_by: str
    settings: Settings
    filters: IncidentFilters
    groups: list[GroupMetrics] = field(default_factory=list)
    generated_at: datetime = field(default_factory=utcnow)
    # Until when the figures stay exact if nothing is written: the moment the
    # next open incident starts breaching (None: no such moment).
    valid_until: datetime | None = None

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


# The group statistics read two result sets, both computed by the database:
#   durations: (group key, ttd, ttr) for every incident (a row per vector link
#              when grouping by vector), the same rows the raw-SQL floor reads;
#   open:      (id, group key, open_elapsed) for the open incidents only, which
#              are few, for the `open` and `breaching` counts.
# They are fetched as plain DB-API tuples: SQLAlchemy's Row objects cost more
# on 10^5 rows than the statistics themselves. For week/month the key is the
# raw started_at (text on SQLite, a naive UTC datetime on PostgreSQL) and the
# rows come ordered by it (the metrics index is in that order), so each period
# is a slice found by bisection instead of a Python call per incident.


def period_start(moment: datetime, period: str, settings: Settings) -> date:
    """The first day of the week (Monday) or month holding `moment`, in the display zone.

    This is the definition of an incident's period (by started_at); the
    bisection in _period_slices is checked against it.
    """
    local = moment.astimezone(settings.zone).date()
    if period == "week":
        return local - timedelta(days=local.weekday())
    return local.replace(day=1)


def next_period(day: date, period: str) -> date:
    if period == "week":
        return day + timedelta(days=7)
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


@dataclass
class _Bucket:
    """One group's members, reduced to what the statistics read."""

    ttds: Sequence[float] = ()
    ttrs: list[float] = field(default_factory=list)
    open: list[tuple[int, float]] = field(default_factory=list)  # (incident id, elapsed)


def compute_metrics(
    session: Session,
    settings: Settings,
    *,
    group_by: str = "overall",
    filters: IncidentFilters | None = None,
    now: datetime | None = None,
    chunks: ChunkCache | None = None,
    months: MonthVersions | None = None,
) -> MetricsReport:
    """MTTD/MTTR statistics per group, SPEC §3."""
    return compute_metrics_many(
        session, settings, (group_by,), filters=filters, now=now, chunks=chunks, months=months
    )[group_by]


def compute_metrics_many(
    session: Session,
    settings: Settings,
    group_bys: Sequence[str],
    *,
    filters: IncidentFilters | None = None,
    now: datetime | None = None,
    chunks: ChunkCache | None = None,
    months: MonthVersions | None = None,
) -> dict[str, MetricsReport]:
    """Several groupings of the same incidents, reading the database once where they can.

    The overall figures are every row of a week or month trend, so a dashboard's
    headline and its trend share one read of the durations (a quarter of its cost).
    With `chunks`, durations come a month at a time (catalog.reports.chunks), at the
    month versions `months` if the caller read them already.
    """
    filters = filters or IncidentFilters()
    for group_by in group_bys:
        if group_by not in GROUP_BYS:
            raise ValidationError(
                {"group_by": [f"Group by must be one of: {', '.join(GROUP_BYS)}."]}
            )
    check_filters(filters)
    now = now or utcnow()
    dialect = session.get_bind().dialect.name
    by_shape: dict[str, list[str]] = {}
    for group_by in dict.fromkeys(group_bys):
        by_shape.setdefault(_read_shape(group_by), []).append(group_by)
    reports: dict[str, MetricsReport] = {}
    for shape, served in by_shape.items():
        durations, open_rows = _fetch(
            session, settings, filters, now, shape, dialect, chunks, months
        )
        for name in served:
            reports[name] = _report(
                session, settings, name, filters, now, dialect, durations, open_rows
            )
    return {group_by: reports[group_by] for group_by in group_bys}


def _read_shape(group_by: str) -> str:
    """The rows a grouping is computed from. The overall figures, weeks and months all come
    from the rows in `started_at` order, so they share one read and, with kept months, the
    same kept rows: a dashboard that decides its period from the weeks and then shows the
    overall figures read the current month twice after every write until this."""
    return "started" if group_by in ("overall", "week", "month") else group_by


def _report(
    session: Session,
    settings: Settings,
    group_by: str,
    filters: IncidentFilters,
    now: datetime,
    dialect: str,
    durations: list[tuple[Any, float, float | None]] | Monthly,
    open_rows: list[tuple[int, Any, float]],
) -> MetricsReport:
    """One grouping's statistics from the rows `_fetch` read."""
    report = MetricsReport(group_by=group_by, settings=settings, filters=filters, generated_at=now)
    default_targets = (settings.mttd_target_minutes * 60, settings.mttr_target_minutes * 60)
    if isinstance(durations, Monthly):
        buckets = durations.buckets(group_by, settings, dialect)  # each list sorted
    else:
        buckets = _bucket_durations(group_by, settings, dialect, durations)
        for bucket in buckets.values():  # new lists of this report's own: sorted here
            bucket.ttds = sorted(bucket.ttds)
            bucket.ttrs.sort()
    for incident_id, raw_key, elapsed in open_rows:
        key = _row_key(group_by, settings, raw_key)
        buckets.setdefault(key, _Bucket()).open.append((incident_id, elapsed))

    labels: dict[Any, str] = {"overall": "All incidents"}
    targets: dict[Any, tuple[int, int]] = {}
    if group_by == "vector":
        keys = _vector_keys(session, filters, buckets, labels, targets)
    else:
        keys = _ordered_keys(group_by, filters, settings, buckets)
    # In a vector group the vector's ttr target decides `breaching`; elsewhere
    # each open incident's own, the strictest of its vectors' targets.
    own_targets = (
        None if group_by == "vector" else _open_ttr_targets(session, [r[0] for r in open_rows])
    )
    valid_until: datetime | None = None
    keys = list(keys)
    for index, key in enumerate(keys):
        ttd_target, ttr_target = targets.get(key, default_targets)
        bucket = buckets.get(key) or _Bucket()
        group, flips_in = _group(
            str(key),
            labels.get(key, str(key)),
            bucket,
            ttd_target,
            ttr_target,
            {}
            if own_targets is None
            else {i: own_targets.get(i, default_targets[1]) for i, _ in bucket.open},
        )
        report.groups.append(group)
        if group_by in ("week", "month"):
            window = [
                buckets.get(k) or _Bucket()
                for k in keys[max(0, index + 1 - ROLLING_PERIODS) : index + 1]
            ]
            report.groups[-1] = replace(
                group,
                ttd_rolling_median=median_of_sorted([b.ttds for b in window]),
                ttr_rolling_median=median_of_sorted([b.ttrs for b in window]),
            )
        if flips_in is not None:
            flip = now + timedelta(seconds=flips_in)
            valid_until = flip if valid_until is None else min(valid_until, flip)
    report.valid_until = valid_until
    return report


ROLLING_PERIODS = 3


def median_of_sorted(runs: Sequence[Sequence[float]]) -> float | None:
    """`statistics.median` of the runs joined, each run sorted, without joining them.

    A rolling median covers ROLLING_PERIODS groups: joined and sorted for every period
    of a year by month, that was 24 sorts of ~12,000 values after every write. Picked
    by rank instead (`_kth`): a few bisections per run, whatever their length.
    """
    runs = [run for run in runs if run]
    count = sum(map(len, runs))
    if count == 0:
        return None
    middle = count // 2
    if count % 2:
        return _kth(runs, middle)
    return (_kth(runs, middle - 1) + _kth(runs, middle)) / 2


def _kth(runs: Sequence[Sequence[float]], k: int) -> float:
    """The value at 0-based rank `k` of the sorted runs joined.

    Binary search in each run for a value with fewer than k+1 values below it and
    more than k up to it; the value at rank k is in some run, so one search finds it.
    """
    for run in runs:
        lo, hi = 0, len(run) - 1
        while lo <= hi:
            mid = (lo + hi) // 2
            value = run[mid]
            if sum(bisect_right(r, value) for r in runs) <= k:
                lo = mid + 1
            elif sum(bisect_left(r, value) for r in runs) > k:
                hi = mid - 1
            else:
                return value
    raise ValueError(f"rank {k} is outside the runs")


def _key_column(group_by: str) -> Any:
    """What a durations row is grouped by, as the database returns it."""
    if group_by == "vector":
        return incident_vectors.c.vector_id
    if group_by in ("severity", "service", "team"):
        return getattr(Incident, group_by)
    # "started": the rows of overall, week and month (_read_shape).
    # type_coerce: the driver's value as is (see _boundary), no UTC processing.
    return type_coerce(Incident.started_at, Incident.started_at.type.impl)


def _fetch(
    session: Session,
    settings: Settings,
    filters: IncidentFilters,
    now: datetime,
    group_by: str,
    dialect: str,
    chunks: ChunkCache | None = None,
    months: MonthVersions | None = None,
) -> tuple[list[tuple[Any, float, float | None]] | Monthly, list[tuple[int, Any, float]]]:
    """The durations and open rows described above, filtered in the database.

    With `chunks`, the durations are read a month at a time and the months whose
    version has not moved come from memory (catalog.reports.chunks). The open rows
    (few, and timed by `now`) are always read.
    """
    key = _key_column(group_by)

    def scoped(query: Select[Any], within: IncidentFilters) -> Select[Any]:
        if group_by == "vector":
            query = query.select_from(Incident).join(
                incident_vectors, incident_vectors.c.incident_id == Incident.id
            )
        return apply_filters(query, within)

    def durations(since: datetime | None, until: datetime | None) -> list[Any]:
        query = scoped(
            select(
                key,
                exact_seconds(ttd_sql(), dialect),
                exact_seconds(ttr_sql(settings.mttr_from), dialect),
            ),
            replace(filters, since=since, until=until),
        )
        if group_by == "started":
            query = query.order_by(key)  # the order of the metrics index
        return _tuples(session, query)

    elapsed = exact_seconds(open_elapsed_sql(now=now, mttr_from=settings.mttr_from), dialect)
    open_query = scoped(
        select(Incident.id, key, elapsed).where(Incident.recovered_at.is_(None)), filters
    )
    rows: list[Any] | Monthly
    if chunks is None:
        rows = durations(filters.since, filters.until)
    else:
        query_key = (group_by, replace(filters, since=None, until=None), settings.mttr_from)
        rows = Monthly(
            chunks,
            chunks.months(session, query_key, filters.since, filters.until, durations, months),
        )
    return rows, _tuples(session, open_query)


@dataclass(frozen=True)
class Monthly:
    """Durations as the months they were read in (`ChunkCache.months`): each month is
    split into groups once and kept, so a report after a write groups one month's rows,
    not all of them."""

    chunks: ChunkCache
    parts: list[tuple[Any, list[tuple[Any, float, float | None]]]]

    def buckets(self, group_by: str, settings: Settings, dialect: str) -> dict[Any, _Bucket]:
        merged: dict[Any, list[_Bucket]] = {}
        for key, rows in self.parts:
            part = self.chunks.derived(
                (key, group_by, settings.timezone),
                len(rows) // 8,  # two floats a row, against a kept row's ~150 bytes
                partial(_sorted_buckets, group_by, settings, dialect, rows),
            )
            for group, bucket in part.items():
                merged.setdefault(group, []).append(bucket)
        return {group: _joined(parts) for group, parts in merged.items()}


def _sorted_buckets(
    group_by: str, settings: Settings, dialect: str, rows: list[Any]
) -> dict[Any, _Bucket]:
    """One month's groups, each list sorted: kept, so joining months merges sorted runs."""
    return {
        key: _Bucket(ttds=sorted(b.ttds), ttrs=sorted(b.ttrs))
        for key, b in _bucket_durations(group_by, settings, dialect, rows).items()
    }


def _joined(parts: list[_Bucket]) -> _Bucket:
    """One group's months as one bucket. The kept lists are only ever read: a report's
    statistics sort a copy, and what it adds (open incidents) goes to a new bucket."""
    if len(parts) == 1:
        return _Bucket(ttds=parts[0].ttds, ttrs=parts[0].ttrs)
    return _Bucket(
        ttds=sorted(chain.from_iterable(p.ttds for p in parts)),
        ttrs=sorted(chain.from_iterable(p.ttrs for p in parts)),
    )


def _tuples(session: Session, query: Select[Any]) -> list[Any]:
    """All rows as the driver's plain tuples.

    SQLAlchemy still compiles the query and binds the parameters (with their
    type processing); only the per-row Result machinery is skipped, which is
    safe because every column here is a number, text or a naive datetime.
    """
    result = session.connection().execute(query)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def _bucket_durations(
    group_by: str,
    settings: Settings,
    dialect: str,
    rows: list[tuple[Any, float, float | None]],
) -> dict[Any, _Bucket]:
    """Durations split into groups: slices where the rows come ordered, else one pass."""
    slices: dict[Any, tuple[int, int]] | None = None
    if group_by in ("week", "month"):
        slices = _period_slices(group_by, settings, dialect, [row[0] for row in rows])
    elif group_by == "overall":
        slices = {"overall": (0, len(rows))}
    if slices is not None:
        ttds, ttrs = (list(map(itemgetter(column), rows)) for column in (1, 2))
        return {
            key: _Bucket(ttds=ttds[lo:hi], ttrs=[t for t in ttrs[lo:hi] if t is not None])
            for key, (lo, hi) in slices.items()
        }
    # One pass, appending to each group's lists: measured faster than sorting
    # by the key and slicing (vectors), and the only way for text keys.
    by_key: dict[Any, _Bucket] = {}
    for raw_key, ttd, ttr in rows:
        bucket = by_key.get(raw_key)
        if bucket is None:
            bucket = by_key[raw_key] = _Bucket(ttds=[])
        bucket.ttds.append(ttd)  # type: ignore[attr-defined]
        if ttr is not None:
            bucket.ttrs.append(ttr)
    if group_by == "vector":
        return by_key
    # severity, service, team ("(none)" for a missing one); periods in an odd zone
    buckets: dict[Any, _Bucket] = {}
    for raw_key, bucket in by_key.items():
        key = _row_key(group_by, settings, raw_key)
        if key in buckets:  # several raw keys, one group (NULL and '' are both "(none)")
            buckets[key].ttds.extend(bucket.ttds)  # type: ignore[attr-defined]
            buckets[key].ttrs.extend(bucket.ttrs)
        else:
            buckets[key] = bucket
    return buckets


def _boundary(instant: datetime, dialect: str) -> Any:
    """An aware instant as the driver returns started_at, so that they compare.

    SQLite holds 'YYYY-MM-DD HH:MM:SS.ffffff' text in naive UTC, which sorts
    like the instants it names (a boundary without the fraction sorts before
    every value at that second); PostgreSQL returns naive UTC datetimes.
    """
    naive = instant.astimezone(UTC).replace(tzinfo=None)
    return naive.isoformat(sep=" ") if dialect == "sqlite" else naive


def _instant(raw: Any) -> datetime:
    """A raw started_at (see _boundary) back to an aware UTC datetime."""
    value = datetime.fromisoformat(raw) if isinstance(raw, str) else raw
    return value.replace(tzinfo=UTC)


def _period_slices(
    period: str, settings: Settings, dialect: str, starts: Sequence[Any]
) -> dict[str, tuple[int, int]] | None:
    """Each period's rows, for `starts` in order: a slice between two bisections.

    A period's first instant is local midnight of its first day; each one is
    checked against period_start (the definition). None where a check fails (a
    zone whose local date runs backwards across a midnight): the caller then
    keys the rows one by one.
    """
    if not starts:
        return {}
    first = period_start(_instant(starts[0]), period, settings)
    last = period_start(_instant(starts[-1]), period, settings)
    edges: list[tuple[date, Any]] = []
    day = first
    while day <= next_period(last, period):
        begin = datetime.combine(day, time(), settings.zone)
        if period_start(begin, period, settings) != day or (
            day != first
            and period_start(begin - timedelta(microseconds=1), period, settings) >= day
        ):
            return None
        edges.append((day, _boundary(begin, dialect)))
        day = next_period(day, period)
    slices: dict[str, tuple[int, int]] = {}
    for (day, begin), (_, end) in zip(edges, edges[1:], strict=False):
        lo, hi = bisect_left(starts, begin), bisect_left(starts, end)
        if hi > lo:
            slices[day.isoformat()] = (lo, hi)
    return slices


def _row_key(group_by: str, settings: Settings, raw_key: Any) -> Any:
    """The group of one row by its raw key: for open incidents (few) and the slow paths."""
    if group_by in ("week", "month"):
        return period_start(_instant(raw_key), group_by, settings).isoformat()
    if group_by == "overall":
        return "overall"
    if group_by in ("severity", "service", "team"):
        return raw_key or BLANK
    return raw_key


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


def _ordered_keys(
    group_by: str,
    filters: IncidentFilters,
    settings: Settings,
    buckets: dict[Any, _Bucket],
) -> list[Any]:
    if group_by == "overall":
        return ["overall"]
    if group_by == "severity":
        keys = set(buckets) | (set() if filters.severity else set(SEVERITIES))
        return sorted(keys, key=lambda k: (k not in SEVERITIES, k))
    if group_by in ("service", "team"):
        return sorted(buckets, key=lambda k: (-len(buckets[k].ttds), k))
    return periods_in(group_by, filters, settings, sorted(buckets))


def periods_in(
    period: str, filters: IncidentFilters, settings: Settings, keys: list[str]
) -> list[str]:
    """Every period from the range's first to its last, empty ones included (a report's
    and the change metrics' rows)."""
    first = period_start(filters.since, period, settings) if filters.since else None
    last = (
        period_start(filters.until - timedelta(microseconds=1), period, settings)
        if filters.until
        else None
    )
    if keys:
        first = first or date.fromisoformat(keys[0])
        last = last or date.fromisoformat(keys[-1])
    if first is None or last is None:
        return []
    filled, day = set(keys), first
    for _ in range(MAX_FILLED_PERIODS):
        if day > last:
            break
        filled.add(day.isoformat())
        day = next_period(day, period)
    return sorted(filled)


def _vector_keys(
    session: Session,
    filters: IncidentFilters,
    buckets: dict[Any, _Bucket],
    labels: dict[Any, str],
    targets: dict[Any, tuple[int, int]],
) -> list[Any]:
    """Vectors by name, each under its slug; archived ones only while they have incidents."""
    keys = []
    for vector in session.scalars(select(Vector).order_by(Vector.name)):
        if filters.vector and vector.slug != filters.vector:
            continue
        bucket = buckets.pop(vector.id, None)
        if vector.archived and bucket is None:
            continue
        buckets[vector.slug] = bucket or _Bucket()
        labels[vector.slug] = vector.name
        targets[vector.slug] = (vector.mttd_target_seconds, vector.mttr_target_seconds)
        keys.append(vector.slug)
    return keys


def _group(
    key: str,
    label: str,
    bucket: _Bucket,
    ttd_target: int,
    ttr_target: int,
    own_ttr_targets: dict[int, int],
) -> tuple[GroupMetrics, float | None]:
    """The group's statistics, and in how many seconds its `breaching` count next changes.

    `own_ttr_targets` holds each open incident's own target; in a vector group it
    is empty and the vector's target applies. The second value lets a cache keep
    the result exactly as long as nothing but the clock changes it.
    """
    breaching = 0
    flips_in: float | None = None
    for incident_id, elapsed in bucket.open:
        target = own_ttr_targets.get(incident_id, ttr_target)
        if over_target(elapsed, target):
            breaching += 1
        else:
            left = target - elapsed
            flips_in = left if flips_in is None else min(flips_in, left)
    group = GroupMetrics(
        key=key,
        label=label,
        count=len(bucket.ttds),
        open=len(bucket.open),
        breaching=breaching,
        ttd=DurationStats.of(bucket.ttds, ttd_target),
        ttr=DurationStats.of(bucket.ttrs, ttr_target),
    )
    return group, flips_in


# ---- change versus the previous period -----------------------------------------


def relative_change(current: float | None, previous: float | None) -> float | None:
    """(current - previous) / previous, as a fraction: -0.35 reads "−35 % vs previous …".

    None when there is nothing to compare with (no previous value, or zero).
    """
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / previous
