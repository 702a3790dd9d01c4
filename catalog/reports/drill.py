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
from urllib.parse import quote_plus

from flask import g, url_for

from catalog.reports.metrics import next_period
from catalog.reports.query import FILTER_NAMES, ReportQuery


def _days(query: ReportQuery, period: str | None) -> tuple[date, date]:
    """The view's days, or a week's or month's, cut to the view's range as the figure is."""
    if period is None:
        return query.first_day, query.last_day
    start = date.fromisoformat(period)
    end = next_period(start, query.period) - timedelta(days=1)
    return max(start, query.first_day), min(end, query.last_day)


def _filters(query: ReportQuery, without: str | None) -> str:
    """The view's filters as query-string text, encoded once per page and grouping
    (a report page holds a hundred links: encoding each whole cost it 4 ms)."""
    memo: dict[tuple[ReportQuery, str | None], str] = g.setdefault("drill_filters", {})
    text = memo.get((query, without))
    if text is None:
        values = {n: getattr(query, n) for n in FILTER_NAMES if n != without and getattr(query, n)}
        text = memo[(query, without)] = "".join(f"&{k}={quote_plus(v)}" for k, v in values.items())
    return text


def incidents_url(
    query: ReportQuery,
    *,
    period: str | None = None,
    by: str | None = None,
    key: str | None = None,
    **extra: str,
) -> str:
    """The incident list behind a figure: the view's days (or one period's), its filters,
    a breakdown row's group (`by`=`key`; a blank team is the key BLANK, which the list
    reads as "no team"), and `extra` (status="open", breaching="1")."""
    first, last = _days(query, period)
    group = by if by is not None and key is not None else None
    url = g.get("incidents_index_url")
    if url is None:
        url = g.incidents_index_url = url_for("incidents.index")
    text = f"{url}?since={first.isoformat()}&until={last.isoformat()}{_filters(query, group)}"
    if group is not None:
        text += f"&{group}={quote_plus(str(key))}"
    for name, value in extra.items():
        text += f"&{name}={quote_plus(value)}"
    return text


def releases_url(query: ReportQuery, *, by: str | None = None, key: str | None = None) -> str:
    """The release list behind a change figure: the view's days, its service and team
    filters, and a row's service or team."""
    args = {"since": query.first_day.isoformat(), "until": query.last_day.isoformat()}
    for name in ("service", "team"):
        value = getattr(query, name)
        if value:
            args[name] = value
    if by is not None and key is not None:
        args[by] = key
    return url_for("releases.index", **args)
