"""The finer data versions (migration 0008) and the month-by-month reads they allow.

A kept month of durations is only right if every write that could change it
moves its version: these tests write through the app and behind its back (raw
SQL, as psql or a restore would) and check both the versions and that a report
computed from kept months equals one read afresh.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from factories import T0, api_payload, iso, make_incident
from sqlalchemy import text

from catalog.data_versions import read_versions
from catalog.incidents.service import IncidentFilters
from catalog.reports.cache import MetricsCache
from catalog.reports.chunks import (
    Chunk,
    ChunkCache,
    MonthVersions,
    chunks_of,
    day_key,
    month_key,
)
from catalog.reports.metrics import compute_metrics
from catalog.settings import settings_of


def months(session) -> dict[int, int]:  # type: ignore[no-untyped-def]
    return dict(session.execute(text("SELECT month, version FROM data_version_months")).all())


def days(session) -> dict[int, int]:  # type: ignore[no-untyped-def]
    return dict(session.execute(text("SELECT day, version FROM data_version_days")).all())


def moved(before: dict[int, int], after: dict[int, int]) -> set[int]:
    return {m for m in after if after[m] != before.get(m)}


def test_chunks_are_the_utc_months_with_incidents_clipped_to_the_range():
    months = MonthVersions({202512: 3, 202601: 1, 202602: 1, 202604: 2}, vectors=1)
    since = datetime(2026, 1, 31, 23, 0, tzinfo=UTC)
    until = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    assert chunks_of(months, since, until) == [
        Chunk(202601, since, datetime(2026, 2, 1, tzinfo=UTC)),
        Chunk(202602, datetime(2026, 2, 1, tzinfo=UTC), until),
    ]
    december = datetime(2025, 12, 5, tzinfo=UTC)
    assert [c.key for c in chunks_of(months, december, datetime(2026, 1, 2, tzinfo=UTC))] == [
        202512,
        202601,
    ]
    # Open ends take every month; March has no row (never an incident): not read.
    assert [c.key for c in chunks_of(months, None, None)] == [202512, 202601, 202602, 202604]
    # Another zone's instant is the same instant: the month is the UTC one.
    east = datetime(2026, 2, 1, 0, 30, tzinfo=UTC).astimezone(ZoneInfo("Asia/Tokyo"))
    assert month_key(east) == 202602
    assert day_key(east) == 20260201


def test_the_current_month_is_read_by_its_days():
    versions = MonthVersions(
        {202603: 4, 202604: 9},
        vectors=1,
        days={20260401: 2, 20260403: 5, 20260430: 1},  # no incident on the 2nd
        current=202604,
    )
    since = datetime(2026, 3, 31, 12, tzinfo=UTC)
    until = datetime(2026, 4, 30, 6, tzinfo=UTC)
    assert chunks_of(versions, since, until) == [
        Chunk(202603, since, datetime(2026, 4, 1, tzinfo=UTC)),
        Chunk(20260401, datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 4, 2, tzinfo=UTC)),
        Chunk(20260403, datetime(2026, 4, 3, tzinfo=UTC), datetime(2026, 4, 4, tzinfo=UTC)),
        Chunk(20260430, datetime(2026, 4, 30, tzinfo=UTC), until),
    ]
    assert versions.of(since, until) == (
        1,
        (202603, 4),
        (20260401, 2),
        (20260403, 5),
        (20260430, 1),
    )


def test_upgrading_gives_existing_incidents_their_months(tmp_path):
    """Months are found from data_version_months alone, so 0008 seeds it from the
    incidents already there; reports from kept months then miss none of them."""
    from alembic import command
    from sqlalchemy import create_engine

    from catalog import create_app
    from catalog.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    command.upgrade(alembic_config(url), "0007")
    engine = create_engine(url)
    with engine.begin() as conn:
        for n, started in enumerate(("2025-11-03 10:00:00.000000", "2026-02-14 09:30:00.000000")):
            conn.execute(
                text(
                    "INSERT INTO incidents (uid, title, severity, service, team, summary,"
                    " detection_source, started_at, detected_at, recovered_at, created_at,"
                    " updated_at, version) VALUES (:uid, 'Old', 'SEV2', 'svc', 'team', '',"
                    " 'alert', :s, :s, :s, :s, :s, 1)"
                ),
                {"uid": f"old-{n}", "s": started},
            )
    engine.dispose()
    command.upgrade(alembic_config(url), "head")
    app = create_app({"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": "x"})
    session = app.extensions["catalog.sessionmaker"]()
    try:
        assert months(session) == {202511: 1, 202602: 1}
        assert days(session) == {20251103: 1, 20260214: 1}  # 0013 seeds the days too
        settings = settings_of(app)
        kept = compute_metrics(session, settings, group_by="month", chunks=ChunkCache())
        assert sum(g.count for g in kept.groups) == 2
    finally:
        session.close()
        app.extensions["catalog.engine"].dispose()


def test_writing_an_incident_moves_its_month_only(session):
    incident = make_incident(session)  # T0: March 2026
    before = months(session)
    incident.title = "Renamed"
    session.commit()
    assert moved(before, months(session)) == {202603}


def test_moving_started_at_across_months_moves_both(session):
    make_incident(session)
    before = months(session)
    session.execute(
        text("UPDATE incidents SET started_at = :s, detected_at = :s"),
        {"s": datetime(2026, 1, 10)},
    )
    session.commit()
    assert moved(before, months(session)) == {202601, 202603}


def test_vector_links_and_deletes_move_the_incidents_month(session):
    make_incident(session)
    before = months(session)
    session.execute(text("DELETE FROM incident_vectors"))
    session.commit()
    after_unlink = months(session)
    assert moved(before, after_unlink) == {202603}
    session.execute(text("DELETE FROM incidents"))
    session.commit()
    assert moved(after_unlink, months(session)) == {202603}


def test_writes_move_their_days_as_they_move_their_months(session):
    """0013's triggers, through the ORM and behind its back: the incident's day, both days
    when started_at moves, the day of an incident whose links change, a delete's day."""
    incident = make_incident(session)  # T0: 2026-03-10
    day = day_key(incident.started_at)
    before = days(session)
    incident.title = "Renamed"
    session.commit()
    assert moved(before, days(session)) == {day}

    before = days(session)
    session.execute(
        text("UPDATE incidents SET started_at = :s, detected_at = :s"),
        {"s": datetime(2026, 3, 2, 23, 59)},
    )
    session.commit()
    assert moved(before, days(session)) == {day, 20260302}

    before = days(session)
    session.execute(text("DELETE FROM incident_vectors"))
    session.commit()
    assert moved(before, days(session)) == {20260302}
    before = days(session)
    session.execute(text("DELETE FROM incidents"))
    session.commit()
    assert moved(before, days(session)) == {20260302}


