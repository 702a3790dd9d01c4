"""What the dashboard and reports page show, assembled from the metrics module.

No figure is computed here: every number is a field of a `compute_metrics`
group (through the cache), so a page, its chart, its CSV and the API agree by
construction. This module only decides which groups a view needs, the
comparison with the previous range and the order of a breakdown table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from catalog.reports.cache import metrics_cache
from catalog.reports.metrics import GroupMetrics, MetricsReport, relative_change
from catalog.reports.query import ReportQuery
from catalog.settings import Settings


@dataclass(frozen=True)
class Change:
    """One "X −35 % vs previous 90 days" line; lower is better for every one we show."""

    label: str
    current: float | None
    previous: float | None
    kind: str  # "duration", "count" or "percent" (a fraction shown as %)
    higher_is_better: bool = False

    @property
    def fraction(self) -> float | None:
        return relative_change(self.current, self.previous)

    @property
    def better(self) -> bool | None:
        """None (neutral) without a comparison, or when the change shows as 0 %."""
        fraction = self.fraction
        if fraction is None or round(fraction * 100) == 0:
            return None
        return fraction > 0 if self.higher_is_better else fraction < 0


@dataclass(frozen=True)
class Summary:
    query: ReportQuery
    current: GroupMetrics
    previous: GroupMetrics
    trend: MetricsReport

    @property
    def changes(self) -> list[Change]:
        cur, prev = self.current, self.previous
        return [
            Change("Incidents", cur.count, prev.count, "count"),
            Change("MTTD median", cur.ttd.median, prev.ttd.median, "duration"),
            Change("MTTD p90", cur.ttd.p90, prev.ttd.p90, "duration"),
            Change("MTTR median", cur.ttr.median, prev.ttr.median, "duration"),
            Change("MTTR p90", cur.ttr.p90, prev.ttr.p90, "duration"),
        ]


def metrics_for(
    session: Session,
    settings: Settings,
    query: ReportQuery,
    group_by: str,
    *,
    now: datetime,
) -> MetricsReport:
    return metrics_cache().metrics(
        session, settings, group_by=group_by, filters=query.filters(settings), now=now
    )


def summarize(
    session: Session, settings: Settings, query: ReportQuery, *, now: datetime
) -> Summary:
    """The range's overall figures, the previous range's, and the trend per period."""
    current = metrics_cache().metrics_many(
        session, settings, ("overall", query.period), filters=query.filters(settings), now=now
    )
    return Summary(
        query=query,
        current=current["overall"].groups[0],
        previous=metrics_for(session, settings, query.previous(), "overall", now=now).groups[0],
        trend=current[query.period],
    )


# The sortable columns of a breakdown table: URL name -> value of a group.
SORT_KEYS: dict[str, Callable[[GroupMetrics], Any]] = {
    "name": lambda g: g.label.casefold(),
    "count": lambda g: g.count,
    "open": lambda g: g.open,
    "breaching": lambda g: g.breaching,
    **{
        f"{part}_{stat}": (lambda g, part=part, stat=stat: getattr(getattr(g, part), stat))
        for part in ("ttd", "ttr")
        for stat in ("median", "p90", "mean", "attainment")
    },
}
DEFAULT_SORT = "count"


def sort_groups(groups: list[GroupMetrics], sort: str, descending: bool) -> list[GroupMetrics]:
    """Groups ordered by a column; groups without a value (no incidents) always last."""
    key = SORT_KEYS.get(sort, SORT_KEYS[DEFAULT_SORT])
    present = [g for g in groups if key(g) is not None]
    missing = [g for g in groups if key(g) is None]
    return sorted(present, key=key, reverse=descending) + missing


# ---- CSV: the tables of a view, durations in seconds ---------------------------

STAT_FIELDS = ("samples", "median", "p90", "mean", "max", "target", "attainment", "breaches")


def csv_header(first: str) -> list[str]:
    return [
        first,
        "label",
        "incidents",
        "open",
        "breaching",
        *(
            f"{part}_{name}" + ("_s" if name in _SECONDS else "")
            for part in ("ttd", "ttr")
            for name in STAT_FIELDS
        ),
        "ttr_from",
    ]


_SECONDS = ("median", "p90", "mean", "max", "target")


def csv_row(group: GroupMetrics, mttr_from: str) -> list[object]:
    cells: list[object] = [group.key, group.label, group.count, group.open, group.breaching]
    for part in (group.ttd, group.ttr):
        for name in STAT_FIELDS:
            value = getattr(part, name)
            cells.append(round(value, 3) if isinstance(value, float) else value)
    cells.append(mttr_from)
    return cells


CHANGE_HEADER = [
    "figure",
    "unit",
    "range_start",
    "range_end",
    "current",
    "previous_start",
    "previous_end",
    "previous",
    "change",
    "ttr_from",
]


def change_rows(summary: Summary, mttr_from: str) -> list[list[object]]:
    """The "vs previous range" lines as CSV rows; `change` is a fraction (-0.35 = −35 %)."""
    query, previous = summary.query, summary.query.previous()
    rows: list[list[object]] = []
    for change in summary.changes:
        fraction = change.fraction
        rows.append(
            [
                change.label,
                "incidents" if change.kind == "count" else "seconds",
                query.first_day,
                query.last_day,
                change.current,
                previous.first_day,
                previous.last_day,
                change.previous,
                None if fraction is None else round(fraction, 4),
                mttr_from,
            ]
        )
    return rows
