"""Metrics that stay fast at 10^5-10^6 incidents: computed once per change of the data.

A metrics report depends on three things: the rows of the tables it reads,
the request (grouping, filters, settings) and the clock (the `breaching`
count of open incidents). So a cached report is keyed by the request and the
*data versions* of what it reads, and kept only until the moment the clock
would change it (`MetricsReport.valid_until`, the next open incident to start
breaching).

The versions are rows that database triggers move on every INSERT, UPDATE or
DELETE, in the writing transaction itself (migrations 0004, 0008;
catalog.data_versions): one per UTC month of incidents' `started_at`, and
one for vectors. A report is filed under the versions of the months its range
reads and of the vectors, so a write in this month leaves last quarter's
reports as they are, and recomputing this quarter's reads only this month again
(catalog.reports.chunks). The triggers catch every writer, the ORM, the bulk
demo loader, an import or someone in psql, and every app process reads the same
rows, so caches in several gunicorn workers never disagree with the database: a
stale number would be a bug. The versions are read *before* the data, so a
report can only ever be newer than the versions it is filed under.

Behind each process's cache, catalog.reports.shared lets the workers of one host
share what one of them computed, so a write costs one recomputation per report,
not one per worker. Other kept values (list pages, flagged root causes) are
filed under every version row (`MetricsCache.value`).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, has_request_context, request
from sqlalchemy.orm import Session

from catalog.data_versions import Versions, request_versions
from catalog.db import utcnow
from catalog.incidents.service import IncidentFilters
from catalog.reports.chunks import ChunkCache, MonthVersions, read_month_versions
from catalog.reports.metrics import MetricsReport, compute_metrics, compute_metrics_many
from catalog.reports.shared import (
    Codec,
    SharedReports,
    served_at,
    shared_or_compute,
    shared_or_compute_many,
    shared_value,
)
from catalog.settings import Settings

T = TypeVar("T")

# How many of the most recently served reports a write computes again ahead of readers.
REFRESH_RECENT = 8

# The tables whose writes change a metric (the triggers in migration 0004).
VERSIONED_TABLES = ("incidents", "incident_vectors", "vectors")


def _report_version(months: MonthVersions, filters: IncidentFilters) -> str:
    """What a report is filed under: the versions of the months its range reads and of the
    vectors. A write elsewhere (almost always: this month) leaves it as it is."""
    return hashlib.sha256(repr(months.of(filters.since, filters.until)).encode()).hexdigest()


@dataclass(frozen=True)
class _Key:
    version: str
    group_by: str
    filters: IncidentFilters
    settings: Settings


@dataclass(frozen=True)
class _Kept:
    value: object
    made_at: datetime
    valid_until: datetime | None


class MetricsCache:
    """A small LRU of reports per process; `size=0` turns it off."""

    def __init__(self, size: int = 256, shared: SharedReports | None = None) -> None:
        self.size = size
        self.shared = shared
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[_Key, MetricsReport] = OrderedDict()
        self._values: OrderedDict[tuple[Versions, str], _Kept] = OrderedDict()
        self._lock = threading.Lock()
        # The months of durations a report reads, kept for the next computation of it.
        self.chunks = ChunkCache() if size > 0 else None

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._values.clear()
        if self.chunks is not None:
            self.chunks.clear()

    def metrics(
        self,
        session: Session,
        settings: Settings,
        *,
        group_by: str = "overall",
        filters: IncidentFilters | None = None,
        now: datetime | None = None,
    ) -> MetricsReport:
        """compute_metrics(...), from the cache while the data and the clock allow."""
        filters = filters or IncidentFilters()
        now = now or utcnow()
        if self.size <= 0:
            return self._uncached(session, settings, (group_by,), filters, now)[group_by]
        return self._metrics(
            session, settings, group_by, filters, now, read_month_versions(session)
        )

    @staticmethod
    def _uncached(
        session: Session,
        settings: Settings,
        group_bys: tuple[str, ...],
        filters: IncidentFilters,
        now: datetime,
    ) -> dict[str, MetricsReport]:
        """With the cache off (CATALOG_METRICS_CACHE_SIZE=0), nothing is kept between
        requests, but a request does not compute the same report twice: a page decides its
        period from the weekly report and then shows it (two reads of every duration until
        this). Kept in the request's `g`, at the request's `now`."""
        if not has_request_context():
            return compute_metrics_many(session, settings, group_bys, filters=filters, now=now)
        memo: dict[tuple[Any, ...], MetricsReport] = g.setdefault("catalog_reports", {})
        found = {
            group_by: memo[(group_by, filters, settings, now)]
            for group_by in group_bys
            if (group_by, filters, settings, now) in memo
        }
        missing = tuple(group_by for group_by in group_bys if group_by not in found)
        if missing:
            computed = compute_metrics_many(session, settings, missing, filters=filters, now=now)
            for group_by, report in computed.items():
                memo[(group_by, filters, settings, now)] = report
            found.update(computed)
        return {group_by: found[group_by] for group_by in group_bys}

    def _metrics(
        self,
        session: Session,
        settings: Settings,
        group_by: str,
        filters: IncidentFilters,
        now: datetime,
        months: MonthVersions,
    ) -> MetricsReport:
        """`metrics` at the month versions the caller read."""
        key = _Key(_report_version(months, filters), group_by, filters, settings)
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None and _still_exact(cached, now):
                self._entries.move_to_end(key)
                self.hits += 1
                return replace(cached, generated_at=now)
        report = self._from_other_workers(session, key, now, months) or compute_metrics(
            session,
            settings,
            group_by=group_by,
            filters=filters,
            now=now,
            chunks=self.chunks,
            months=months,
        )
        with self._lock:
            self.misses += 1
            self._keep(self._entries, key, report)
        return report

    def metrics_many(
        self,
        session: Session,
        settings: Settings,
        group_bys: tuple[str, ...],
        *,
        filters: IncidentFilters | None = None,
        now: datetime | None = None,
    ) -> dict[str, MetricsReport]:
        """Several groupings of one view; those not cached are computed together, so the
        overall figures and a period trend cost one read of the durations."""
        filters = filters or IncidentFilters()
        now = now or utcnow()
        if self.size <= 0:
            return self._uncached(session, settings, group_bys, filters, now)
        return self._metrics_many(
            session, settings, group_bys, filters, now, read_month_versions(session)
        )

    def _metrics_many(
        self,
        session: Session,
        settings: Settings,
        group_bys: tuple[str, ...],
        filters: IncidentFilters,
        now: datetime,
        months: MonthVersions,
    ) -> dict[str, MetricsReport]:
        """`metrics_many` at the month versions the caller read."""
        version = _report_version(months, filters)
        found: dict[str, MetricsReport] = {}
        with self._lock:
            for group_by in group_bys:
                cached = self._entries.get(_Key(version, group_by, filters, settings))
                if cached is not None and _still_exact(cached, now):
                    self.hits += 1
                    found[group_by] = replace(cached, generated_at=now)
        missing = tuple(g for g in group_bys if g not in found)
        if len(missing) < 2:  # one report: the usual path, shared with the other workers
            for group_by in missing:
                found[group_by] = self._metrics(session, settings, group_by, filters, now, months)
            return found
        keys = [_Key(version, g, filters, settings) for g in missing]

        def compute(places: list[int]) -> list[MetricsReport]:
            wanted = [missing[i] for i in places]
            together = compute_metrics_many(
                session,
                settings,
                wanted,
                filters=filters,
                now=now,
                chunks=self.chunks,
                months=months,
            )
            return [together[g] for g in wanted]

        reports = None
        if self.shared is not None:
            names = [_shared_name(session, key) for key in keys]
            reports = shared_or_compute_many(self.shared, names, version, now, compute)
        if reports is None:  # no shared folder, or it failed: on our own
            reports = compute(list(range(len(missing))))
        computed = {}
        for key, report in zip(keys, reports, strict=True):
            report = replace(report, settings=settings, filters=filters)
            computed[key.group_by] = report
            with self._lock:
                self.misses += 1
                self._keep(self._entries, key, report)
        return {**found, **computed}

    def refresh_recent(self, session: Session, *, now: datetime | None = None) -> int:
        """Compute again, at the current data version, the reports this process served
        most recently; returns how many. Called after a write (see `init_app`).

        The first request for a report after a write would otherwise pay for computing
        it while the user waits, and in a spike of reads every request behind it waits
        too. Done by the writer, once the writer's answer is sent, into the store the
        workers share: the readers that come next find it ready, or wait for it under
        its lock instead of computing it again.
        """
        if self.size <= 0 or self.shared is None:
            return 0
        now = now or utcnow()
        months = read_month_versions(session)
        with self._lock:
            recent = list(self._entries)[-REFRESH_RECENT:]
        # Grouped by what they filter on, so a headline and its trend share one read.
        views: dict[tuple[IncidentFilters, Settings], list[str]] = {}
        done: set[tuple[str, IncidentFilters, Settings]] = set()
        for key in reversed(recent):  # the most recent first
            request = (key.group_by, key.filters, key.settings)
            if key.version == _report_version(months, key.filters) or request in done:
                continue
            done.add(request)
            views.setdefault((key.filters, key.settings), []).append(key.group_by)
        for (filters, settings), group_bys in views.items():
            self._metrics_many(session, settings, tuple(group_bys), filters, now, months)
        return len(done)

    def _from_other_workers(
        self, session: Session, key: _Key, now: datetime, months: MonthVersions
    ) -> MetricsReport | None:
        """The report another worker filed, or computed here once for all of them (see
        catalog.reports.shared); None without a shared folder, or when it fails."""
        if self.shared is None:
            return None
        report = shared_or_compute(
            self.shared,
            _shared_name(session, key),
            key.version,
            now,
            lambda: compute_metrics(
                session,
                key.settings,
                group_by=key.group_by,
                filters=key.filters,
                now=now,
                chunks=self.chunks,
                months=months,
            ),
        )
        if report is None:
            return None
        return replace(report, settings=key.settings, filters=key.filters)

    def value(
        self,
        session: Session,
        name: str,
        compute: Callable[[], T],
        keep: Callable[[T], bool] | None = None,
        *,
        valid_until: Callable[[T], datetime | None] | None = None,
        now: datetime | None = None,
        codec: Codec[T] | None = None,
    ) -> T:
        """Any other figure made from the data (a list of services, a page of incidents,
        the flagged post-mortems), kept under every data version (catalog.data_versions).

        `keep(result)` False leaves a result out of the cache (a page too large to hold).
        `valid_until(result)`, for a figure the clock also changes: the first moment it
        may differ (None: never); it is kept until then, as a report is.
        With a `codec` (to JSON and back), the workers share it as they share reports:
        after a write one of them computes it, not each (`shared_value`). A value that
        is not kept is not shared either.
        """
        if self.size <= 0:
            return compute()
        now = now or utcnow()
        key = (request_versions(session), name)
        with self._lock:
            entry = self._values.get(key)
            if entry is not None and served_at(entry.made_at, entry.valid_until, now):
                self._values.move_to_end(key)
                return entry.value  # type: ignore[no-any-return]
        result = self._shared_value(session, key, compute, keep, codec, valid_until, now)
        if keep is None or keep(result):
            until = valid_until(result) if valid_until is not None else None
            with self._lock:
                self._keep(self._values, key, _Kept(result, now, until))
        return result

    def _shared_value(
        self,
        session: Session,
        key: tuple[Versions, str],
        compute: Callable[[], T],
        keep: Callable[[T], bool] | None,
        codec: Codec[T] | None,
        valid_until: Callable[[T], datetime | None] | None,
        now: datetime,
    ) -> T:
        """`compute()`, or what another worker computed at the same versions."""
        if codec is None or self.shared is None:
            return compute()
        versions, name = key
        found = shared_value(
            self.shared,
            repr(("value", _database_of(session), name)),
            repr(versions),
            now,
            compute,
            codec,
            valid_until,
            keep,
        )
        return compute() if found is None else found[0]

    def _keep(self, store: OrderedDict[Any, Any], key: Any, item: object) -> None:
        """Store as the most recent entry, dropping the least recent beyond `size` (lock held)."""
        store[key] = item
        store.move_to_end(key)
        while len(store) > self.size:
            store.popitem(last=False)


def metrics_cache() -> MetricsCache:
    """The app's cache, for the views and the API (the CLI computes directly)."""
    return current_app.extensions["catalog.metrics_cache"]  # type: ignore[no-any-return]


WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def init_app(app: Flask) -> None:
    """After a request that may have written, refresh the recent reports once its answer
    is sent (CATALOG_REFRESH_AHEAD, on by default)."""
    if not app.config.get("REFRESH_AHEAD", True):
        return

    def _after(response: Response) -> Response:
        if request.method in WRITES and response.status_code < 400:
            response.call_on_close(partial(_refresh, app))
        return response

    app.after_request(_after)


def _refresh(app: Flask) -> None:
    """Runs after the writer's answer went out: a failure here is logged, never raised."""
    try:
        with app.app_context():
            session = app.extensions["catalog.sessionmaker"]()
            try:
                app.extensions["catalog.metrics_cache"].refresh_recent(session)
            finally:
                session.close()
    except Exception:  # noqa: BLE001 - the reader will compute it, as without this
        app.logger.warning("Refreshing reports after a write failed.", exc_info=True)


def cached_values(session: Session) -> Callable[..., Any]:
    """`cached(name, compute, keep=None)` on the app's cache for this session, e.g. a list page."""
    cache = metrics_cache()
    return partial(cache.value, session)


def _shared_name(session: Session, key: _Key) -> str:
    """A report's name in the store the workers share: its database and what was asked."""
    return repr((_database_of(session), key.group_by, key.filters, key.settings))


def _database_of(session: Session) -> str:
    """Which database a shared file is about: part of every name in the shared folder."""
    return session.get_bind().url.render_as_string(hide_password=True)


def _still_exact(report: MetricsReport, now: datetime) -> bool:
    """Not computed in the future of `now`, and no open incident has started breaching since."""
    return served_at(report.generated_at, report.valid_until, now)