class _RecordingChunks(ChunkCache):
    """A ChunkCache that notes the span of every read it makes."""

    def __init__(self) -> None:
        super().__init__()
        self.read_spans: list[tuple[datetime, datetime]] = []

    def months(self, session, query_key, since, until, read, versions=None):  # type: ignore[no-untyped-def]
        def noted(lo, hi):  # type: ignore[no-untyped-def]
            self.read_spans.append((lo, hi))
            return read(lo, hi)

        return super().months(session, query_key, since, until, noted, versions)


def test_a_write_today_reads_today_again_not_the_month(session, settings):
    from catalog.demo import load_demo_bulk

    load_demo_bulk(session, count=300, seed=5, days=60)
    now = datetime.now(UTC)
    chunks = _RecordingChunks()
    filters = IncidentFilters(since=now - timedelta(days=50))
    compute_metrics(session, settings, group_by="week", filters=filters, now=now, chunks=chunks)
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC)
    started = max(now - timedelta(minutes=20), midnight).replace(microsecond=0)
    make_incident(session, started_at=started, detected_at=started, recovered_at=started)
    chunks.read_spans.clear()
    again = compute_metrics(
        session, settings, group_by="week", filters=filters, now=now, chunks=chunks
    )
    assert chunks.read_spans == [(midnight, midnight + timedelta(days=1))]  # today only
    fresh = compute_metrics(session, settings, group_by="week", filters=filters, now=now)
    assert _dicts(again) == _dicts(fresh)


