"""The metrics cache: never a stale number.

A cached report must change the moment the data changes (through the app, the
bulk loader or raw SQL behind the app's back) and the moment the clock makes an
open incident start breaching, with no write at all.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from factories import T0, api_payload, iso, make_incident
from sqlalchemy import text

from catalog.data_versions import read_versions
from catalog.reports.cache import MetricsCache
from catalog.reports.metrics import compute_metrics


def current_version(session):  # type: ignore[no-untyped-def]
    return read_versions(session).data


def overall(report):  # type: ignore[no-untyped-def]
    return report.groups[0]


def test_a_write_through_the_api_changes_the_cached_figures(client):
    before = client.get("/api/v1/metrics").get_json()["groups"][0]
    assert client.get("/api/v1/metrics").get_json()["groups"][0] == before  # served from cache
    assert client.post("/api/v1/incidents", json=api_payload()).status_code == 201
    after = client.get("/api/v1/metrics").get_json()["groups"][0]
    assert after["count"] == before["count"] + 1


def test_repeated_requests_are_hits_with_the_same_figures(app, session, settings):
    make_incident(session)
    cache = MetricsCache()
    now = T0 + timedelta(days=1)
    first = cache.metrics(session, settings, group_by="vector", now=now)
    second = cache.metrics(session, settings, group_by="vector", now=now + timedelta(seconds=5))
    assert (cache.misses, cache.hits) == (1, 1)
    assert second.groups == first.groups
    assert second.generated_at == now + timedelta(seconds=5)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE incidents SET recovered_at = NULL",
        "DELETE FROM incident_vectors",
        "UPDATE vectors SET mttr_target_minutes = 1",
        "DELETE FROM incidents",
    ],
)
def test_raw_sql_behind_the_apps_back_changes_the_cached_figures(session, settings, statement):
    """Triggers bump the version for any writer, not just the ORM."""
    make_incident(session)
    cache = MetricsCache()
    now = T0 + timedelta(days=1)
    version = current_version(session)
    before = cache.metrics(session, settings, group_by="vector", now=now)
    session.execute(text(statement))
    session.commit()
    assert current_version(session) > version
    after = cache.metrics(session, settings, group_by="vector", now=now)
    assert after.groups == compute_metrics(session, settings, group_by="vector", now=now).groups
    assert after.groups != before.groups
    assert cache.misses == 2


def test_a_rolled_back_write_leaves_the_version_alone(session):
    make_incident(session)
    version = current_version(session)
    session.execute(text("DELETE FROM incidents"))
    session.rollback()
    assert current_version(session) == version


def test_the_clock_alone_makes_an_open_incident_breach(session, settings):
    """Detected at T0+4m, open, ttr target 15 min: breaching from T0+19m, with no write."""
    make_incident(session, recovered_at=None)
    cache = MetricsCache()
    early = cache.metrics(session, settings, now=T0 + timedelta(minutes=10))
    assert (overall(early).open, overall(early).breaching) == (1, 0)
    assert early.valid_until == T0 + timedelta(minutes=19)
    at_target = cache.metrics(session, settings, now=T0 + timedelta(minutes=18, seconds=59))
    assert overall(at_target).breaching == 0 and cache.hits == 1
    late = cache.metrics(session, settings, now=T0 + timedelta(minutes=19, seconds=1))
    assert overall(late).breaching == 1 and cache.misses == 2


def test_a_report_from_the_future_is_not_served_for_the_past(session, settings):
    make_incident(session, recovered_at=None)
    cache = MetricsCache()
    cache.metrics(session, settings, now=T0 + timedelta(hours=1))
    past = cache.metrics(session, settings, now=T0 + timedelta(minutes=10))
    assert overall(past).breaching == 0 and cache.misses == 2


def test_size_zero_turns_the_cache_off(session, settings):
    cache = MetricsCache(size=0)
    cache.metrics(session, settings)
    cache.metrics(session, settings)
    assert (cache.hits, cache.misses) == (0, 0)


def test_the_least_recently_used_report_is_dropped(session, settings):
    cache = MetricsCache(size=2)
    for group_by in ("overall", "vector", "severity", "overall"):
        cache.metrics(session, settings, group_by=group_by)
    assert (cache.hits, cache.misses) == (0, 4)


def test_bulk_demo_rows_change_the_version(session):
    from catalog.demo import load_demo_bulk

    version = current_version(session)
    load_demo_bulk(session, count=50, seed=3)
    assert current_version(session) > version


@pytest.mark.parametrize(
    "table, column", [("incidents", "team"), ("incident_vectors", "vector_id"), ("vectors", "name")]
)
def test_every_table_the_metrics_read_bumps_the_version(session, table, column):
    from catalog.reports.cache import VERSIONED_TABLES

    assert table in VERSIONED_TABLES
    make_incident(session)
    version = current_version(session)
    session.execute(text(f"UPDATE {table} SET {column} = {column}"))  # a no-op, still a write
    session.commit()
    assert current_version(session) > version


# ---- incident list pages kept under the same data version ------------------------------


def _listed(client, query="per_page=50"):  # type: ignore[no-untyped-def]
    body = client.get(f"/api/v1/incidents?{query}").get_json()
    return body["total"], {i["id"]: i for i in body["items"]}


def test_a_kept_list_page_follows_every_write(client, session):
    first = make_incident(session, title="Before")
    total, items = _listed(client)
    assert (total, items[first.id]["title"]) == (1, "Before")
    assert _listed(client) == (total, items)  # served from the cache
    assert client.post("/api/v1/incidents", json=api_payload(title="Second")).status_code == 201
    session.execute(text("UPDATE incidents SET title = 'Renamed behind its back'"))
    session.commit()
    total, items = _listed(client)
    assert total == 2 and {i["title"] for i in items.values()} == {"Renamed behind its back"}


def test_a_kept_list_page_shows_a_new_post_mortem_at_once(client, session):
    """Post-mortems have a version of their own, which a kept page is filed under too."""
    incident = make_incident(session)
    _, before = _listed(client)
    assert before[incident.id]["has_postmortem"] is False
    put = client.put(
        f"/api/v1/incidents/{incident.id}/postmortem",
        json={"status": "draft", "root_cause_at": iso(T0 + timedelta(hours=1))},
    )
    assert put.status_code == 201
    _, after = _listed(client)
    assert after[incident.id]["has_postmortem"] is True
    assert after[incident.id]["root_cause_flag"] == "on_time"


def test_a_page_of_long_summaries_is_not_kept(app, client, session):
    from catalog.reports.cache import metrics_cache

    for n in range(3):
        make_incident(session, title=f"Long {n}", summary="x" * 99_000)
    with app.app_context():
        cache = metrics_cache()
        kept = len(cache._values)
        assert _listed(client)[0] == 3
        assert len(cache._values) == kept  # 297,000 characters: computed, not kept
        assert _listed(client, "per_page=2&page=2")[0] == 3


def test_a_kept_list_page_answers_exactly_what_each_incident_answers(client, session):
    """The fields a list keeps and the ones it reads live make the same object as a GET."""
    open_one = make_incident(session, title="Open", recovered_at=None)
    done = make_incident(session, title="Recovered")
    client.put(
        f"/api/v1/incidents/{done.id}/postmortem",
        json={"status": "draft", "root_cause_at": iso(T0 + timedelta(days=3))},
    )
    for _ in range(2):  # computed, then kept
        _, items = _listed(client)
        for incident_id in (open_one.id, done.id):
            single = client.get(f"/api/v1/incidents/{incident_id}").get_json()
            assert items[incident_id] == single
    assert items[open_one.id]["breaching"] is True
    assert items[done.id]["root_cause_flag"] == "late"


def test_a_kept_list_answer_follows_the_clock(client, session, monkeypatch):
    """Open 14 minutes of a 15-minute target: not breaching now, breaching two minutes on,
    with no write in between; the root cause turns overdue at 48 hours the same way."""
    import catalog.api.incidents as api

    now = datetime.now(UTC).replace(microsecond=0)
    incident = make_incident(
        session,
        started_at=now - timedelta(minutes=14),
        detected_at=now - timedelta(minutes=14),
        recovered_at=None,
    )
    monkeypatch.setattr(api, "utcnow", lambda: now)
    assert _listed(client)[1][incident.id]["breaching"] is False
    assert _listed(client)[1][incident.id]["breaching"] is False  # kept
    monkeypatch.setattr(api, "utcnow", lambda: now + timedelta(minutes=1))  # at target: kept
    assert _listed(client)[1][incident.id]["breaching"] is False
    monkeypatch.setattr(api, "utcnow", lambda: now + timedelta(minutes=1, seconds=1))
    assert _listed(client)[1][incident.id]["breaching"] is True
    monkeypatch.setattr(api, "utcnow", lambda: now + timedelta(hours=47, minutes=45))
    assert _listed(client)[1][incident.id]["root_cause_flag"] == "pending"
    monkeypatch.setattr(api, "utcnow", lambda: now + timedelta(hours=47, minutes=47))
    assert _listed(client)[1][incident.id]["root_cause_flag"] == "overdue"


@pytest.mark.parametrize("path", ["/", "/reports/"])
def test_with_the_cache_off_a_page_computes_each_report_once(app_config, path, monkeypatch):
    """CATALOG_METRICS_CACHE_SIZE=0 keeps nothing between requests, but a page that decides
    its period from the weekly report and then shows it computes that report once."""
    from helpers.accounts import signed_in_client

    from catalog import create_app
    from catalog.reports import cache as cache_module

    app = create_app({**app_config, "METRICS_CACHE_SIZE": 0})
    session = app.extensions["catalog.sessionmaker"]()
    session.info["actor_label"] = "test setup"
    from catalog.demo import load_demo_bulk

    load_demo_bulk(session, count=600, seed=3, days=90)  # weeks of ~45: the auto period is weeks
    session.commit()
    session.close()
    asked: list[tuple[str, object]] = []
    real = cache_module.compute_metrics_many

    def counting(session, settings, group_bys, **kwargs):  # type: ignore[no-untyped-def]
        asked.extend((group_by, kwargs.get("filters")) for group_by in group_bys)
        return real(session, settings, group_bys, **kwargs)

    from catalog.reports import metrics as metrics_module

    monkeypatch.setattr(cache_module, "compute_metrics_many", counting)
    monkeypatch.setattr(metrics_module, "compute_metrics_many", counting)  # compute_metrics' own
    client = signed_in_client(app, "viewer")
    for _ in range(2):
        asked.clear()
        assert client.get(path).status_code == 200
        weeks = [filters for group_by, filters in asked if group_by == "week"]
        assert len(weeks) == 1 and len(set(asked)) == len(asked), asked  # each report once
    app.extensions["catalog.engine"].dispose()
