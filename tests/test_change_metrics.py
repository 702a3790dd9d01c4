"""Change metrics (issue 14, part 4), computed by hand on a small fixture.

March 2026 (31 days, UTC):

| release | service | deployed | outcome | caused |
|---|---|---|---|---|
| A | chat-api | 03-02 | promoted | — |
| B | chat-api | 03-09 | rolled back in 180 s | — |
| C | chat-api | 03-16 | promoted | I1: TTR 30 min |
| D | search | 03-20 | rolled back in 300 s | I2: TTR 10 min |
| E | search | 02-20 (the month before) | promoted | I3 (started 03-01): TTR 20 min |

By hand: chat-api deploys 3, fails 2 (B rolled back, C caused I1): 2/3; restore 1800 s; rollback
180 s. search deploys 1, fails 1: 100 %; restore I2 and I3 (incidents count where they
started): median 900 s, p90 600 + 0.9 × 600 = 1140 s; rollback 300 s. All: 4 deploys, 3 failed
(75 %), restore [600, 1200, 1800]: median 1200, p90 1200 + 0.8 × 600 = 1680; rollback median
240; 4 × 7 / 31 a week. The range before (Jan 29 – Feb 28): E alone, failed (I3 names it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from factories import make_incident, make_release
from helpers.api import assert_fields

MARCH = "since=2026-03-01&until=2026-03-31"


def _at(day: int, hour: int = 10, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def shipped(session):  # type: ignore[no-untyped-def]
    def release(tag: str, service: str, team: str, deployed: datetime, rollback: int | None = None):  # type: ignore[no-untyped-def]
        extra = {}
        if rollback is not None:
            start = deployed + timedelta(minutes=20)
            extra = {
                "outcome": "rolled_back",
                "rollback_started_at": start,
                "rolled_back_at": start + timedelta(seconds=rollback),
            }
        else:
            extra = {"outcome": "promoted"}
        return make_release(
            session, tag=tag, service=service, team=team, deployed_at=deployed, **extra
        )

    release("A", "chat-api", "assistant", _at(2))
    release("B", "chat-api", "assistant", _at(9), rollback=180)
    c = release("C", "chat-api", "assistant", _at(16))
    d = release("D", "search", "search", _at(20), rollback=300)
    e = release("E", "search", "search", _at(20, month=2))

    def incident(release, service: str, team: str, started: datetime, ttr_minutes: int) -> None:  # type: ignore[no-untyped-def]
        detected = started + timedelta(minutes=5)
        make_incident(
            session,
            service=service,
            team=team,
            started_at=started,
            detected_at=detected,
            recovered_at=detected + timedelta(minutes=ttr_minutes),
            release=release.id,
        )

    incident(c, "chat-api", "assistant", _at(16, 11), 30)
    incident(d, "search", "search", _at(20, 10, 2), 10)
    incident(e, "search", "search", _at(1, 9), 20)
    make_incident(session, started_at=_at(5), detected_at=_at(5, 10, 3), recovered_at=_at(5, 11))


def test_change_metrics_by_service_are_the_hand_computed_figures(client, shipped):
    body = client.get(f"/api/v1/metrics/changes?group_by=service&{MARCH}").get_json()
    groups = {g["key"]: g for g in body["groups"]}
    assert set(groups) == {"chat-api", "search"}
    chat, search = groups["chat-api"], groups["search"]
    assert (chat["deployments"], chat["failed_changes"], chat["rolled_back"]) == (3, 2, 1)
    assert chat["change_failure_rate"] == pytest.approx(2 / 3)
    assert chat["time_to_restore"] == {"median": 1800, "p90": 1800, "samples": 1}
    assert chat["rollback_seconds_median"] == 180
    assert (search["deployments"], search["failed_changes"]) == (1, 1)
    assert search["change_failure_rate"] == 1
    assert search["time_to_restore"] == {"median": 900, "p90": pytest.approx(1140), "samples": 2}
    assert search["rollback_seconds_median"] == 300

    overall = body["overall"]
    assert (overall["deployments"], overall["failed_changes"]) == (4, 3)
    assert overall["change_failure_rate"] == 0.75
    assert overall["deployments_per_week"] == pytest.approx(4 * 7 / 31)
    assert overall["time_to_restore"] == {"median": 1200, "p90": pytest.approx(1680), "samples": 3}
    assert overall["rollback_seconds_median"] == 240

    previous = body["previous"]
    assert (previous["deployments"], previous["failed_changes"]) == (1, 1)
    assert previous["time_to_restore"]["samples"] == 0
    assert body["definition"]["since"] == "2026-03-01"


def test_change_metrics_by_team_and_by_week(client, shipped):
    teams = client.get(f"/api/v1/metrics/changes?group_by=team&{MARCH}").get_json()["groups"]
    assert {g["key"]: g["deployments"] for g in teams} == {"assistant": 3, "search": 1}
    weeks = client.get(f"/api/v1/metrics/changes?group_by=week&{MARCH}").get_json()["groups"]
    # Mondays from the week holding March 1 (a Sunday) to the week holding March 31
    assert [w["key"] for w in weeks][:3] == ["2026-02-23", "2026-03-02", "2026-03-09"]
    assert sum(w["deployments"] for w in weeks) == 4
    first = weeks[0]  # only March 1 of it is in the range: a one-day week
    assert first["deployments"] == 0 and first["time_to_restore"]["samples"] == 1
    assert first["deployments_per_week"] == 0
    assert weeks[1]["deployments_per_week"] == 1  # one deployment in a whole week


def test_service_filter_and_bad_parameters(client, shipped):
    only = client.get(f"/api/v1/metrics/changes?{MARCH}&service=search").get_json()
    assert only["overall"]["deployments"] == 1
    assert_fields(client.get("/api/v1/metrics/changes?group_by=vector"), "group_by")
    assert_fields(client.get("/api/v1/metrics/changes?since=yesterday"), "since")
    assert_fields(client.get("/api/v1/metrics/changes?range=forever"), "range")


def test_the_reports_page_shows_them_with_drill_down_and_csv(client, shipped):
    page = client.get(f"/reports/?{MARCH}").get_data(as_text=True)
    assert "Changes by service" in page and "75 % (3)" in page
    assert "/releases/?since=2026-03-01&amp;until=2026-03-31&amp;service=chat-api" in page
    assert "caused_by=release" in page
    listed = client.get("/releases/?since=2026-03-01&until=2026-03-31&service=chat-api").get_data(
        as_text=True
    )
    assert "3 releases" in listed
    caused = client.get(
        "/incidents/?since=2026-03-01&until=2026-03-31&service=search&caused_by=release"
    ).get_data(as_text=True)
    assert '<span data-testid="list-total">2</span>' in caused
    rows = client.get(f"/reports/releases.csv?{MARCH}&by=team").get_data(as_text=True).splitlines()
    assert rows[0].startswith("team,deployments,deployments_per_week,failed_changes")
    assert rows[1].startswith("assistant,3,") and ",0.6667," in rows[1]
    assert client.get("/incidents/?caused_by=vector").status_code == 400
    assert client.get("/releases/?since=soon").status_code == 400
