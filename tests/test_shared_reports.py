"""Reports shared between worker processes: computed once for all, never stale, never trusted blindly.

Each `MetricsCache` here stands for one gunicorn worker (its own in-memory cache
and its own database session); the folder they share is the instance folder's.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from factories import T0, api_payload, make_incident
from sqlalchemy import text

from catalog import shared_reports
from catalog.reports import cache as cache_module
from catalog.reports.cache import MetricsCache
from catalog.reports.metrics import compute_metrics
from catalog.reports.shared import SharedReports
from catalog.settings import settings_of

NOW = T0 + timedelta(days=1)


def at_once(count: int, work) -> list:  # type: ignore[no-untyped-def]
    """Run `work(i)` for i in range(count), each in a thread (a worker process's stand-in),
    released together; their results, or the first error raised."""
    results, errors = [], []
    start = threading.Barrier(count)

    def run(i: int) -> None:
        try:
            start.wait()
            results.append(work(i))
        except BaseException as exc:  # noqa: BLE001 - raised below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if errors:
        raise errors[0]
    assert len(results) == count
    return results


@pytest.fixture
def computations(monkeypatch):  # type: ignore[no-untyped-def]
    """Counts real computations (the real function runs; this only counts)."""
    calls: list[str] = []
    real = cache_module.compute_metrics

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs.get("group_by", "overall"))
        return real(*args, **kwargs)

    monkeypatch.setattr(cache_module, "compute_metrics", counting)
    return calls


def test_a_second_worker_serves_what_the_first_computed(
    app, session, settings, tmp_path, computations
):
    make_incident(session)
    folder = tmp_path / "shared"
    first, second = (
        MetricsCache(shared=SharedReports(folder)),
        MetricsCache(shared=SharedReports(folder)),
    )
    one = first.metrics(session, settings, group_by="vector", now=NOW)
    two = second.metrics(session, settings, group_by="vector", now=NOW + timedelta(seconds=1))
    assert computations == ["vector"]
    assert (
        two.groups
        == one.groups
        == compute_metrics(session, settings, group_by="vector", now=NOW).groups
    )
    assert two.settings == settings and two.filters == one.filters


def test_a_write_makes_every_worker_see_new_figures_computed_once(
    app, session, settings, tmp_path, computations
):
    make_incident(session)
    folder = tmp_path / "shared"
    workers = [MetricsCache(shared=SharedReports(folder)) for _ in range(3)]
    before = [w.metrics(session, settings, now=NOW).groups[0].count for w in workers]
    session.execute(text("DELETE FROM incidents"))  # behind the app's back: triggers still bump
    session.commit()
    after = [w.metrics(session, settings, now=NOW).groups[0].count for w in workers]
    assert before == [1, 1, 1] and after == [0, 0, 0]
    assert computations == ["overall", "overall"]


def test_workers_racing_for_the_same_report_compute_it_once(app, settings, tmp_path, computations):
    sessionmaker = app.extensions["catalog.sessionmaker"]
    setup = sessionmaker()
    setup.info["actor_label"] = "test setup"
    for n in range(20):
        make_incident(setup, title=f"Incident {n}")
    setup.close()
    folder = tmp_path / "shared"
    # Made before the race: a SharedReports empties its folder when it starts, as a process does.
    caches = [MetricsCache(shared=SharedReports(folder)) for _ in range(6)]

    def worker(i: int):  # type: ignore[no-untyped-def]
        session = sessionmaker()
        try:
            return caches[i].metrics(session, settings, group_by="severity", now=NOW).groups
        finally:
            session.close()

    results = at_once(6, worker)
    assert all(r == results[0] for r in results)
    assert computations == ["severity"]


def test_a_report_past_its_clock_is_recomputed(session, settings, tmp_path, computations):
    """Open since T0+4m with a 15 min target: exact until T0+19m, then breaching."""
    make_incident(session, recovered_at=None)
    folder = tmp_path / "shared"
    first, second = (
        MetricsCache(shared=SharedReports(folder)),
        MetricsCache(shared=SharedReports(folder)),
    )
    early = first.metrics(session, settings, now=T0 + timedelta(minutes=10))
    late = second.metrics(session, settings, now=T0 + timedelta(minutes=20))
    assert (early.groups[0].breaching, late.groups[0].breaching) == (0, 1)
    assert len(computations) == 2


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[]",
        '{"version": "1", "report": {}}',
        '{"version": 999999999, "report": {"groups": "x"}}',
        '{"version": VERSION, "report": {"groups": "x", "group_by": 1}}',
        '{"version": VERSION, "report": null}',
        "",
    ],
)
def test_a_damaged_or_foreign_file_is_never_served(session, settings, tmp_path, content):
    make_incident(session)
    folder = tmp_path / "shared"
    first = MetricsCache(shared=SharedReports(folder))
    first.metrics(session, settings, now=NOW)
    for path in folder.glob("*.json"):
        version = json.loads(path.read_text())["version"]
        path.write_text(content.replace("VERSION", str(version)))
    second = MetricsCache(shared=first.shared)  # another worker, already running
    report = second.metrics(session, settings, now=NOW)
    assert report.groups == compute_metrics(session, settings, now=NOW).groups


def test_a_report_of_another_database_is_never_served(
    app_config, tmp_path, monkeypatch, sqlite_template
):
    """Two apps with different databases and one instance folder (a test box, a restore)."""
    from catalog import create_app

    monkeypatch.setenv("CATALOG_INSTANCE_PATH", str(tmp_path / "instance"))
    apps = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.sqlite"
        path.write_bytes(sqlite_template.read_bytes())
        apps.append(create_app({**app_config, "DATABASE_URL": f"sqlite:///{path}"}))
    try:
        s = apps[0].extensions["catalog.sessionmaker"]()
        s.info["actor_label"] = "test setup"
        make_incident(s)
        versions = s.execute(text("SELECT id, version FROM data_version")).all()
        months = s.execute(text("SELECT month, version FROM data_version_months")).all()
        s.close()
        other = apps[1].extensions["catalog.engine"]
        with other.begin() as conn:  # the same version numbers on both sides
            for row, version in versions:
                conn.execute(
                    text("UPDATE data_version SET version = :v WHERE id = :id"),
                    {"v": version, "id": row},
                )
            conn.execute(text("DELETE FROM data_version_months"))
            for month, version in months:
                conn.execute(
                    text("INSERT INTO data_version_months VALUES (:m, :v)"),
                    {"m": month, "v": version},
                )
        counts = []
        for application in apps:
            session = application.extensions["catalog.sessionmaker"]()
            settings = settings_of(application)
            cache = application.extensions["catalog.metrics_cache"]
            counts.append(cache.metrics(session, settings, now=NOW).groups[0].count)
            session.close()
        assert counts == [1, 0]
    finally:
        for application in apps:
            application.extensions["catalog.engine"].dispose()


def test_an_unusable_folder_only_loses_the_sharing(app_config, tmp_path, monkeypatch):
    from catalog import create_app

    instance = tmp_path / "instance"
    (instance / "cache").mkdir(parents=True)
    (instance / "cache" / "reports").write_text("a file where the folder should be")
    monkeypatch.setenv("CATALOG_INSTANCE_PATH", str(instance))
    application = create_app(dict(app_config))
    try:
        assert shared_reports(application) is None
        assert application.extensions["catalog.metrics_cache"].shared is None
        client = application.test_client()
        from helpers.accounts import make_user

        _, _, token = make_user(application, "viewer")
        response = client.get("/api/v1/metrics", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
    finally:
        application.extensions["catalog.engine"].dispose()


def test_files_hold_json_with_the_version(session, settings, tmp_path):
    make_incident(session)
    folder = tmp_path / "shared"
    MetricsCache(shared=SharedReports(folder)).metrics(session, settings, now=NOW)
    (stored,) = [json.loads(p.read_text()) for p in folder.glob("*.json")]
    assert set(stored) == {"version", "report"} and isinstance(stored["version"], str)


def test_a_write_refreshes_the_recent_reports_before_anyone_asks(app, client):
    """The writer computes again what was served lately; the next reader finds it ready."""
    cache = app.extensions["catalog.metrics_cache"]
    query = "/api/v1/metrics?group_by=vector"
    before = client.get(query).get_json()["groups"]
    assert (cache.hits, cache.misses) == (0, 1)
    written = client.post("/api/v1/incidents", json=api_payload())
    assert written.status_code == 201
    written.close()  # as a server does once the answer is sent: the refresh runs then
    misses = cache.misses  # the refresh computed the vector report again
    assert misses == 2
    after = client.get(query).get_json()["groups"]
    assert cache.misses == misses and cache.hits == 1  # served as refreshed
    assert sum(g["count"] for g in after) == sum(g["count"] for g in before) + 1


def test_refresh_ahead_can_be_turned_off(app_config, tmp_path, monkeypatch):
    from helpers.accounts import signed_in_client

    from catalog import create_app

    monkeypatch.setenv("CATALOG_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("CATALOG_REFRESH_AHEAD", "0")
    application = create_app(dict(app_config))
    try:
        client = signed_in_client(application, "editor")
        cache = application.extensions["catalog.metrics_cache"]
        client.get("/api/v1/metrics?group_by=vector")
        written = client.post("/api/v1/incidents", json=api_payload())
        assert written.status_code == 201
        written.close()
        assert cache.misses == 1
    finally:
        application.extensions["catalog.engine"].dispose()


@pytest.mark.parametrize("period", ["week", "month"])
def test_the_headline_and_its_trend_read_once_and_agree_with_separate_reports(
    session, settings, tmp_path, computations, period
):
    """A dashboard's overall figures and its trend come from one read of the durations."""
    from catalog.incidents.service import IncidentFilters
    from catalog.reports.metrics import compute_metrics_many

    for n in range(6):
        start = T0 + timedelta(days=9 * n)
        make_incident(
            session,
            title=f"Incident {n}",
            started_at=start,
            detected_at=start + timedelta(minutes=n + 1),
            recovered_at=None if n % 3 == 0 else start + timedelta(minutes=10 * n + 5),
        )
    filters = IncidentFilters(since=T0 - timedelta(days=1), until=T0 + timedelta(days=60))
    now = T0 + timedelta(days=70)
    together = compute_metrics_many(
        session, settings, ("overall", period), filters=filters, now=now
    )
    for group_by in ("overall", period):
        alone = compute_metrics(session, settings, group_by=group_by, filters=filters, now=now)
        assert together[group_by].groups == alone.groups
        assert together[group_by].valid_until == alone.valid_until
    cache = MetricsCache(shared=SharedReports(tmp_path / "shared"))
    served = cache.metrics_many(session, settings, ("overall", period), filters=filters, now=now)
    assert {k: r.groups for k, r in served.items()} == {k: r.groups for k, r in together.items()}
    assert cache.misses == 2 and computations == []  # computed together, not one by one
    again = cache.metrics_many(session, settings, ("overall", period), filters=filters, now=now)
    assert (cache.hits, cache.misses) == (2, 2)
    assert {k: r.groups for k, r in again.items()} == {k: r.groups for k, r in together.items()}


def test_workers_racing_for_a_headline_and_its_trend_read_them_once(
    app, settings, tmp_path, monkeypatch
):
    from catalog.incidents.service import IncidentFilters

    reads: list[tuple[str, ...]] = []
    real = cache_module.compute_metrics_many

    def counting(session, settings, group_bys, **kwargs):  # type: ignore[no-untyped-def]
        reads.append(tuple(group_bys))
        return real(session, settings, group_bys, **kwargs)

    monkeypatch.setattr(cache_module, "compute_metrics_many", counting)
    sessionmaker = app.extensions["catalog.sessionmaker"]
    setup = sessionmaker()
    setup.info["actor_label"] = "test setup"
    for n in range(10):
        make_incident(setup, title=f"Incident {n}")
    setup.close()
    folder = tmp_path / "shared"
    filters = IncidentFilters(since=T0 - timedelta(days=30))
    caches = [MetricsCache(shared=SharedReports(folder)) for _ in range(5)]

    def worker(i: int):  # type: ignore[no-untyped-def]
        session = sessionmaker()
        try:
            found = caches[i].metrics_many(
                session, settings, ("overall", "week"), filters=filters, now=NOW
            )
            return {k: r.groups for k, r in found.items()}
        finally:
            session.close()

    results = at_once(5, worker)
    assert all(r == results[0] for r in results)
    assert reads == [("overall", "week")]


def test_a_reader_of_one_report_waits_for_a_worker_computing_its_whole_view(
    app, settings, tmp_path, monkeypatch
):
    """The writer refreshing a dashboard's view (overall, week, vector) and a reader asking
    for the week alone, at once: the week is computed once, by whichever came first."""
    import time

    from catalog.incidents.service import IncidentFilters

    reads: list[tuple[str, ...]] = []
    real = cache_module.compute_metrics_many
    real_one = cache_module.compute_metrics

    def slow_many(session, settings, group_bys, **kwargs):  # type: ignore[no-untyped-def]
        reads.append(tuple(group_bys))
        time.sleep(0.3)  # the whole view takes a while: the reader arrives meanwhile
        return real(session, settings, group_bys, **kwargs)

    def slow_one(session, settings, **kwargs):  # type: ignore[no-untyped-def]
        reads.append((kwargs.get("group_by", "overall"),))
        return real_one(session, settings, **kwargs)

    monkeypatch.setattr(cache_module, "compute_metrics_many", slow_many)
    monkeypatch.setattr(cache_module, "compute_metrics", slow_one)
    sessionmaker = app.extensions["catalog.sessionmaker"]
    setup = sessionmaker()
    setup.info["actor_label"] = "test setup"
    make_incident(setup)
    setup.close()
    folder = tmp_path / "shared"
    filters = IncidentFilters(since=T0 - timedelta(days=30))
    view, reader = (MetricsCache(shared=SharedReports(folder)) for _ in range(2))

    def worker(i: int):  # type: ignore[no-untyped-def]
        session = sessionmaker()
        try:
            if i == 0:
                found = view.metrics_many(
                    session, settings, ("overall", "week", "vector"), filters=filters, now=NOW
                )
                return found["week"].groups
            time.sleep(0.1)  # the view's computation is under way
            return reader.metrics(
                session, settings, group_by="week", filters=filters, now=NOW
            ).groups
        finally:
            session.close()

    one, two = at_once(2, worker)
    assert one == two
    assert reads == [("overall", "week", "vector")]


# ---- kept values other than reports (catalog.reports.shared.shared_value) ----------


def _counting(calls: list[str], name: str, value):  # type: ignore[no-untyped-def]
    def compute():  # type: ignore[no-untyped-def]
        calls.append(name)
        return value

    return compute


def test_a_value_with_a_codec_is_computed_by_one_worker_for_all(app, session, tmp_path):
    from catalog.reports.views import STRINGS

    folder = tmp_path / "shared"
    workers = [MetricsCache(shared=SharedReports(folder)) for _ in range(3)]
    calls: list[str] = []
    with app.test_request_context():
        got = [
            w.value(session, "services", _counting(calls, "s", ["a", "b"]), codec=STRINGS, now=NOW)
            for w in workers
        ]
    assert got == [["a", "b"]] * 3 and calls == ["s"]
    make_incident(session)  # a write moves the versions: computed again, once
    with app.test_request_context():
        for w in workers:
            w.value(session, "services", _counting(calls, "s", ["c"]), codec=STRINGS, now=NOW)
    assert calls == ["s", "s"]


def test_workers_racing_for_a_value_compute_it_once(app, tmp_path):
    from catalog.reports.views import STRINGS

    sessionmaker = app.extensions["catalog.sessionmaker"]
    folder = tmp_path / "shared"
    caches = [MetricsCache(shared=SharedReports(folder)) for _ in range(6)]
    calls: list[str] = []
    lock = threading.Lock()

    def slow():  # type: ignore[no-untyped-def]
        with lock:
            calls.append("x")
        threading.Event().wait(0.2)  # long enough for every other worker to arrive
        return ["x"]

    def worker(i: int):  # type: ignore[no-untyped-def]
        session = sessionmaker()
        try:
            with app.test_request_context():
                return caches[i].value(session, "teams", slow, codec=STRINGS, now=NOW)
        finally:
            session.close()

    assert at_once(6, worker) == [["x"]] * 6
    assert calls == ["x"]


def test_a_value_past_its_clock_or_made_later_is_not_served(app, session, tmp_path):
    from catalog.reports.shared import KEPT_PAGE

    folder = tmp_path / "shared"
    first, second, third = (MetricsCache(shared=SharedReports(folder)) for _ in range(3))
    calls: list[str] = []
    until = NOW + timedelta(minutes=5)
    page = ("<table/>", until, True)
    kwargs = {"valid_until": lambda v: v[1], "codec": KEPT_PAGE}
    with app.test_request_context():
        first.value(session, "t", _counting(calls, "1", page), now=NOW, **kwargs)
        assert second.value(session, "t", _counting(calls, "2", page), now=until, **kwargs)
        assert third.value(
            session, "t", _counting(calls, "3", page), now=NOW - timedelta(seconds=1), **kwargs
        )
    assert calls == ["1", "2", "3"]  # at its end, and before it was made: computed again


def test_a_value_not_kept_is_not_shared_either(app, session, tmp_path):
    from catalog.reports.shared import KEPT_PAGE

    folder = tmp_path / "shared"
    first, second = (MetricsCache(shared=SharedReports(folder)) for _ in range(2))
    calls: list[str] = []
    page = ("x" * 10, None, False)
    with app.test_request_context():
        for n, w in enumerate((first, second)):
            w.value(session, "big", _counting(calls, str(n), page), lambda v: v[2], codec=KEPT_PAGE)
    assert calls == ["0", "1"] and not list(folder.glob("*.json"))


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        '{"version": VERSION, "report": {"value": ["a", 1], "made_at": "MADE", "valid_until": null}}',
        '{"version": VERSION, "report": {"value": "ab", "made_at": "MADE", "valid_until": null}}',
        '{"version": VERSION, "report": {"value": ["a"], "made_at": "yesterday", "valid_until": null}}',
        '{"version": VERSION, "report": {"value": ["a"], "made_at": "MADE", "valid_until": 5}}',
        '{"version": VERSION, "report": {"made_at": "MADE", "valid_until": null}}',
        '{"version": VERSION, "report": []}',
    ],
)
def test_a_damaged_value_file_is_never_served(app, session, tmp_path, content):
    from catalog.reports.views import STRINGS

    folder = tmp_path / "shared"
    first = MetricsCache(shared=SharedReports(folder))
    calls: list[str] = []
    with app.test_request_context():
        first.value(session, "s", _counting(calls, "1", ["ok"]), codec=STRINGS, now=NOW)
        (path,) = folder.glob("*.json")
        version = json.dumps(json.loads(path.read_text())["version"])
        path.write_text(
            content.replace("VERSION", version).replace("MADE", (NOW - timedelta(1)).isoformat())
        )
        second = MetricsCache(shared=first.shared)
        got = second.value(session, "s", _counting(calls, "2", ["ok"]), codec=STRINGS, now=NOW)
    assert got == ["ok"] and calls == ["1", "2"]