@pytest.mark.parametrize(
    "statement, rows",
    [
        ("UPDATE vectors SET name = name", {"data", "vectors"}),
        ("UPDATE incidents SET team = team", {"data"}),
        ("UPDATE users SET role = role", {"credentials"}),
        ("UPDATE users SET active = active", {"credentials"}),
        ("UPDATE users SET last_login_at = updated_at", set()),
        ("UPDATE api_tokens SET revoked_at = created_at", {"credentials"}),
        ("UPDATE api_tokens SET last_used_at = created_at", set()),
        ("DELETE FROM api_tokens", {"credentials"}),
        ("UPDATE postmortems SET root_cause_at = root_cause_at", {"postmortems"}),
    ],
)
def test_each_version_row_moves_with_its_tables_and_only_them(
    client, api_headers, session, statement, rows
):
    """A token's last use and a sign-in's time are bookkeeping: they move nothing."""
    incident = client.post("/api/v1/incidents", json=api_payload(), headers=api_headers)
    answer = client.put(
        f"/api/v1/incidents/{incident.get_json()['id']}/postmortem",
        json={"root_cause_at": iso(T0 + timedelta(hours=1))},
        headers=api_headers,
    )
    assert answer.status_code < 300, answer.get_json()
    session.expire_all()
    before = read_versions(session)
    session.execute(text(statement))
    session.commit()
    after = read_versions(session)
    names = ("data", "vectors", "postmortems", "credentials")
    changed = {n for n in names if getattr(after, n) != getattr(before, n)}
    assert changed == rows


def _dicts(report):  # type: ignore[no-untyped-def]
    return [g.to_dict() for g in report.groups]


SHIFT = "SHIFT"
TIMES = ("started_at", "detected_at", "acknowledged_at", "mitigated_at", "recovered_at")


def _shift_some_by_40_days(backend: str) -> str:
    """Every seventh incident 40 days earlier, as psql or sqlite3 would write it."""
    if backend == "postgresql":
        moves = (f"{c} = {c} - INTERVAL '40 days'" for c in TIMES)
    else:  # the app's canonical text form: six fraction digits
        moves = (f"{c} = strftime('%Y-%m-%d %H:%M:%f000', {c}, '-40 days')" for c in TIMES)
    return f"UPDATE incidents SET {', '.join(moves)} WHERE id % 7 = 0"


WRITES = [
    # (what, statement): each one the kept months must notice
    ("a new incident in a past month", None),
    ("started_at moved to another month", SHIFT),
    (
        "a vector unlinked",
        "DELETE FROM incident_vectors WHERE incident_id = (SELECT min(id) FROM incidents)",
    ),
    ("a target changed", "UPDATE vectors SET mttr_target_minutes = 7"),
    ("a slug renamed", "UPDATE vectors SET slug = 'renamed-drift' WHERE slug = 'data-drift'"),
    ("incidents deleted", "DELETE FROM incidents WHERE severity = 'SEV1'"),
]


@pytest.mark.parametrize("group_by", ["month", "week", "vector", "overall", "severity"])
def test_reports_from_kept_months_equal_fresh_ones_after_every_kind_of_write(
    session, settings, backend, group_by
):
    from catalog.demo import load_demo_bulk

    load_demo_bulk(session, count=400, seed=11, days=150)
    now = datetime.now(UTC)
    views = [
        IncidentFilters(),
        IncidentFilters(since=now - timedelta(days=90)),
        IncidentFilters(since=now - timedelta(days=120), until=now - timedelta(days=31)),
        IncidentFilters(vector="data-drift", since=now - timedelta(days=120)),
        IncidentFilters(vector="renamed-drift"),
    ]
    cache = MetricsCache()
    for what, statement in WRITES:
        for filters in views:
            cached = cache.metrics(session, settings, group_by=group_by, filters=filters, now=now)
            fresh = compute_metrics(session, settings, group_by=group_by, filters=filters, now=now)
            assert _dicts(cached) == _dicts(fresh), (what, filters)
        if statement is None:
            make_incident(
                session,
                started_at=now - timedelta(days=70),
                detected_at=now - timedelta(days=70) + timedelta(minutes=3),
                recovered_at=now - timedelta(days=70) + timedelta(minutes=40),
            )
        elif statement == SHIFT:
            session.execute(text(_shift_some_by_40_days(backend)))
            session.commit()
        else:
            session.execute(text(statement))
            session.commit()
    for filters in views:
        cached = cache.metrics(session, settings, group_by=group_by, filters=filters, now=now)
        fresh = compute_metrics(session, settings, group_by=group_by, filters=filters, now=now)
        assert _dicts(cached) == _dicts(fresh), filters
    assert cache.chunks is not None and cache.chunks.hits > 0  # months were kept and used


