"""From a number to its incidents: the incident-list URL behind every figure.

A report's figure counts the incidents that started within its range (whole days
in the catalog's zone) and match its filters; a period row narrows the days, a
breakdown row adds its group. The incident list reads the same `since`/`until`
days and filters through the same `apply_filters`, so the list under a link
holds exactly the incidents the figure counted (tests/test_drill_down.py checks
every grouping).
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import url_for

from catalog.reports.metrics import next_period
from catalog.reports.query import FILTER_NAMES, ReportQuery


def range_args(query: ReportQuery, first: date | None = None, last: date | None = None) -> dict:
    """The list's arguments for the view's range (or the days first..last) and filters."""
    args = {
        "since": (first or query.first_day).isoformat(),
        "until": (last or query.last_day).isoformat(),
    }
    for name in FILTER_NAMES:
        if getattr(query, name):
            args[name] = getattr(query, name)
    return args


def period_args(query: ReportQuery, key: str) -> dict:
    """A week or month row: its days, cut to the view's range as the figure is."""
    start = date.fromisoformat(key)
    end = next_period(start, query.period) - timedelta(days=1)
    return range_args(query, max(start, query.first_day), min(end, query.last_day))


def group_args(query: ReportQuery, by: str, key: str) -> dict:
    """A breakdown row (by vector, severity, service or team) within the view."""
    args = range_args(query)
    args[by] = key  # a blank team is the key BLANK, which the list reads as "no team"
    return args


def incidents_url(
    query: ReportQuery,
    *,
    period: str | None = None,
    by: str | None = None,
    key: str | None = None,
    **extra: str,
) -> str:
    """The incident list behind a figure: the view's range, one period or one group,
    and `extra` (status="open", breaching="1")."""
    if period is not None:
        args = period_args(query, period)
    elif by is not None and key is not None:
        args = group_args(query, by, key)
    else:
        args = range_args(query)
    return url_for("incidents.index", **args, **extra)