def test_two_workers_list_pages_agree_with_a_fresh_one_after_writes(app, client, session):
    """Through the app: the list page's table and the list API from the shared store are
    exactly what a worker computing on its own shows."""
    make_incident(session, title="First")
    other = MetricsCache(shared=app.extensions["catalog.metrics_cache"].shared)
    mine = app.extensions["catalog.metrics_cache"]
    for title in ("Second", "Third"):
        assert client.post("/api/v1/incidents", json=api_payload(title=title)).status_code == 201
        answers = []
        for cache in (mine, other, mine):
            app.extensions["catalog.metrics_cache"] = cache
            page = client.get("/incidents/?per_page=50").get_data(as_text=True)
            table = page[page.index("<table") : page.index("</table>")]  # not the CSRF token
            answers.append((table, client.get("/api/v1/incidents?per_page=50").get_json()))
        app.extensions["catalog.metrics_cache"] = mine
        assert answers[0] == answers[1] == answers[2]
        assert title in answers[1][0] and answers[1][1]["total"] in (2, 3)


def test_a_value_that_cannot_be_filed_is_computed_once_and_served(app, session, tmp_path):
    """A full or read-only folder loses the sharing, never the answer, and does not make
    the worker compute it twice."""
    from catalog.reports.views import STRINGS

    store = SharedReports(tmp_path / "shared")

    def refuse(*args):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")

    store.put = refuse  # type: ignore[method-assign]
    calls: list[str] = []
    with app.test_request_context():
        got = MetricsCache(shared=store).value(
            session, "s", _counting(calls, "1", ["ok"]), codec=STRINGS, now=NOW
        )
    assert got == ["ok"] and calls == ["1"]