def test_only_the_written_month_is_read_again(session, settings):
    from catalog.demo import load_demo_bulk

    load_demo_bulk(session, count=300, seed=5, days=200)
    now = datetime.now(UTC)
    chunks = ChunkCache()
    filters = IncidentFilters(since=now - timedelta(days=180))
    compute_metrics(session, settings, group_by="month", filters=filters, now=now, chunks=chunks)
    first = chunks.misses
    make_incident(
        session,
        started_at=now - timedelta(hours=2),
        detected_at=now - timedelta(hours=2),
        recovered_at=now - timedelta(hours=1),
    )
    compute_metrics(session, settings, group_by="month", filters=filters, now=now, chunks=chunks)
    assert chunks.misses == first + 1
    assert chunks.hits == first - 1


def test_kept_rows_stay_within_their_bound(session, settings):
    from catalog.demo import load_demo_bulk

    load_demo_bulk(session, count=300, seed=5, days=200)
    chunks = ChunkCache(max_rows=100)
    fresh = compute_metrics(session, settings, group_by="week")
    kept = compute_metrics(session, settings, group_by="week", chunks=chunks)
    assert chunks.rows_kept <= 100
    assert _dicts(kept) == _dicts(fresh)


def test_an_empty_database_needs_no_months(session, settings):
    session.execute(text("DELETE FROM incidents"))
    session.commit()
    chunks = ChunkCache()
    report = compute_metrics(session, settings, group_by="month", chunks=chunks)
    assert all(g.count == 0 for g in report.groups)


def test_a_bulk_load_moves_each_month_it_touches(session, backend):
    """PostgreSQL moves a month once per transaction, however many statements touch it
    (executemany runs one per row: 10^5 updates of one row in one transaction took 125 s)."""
    from catalog.demo import load_demo_bulk

    before = months(session)
    load_demo_bulk(session, count=500, seed=2, days=120)
    after = months(session)
    assert len(moved(before, after)) >= 4
    if backend == "postgresql":
        assert all(after[m] == before.get(m, 0) + 1 for m in moved(before, after))


def test_a_write_leaves_reports_on_other_months_as_they_are(session, settings):
    """Reports are filed under the versions of the months they read: a new incident now
    recomputes the last 30 days, not the quarter before last."""
    from catalog.demo import load_demo_bulk

    load_demo_bulk(session, count=300, seed=9, days=200)
    now = datetime.now(UTC)
    older = IncidentFilters(since=now - timedelta(days=180), until=now - timedelta(days=90))
    recent = IncidentFilters(since=now - timedelta(days=30))
    cache = MetricsCache()
    for filters in (older, recent):
        cache.metrics(session, settings, group_by="vector", filters=filters, now=now)
    assert (cache.hits, cache.misses) == (0, 2)
    make_incident(
        session,
        started_at=now - timedelta(hours=2),
        detected_at=now - timedelta(hours=2),
        recovered_at=now - timedelta(hours=1),
    )
    kept = cache.metrics(session, settings, group_by="vector", filters=older, now=now)
    assert (cache.hits, cache.misses) == (1, 2)
    again = cache.metrics(session, settings, group_by="vector", filters=recent, now=now)
    assert (cache.hits, cache.misses) == (1, 3)
    for report, filters in ((kept, older), (again, recent)):
        fresh = compute_metrics(session, settings, group_by="vector", filters=filters, now=now)
        assert _dicts(report) == _dicts(fresh)


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "Pacific/Chatham", "Asia/Kathmandu"])
@pytest.mark.parametrize("group_by", ["week", "month", "overall"])
def test_periods_in_other_zones_join_their_utc_months(session, settings, zone, group_by):
    """A display-zone week or month spans two UTC months: kept per month, grouped per month,
    joined per group, it must give what one read gives."""
    from dataclasses import replace as with_

    from catalog.demo import load_demo_bulk

    load_demo_bulk(session, count=500, seed=4, days=150)
    local = with_(settings, timezone=zone, mttr_from="started")
    now = datetime.now(UTC)
    cache = MetricsCache()
    for filters in (IncidentFilters(), IncidentFilters(since=now - timedelta(days=75))):
        fresh = compute_metrics(session, local, group_by=group_by, filters=filters, now=now)
        first = cache.metrics(session, local, group_by=group_by, filters=filters, now=now)
        cache._entries.clear()  # forget the report: its months and their groups stay
        again = cache.metrics(session, local, group_by=group_by, filters=filters, now=now)
        assert _dicts(first) == _dicts(fresh) == _dicts(again)
