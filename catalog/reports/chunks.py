"""Durations read a month at a time, each month kept while its data version holds.

A write moves the data version every cached report is filed under, so the next
request computes the report again. Most of that cost is reading the durations
(a year by month at 10^5 incidents: 60-80 ms of 80-110), and a write touches one
month, almost always the current one. So a report's durations are read per UTC
month of `started_at` and each month's rows are kept under that month's own
version (migration 0008's `data_version_months`, moved by triggers by every
writer), plus the vectors' version (a vector's slug decides the vector filter):
after a write only the touched month is read again. The current month is read a
UTC day at a time, each day kept under its own version (migration 0013's
`data_version_days`): a write today reads today's rows again, not the month's.

Rows read in month order are the rows in `started_at` order, so a period report's
bisection (metrics._period_slices) works on the joined list as on one query.
The months' versions are read before their rows, like the data version, so kept
rows are never older than the version they are filed under.

Month edges are compared as the database stores `started_at`: on SQLite, text in
the app's canonical 'YYYY-MM-DD HH:MM:SS.ffffff'. A raw-SQL writer that stores
another text form at exactly midnight on the 1st would put that row in the
month before, as every `since` filter already would.

Kept rows cost memory (a row is ~150 bytes): at most MAX_ROWS per process, the
least recently used months going first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from flask import g, has_request_context, request
from sqlalchemy import bindparam, select, union_all
from sqlalchemy.orm import Session

from catalog.data_versions import VECTORS, data_version, data_version_days, data_version_months
from catalog.db import utcnow
from catalog.sessions import READ_ONLY_METHODS

T = TypeVar("T")

# Rows kept per process, all months together (~90 MB at ~150 bytes a row).
MAX_ROWS = 600_000


def month_key(moment: datetime) -> int:
    """YYYYMM of the UTC month holding `moment`: what the triggers write."""
    utc = moment.astimezone(UTC)
    return utc.year * 100 + utc.month


def month_start(key: int) -> datetime:
    return datetime(key // 100, key % 100, 1, tzinfo=UTC)


def next_month(key: int) -> int:
    year, month = divmod(key, 100)
    return (year + 1) * 100 + 1 if month == 12 else key + 1


def day_key(moment: datetime) -> int:
    """YYYYMMDD of the UTC day holding `moment`: what the triggers write."""
    utc = moment.astimezone(UTC)
    return utc.year * 10000 + utc.month * 100 + utc.day


def day_start(key: int) -> datetime:
    return datetime(key // 10000, key // 100 % 100, key % 100, tzinfo=UTC)


@dataclass(frozen=True)
class Chunk:
    """One month of a range, or one day of the current month: [since, until), inside it.
    `key` is what its version is filed under: YYYYMM for a month, YYYYMMDD for a day."""

    key: int
    since: datetime
    until: datetime


def chunks_of(
    versions: MonthVersions, since: datetime | None, until: datetime | None
) -> list[Chunk]:
    """The months (the current one by its days) that overlap [since, until) (None: open),
    each clipped to it, in order. A month or day without a version row never held an
    incident: nothing to read."""
    out = []

    def add(key: int, start: datetime, end: datetime) -> None:
        lo = start if since is None else max(since, start)
        hi = end if until is None else min(until, end)
        if lo < hi:
            out.append(Chunk(key, lo, hi))

    for month in sorted(versions.months):
        if month != versions.current:
            add(month, month_start(month), month_start(next_month(month)))
            continue
        for day in sorted(versions.days):
            add(day, day_start(day), day_start(day) + timedelta(days=1))
    return out


# Every month's version, the vectors' version (as -2) and the current month's days'
# (:first_day to :last_day), in one read.
_VERSIONS = union_all(
    select(data_version_months.c.month, data_version_months.c.version),
    select(-data_version.c.id, data_version.c.version).where(data_version.c.id == VECTORS),
    select(data_version_days.c.day, data_version_days.c.version).where(
        data_version_days.c.day.between(bindparam("first_day"), bindparam("last_day"))
    ),
)
_DAYS = 10_000_000  # the smallest YYYYMMDD: a key this big is a day, smaller a month


@dataclass(frozen=True)
class MonthVersions:
    """What a range's months (and the current month's days) were at, read before their rows."""

    months: dict[int, int]
    vectors: int
    days: dict[int, int] = field(default_factory=dict)
    """The days of `current` (YYYYMMDD), and only those."""
    current: int = 0
    """The UTC month read by its days (YYYYMM; 0: none)."""

    def of(self, since: datetime | None, until: datetime | None) -> tuple[Any, ...]:
        """The versions a report on [since, until) depends on: equal, the report is too."""
        return (
            self.vectors,
            *((p.key, self.version(p.key)) for p in chunks_of(self, since, until)),
        )

    def version(self, key: int) -> int:
        return self.days[key] if key >= _DAYS else self.months[key]


def read_month_versions(session: Session) -> MonthVersions:
    """Once per GET request, as `request_versions`: a dashboard's reports, its services and
    teams and its counts all read them (four round trips on PostgreSQL until now)."""
    if not has_request_context() or request.method not in READ_ONLY_METHODS:
        return _read_month_versions(session)
    if "catalog_month_versions" not in g:
        g.catalog_month_versions = _read_month_versions(session)
    return g.catalog_month_versions  # type: ignore[no-any-return]


def _read_month_versions(session: Session) -> MonthVersions:
    current = month_key(utcnow())
    bounds = {"first_day": current * 100 + 1, "last_day": current * 100 + 31}
    rows = dict(session.execute(_VERSIONS, bounds).all())
    vectors = int(rows.pop(-VECTORS))
    return MonthVersions(
        months={int(k): int(v) for k, v in rows.items() if k < _DAYS},
        vectors=vectors,
        days={int(k): int(v) for k, v in rows.items() if k >= _DAYS},
        current=current,
    )


class ChunkCache:
    """Per process: rows of one (query, month) under (month version, vectors version)."""

    def __init__(self, max_rows: int = MAX_ROWS) -> None:
        self.max_rows = max_rows
        self.rows_kept = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[Hashable, list[Any]] = OrderedDict()
        self._sizes: dict[Hashable, int] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._sizes.clear()
            self.rows_kept = 0

    def rows(
        self,
        session: Session,
        query_key: Hashable,
        since: datetime | None,
        until: datetime | None,
        read: Callable[[datetime | None, datetime | None], list[Any]],
        versions: MonthVersions | None = None,
    ) -> list[Any]:
        """`read(since, until)` for the whole range, a month at a time, from what is kept."""
        return [
            row
            for _, rows in self.months(session, query_key, since, until, read, versions)
            for row in rows
        ]

    def months(
        self,
        session: Session,
        query_key: Hashable,
        since: datetime | None,
        until: datetime | None,
        read: Callable[[datetime | None, datetime | None], list[Any]],
        versions: MonthVersions | None = None,
    ) -> list[tuple[Hashable, list[Any]]]:
        """Each month's rows of `read` over the range, in order, with the key they are
        kept under (for what is worked out from them: `derived`).

        The months come from `data_version_months` (one read with the vectors' version
        and the current month's days, or `versions` if the caller has read them): every
        month and day that holds an incident has a row there. Each piece is read with
        both bounds, which keeps the database on the `started_at` index (with only a
        lower bound SQLite scanned a whole other index for one month's distinct
        services, 68 ms).
        """
        versions = versions or read_month_versions(session)
        out: list[tuple[Hashable, list[Any]]] = []
        for piece in chunks_of(versions, since, until):
            key = (query_key, piece, versions.version(piece.key), versions.vectors)
            with self._lock:
                kept = self._entries.get(key)
                if kept is not None:
                    self._entries.move_to_end(key)
                    self.hits += 1
            if kept is None:
                kept = read(piece.since, piece.until)
                self._keep(key, kept)
            out.append((key, kept))
        return out

    def derived(self, key: Hashable, size: int, make: Callable[[], T]) -> T:
        """`make()`, kept under `key` (a month's key from `months` and what was made of its
        rows); `size` is what it counts against MAX_ROWS."""
        with self._lock:
            kept = self._entries.get(("derived", key))
            if kept is not None:
                self._entries.move_to_end(("derived", key))
                return kept[0]  # type: ignore[no-any-return]
        made = make()
        self._keep(("derived", key), [made], size, count=False)
        return made

    def _keep(
        self, key: Hashable, rows: list[Any], size: int | None = None, *, count: bool = True
    ) -> None:
        size = len(rows) if size is None else size
        with self._lock:
            self.misses += count
            if size > self.max_rows:
                return
            old = self._entries.pop(key, None)
            if old is not None:
                self.rows_kept -= self._sizes.pop(key)
            self._entries[key] = rows
            self._sizes[key] = size
            self.rows_kept += size
            while self.rows_kept > self.max_rows:
                dropped, _ = self._entries.popitem(last=False)
                self.rows_kept -= self._sizes.pop(dropped)
