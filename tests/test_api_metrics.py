"""The JSON API contract of SPEC §4 for metrics: the groups, their figures and filters.

/api/v1/metrics answers its definition and one group per key (overall, vector, severity,
service, team, week or month), each with a count, the open incidents and TTD and TTR
statistics (mean, median, p90, max, target, attainment, breaches) that match a hand
computation; filters narrow every group, and an unknown grouping or bad filter is a 422.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from helpers.api import DAY1, DAY2, assert_fields, incident_at

from tests.factories import T0, iso

STAT_KEYS = {"mean", "median", "p90", "max", "target", "attainment", "breaches"}


@pytest.mark.parametrize("group_by", ["bogus", "VECTOR", "weekly", "vector,team", "a" * 5000])
def test_metrics_group_by_must_be_known(client, group_by):
    fields = assert_fields(
        client.get("/api/v1/metrics", query_string={"group_by": group_by}), "group_by"
    )
    assert "overall, vector, severity, service, team, week, month" in fields["group_by"][0]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"severity": "SEV0"}, "severity"),
        ({"since": "2026-03-02T00:00:00"}, "since"),
        ({"until": "soon"}, "until"),
        ({"since": DAY2, "until": DAY1}, "until"),
    ],
)
def test_metrics_filters_are_validated(client, query, field):
    assert_fields(client.get("/api/v1/metrics", query_string=query), field)


@pytest.fixture
def measured(session):
    """Four latency incidents: ttd 60/120/240/600 s; ttr 300/600/1800 s and one open."""
    for hours, ttd, ttr, severity in (
        (0, 1, 5, "SEV1"),
        (1, 2, 10, "SEV2"),
        (2, 4, None, "SEV2"),
        (24 * 35, 10, 30, "SEV3"),
    ):
        incident_at(
            session,
            hours,
            vectors=["dependency-latency"],
            severity=severity,
            started_at=0,
            detected_at=ttd,
            recovered_at=None if ttr is None else ttd + ttr,
        )


def test_metrics_shape_and_numbers(client, measured):
    body = client.get("/api/v1/metrics").get_json()
    assert set(body) == {"definition", "groups"}
    assert body["definition"]["mttr_from"] == "detected"
    assert body["definition"]["group_by"] == "overall"
    (group,) = body["groups"]
    assert group["key"] == "overall"
    assert group["count"] == 4 and group["open"] == 1
    ttd, ttr = group["ttd"], group["ttr"]
    assert STAT_KEYS <= set(ttd) and STAT_KEYS <= set(ttr)
    assert ttd == {
        **ttd,
        "mean": pytest.approx(255),
        "median": pytest.approx(180),
        "p90": pytest.approx(492),
        "max": 600,
        "target": 300,
        "attainment": pytest.approx(0.75),
        "breaches": 1,
    }
    assert ttr == {
        **ttr,
        "mean": pytest.approx(900),
        "median": pytest.approx(600),
        "p90": pytest.approx(1560),
        "max": 1800,
        "target": 900,
        "attainment": pytest.approx(2 / 3),
        "breaches": 1,
    }


@pytest.mark.parametrize(
    "group_by", ["overall", "vector", "severity", "service", "team", "week", "month"]
)
def test_every_group_by_answers_the_same_shape(client, measured, group_by):
    response = client.get("/api/v1/metrics", query_string={"group_by": group_by})
    assert response.status_code == 200
    body = response.get_json()
    assert body["definition"]["group_by"] == group_by
    assert body["groups"]
    for group in body["groups"]:
        assert {"key", "count", "open", "ttd", "ttr"} <= set(group)
        assert STAT_KEYS <= set(group["ttd"]) and STAT_KEYS <= set(group["ttr"])
        for part in ("ttd", "ttr"):
            attainment = group[part]["attainment"]
            assert attainment is None or 0 <= attainment <= 1
    assert sum(g["count"] for g in body["groups"]) >= 4


def test_metrics_keys(client, measured, session):
    incident_at(session, 3, vectors=["data-drift", "dependency-latency"], severity="SEV4")

    def groups(**query: Any) -> dict[str, dict[str, Any]]:
        body = client.get("/api/v1/metrics", query_string=query).get_json()
        return {g["key"]: g for g in body["groups"]}

    by_vector = groups(group_by="vector")
    assert set(by_vector) == {
        "data-drift",
        "token-limit-overflow",
        "hardware-throttling",
        "dependency-latency",
        "model-poisoning",
    }
    assert by_vector["dependency-latency"]["count"] == 5
    assert by_vector["data-drift"]["count"] == 1
    assert by_vector["model-poisoning"]["count"] == 0
    assert by_vector["dependency-latency"]["ttr"]["target"] == 900
    assert groups()["overall"]["count"] == 5  # the two-vector incident counts once overall

    assert list(groups(group_by="severity")) == ["SEV1", "SEV2", "SEV3", "SEV4"]
    assert groups(group_by="severity")["SEV2"]["count"] == 2
    assert list(groups(group_by="service")) == ["rag-search"]
    assert list(groups(group_by="team")) == ["search"]

    weeks = groups(group_by="week")
    assert "2026-03-02" in weeks and weeks["2026-03-02"]["count"] == 4
    for key in weeks:
        assert date.fromisoformat(key).weekday() == 0
    assert sum(g["count"] for g in weeks.values()) == 5
    months = groups(group_by="month")
    assert list(months) == ["2026-03-01", "2026-04-01"]
    assert [m["count"] for m in months.values()] == [4, 1]


def test_metrics_filters(client, measured):
    def overall(**query: Any) -> dict[str, Any]:
        return client.get("/api/v1/metrics", query_string=query).get_json()["groups"][0]

    assert overall(severity="SEV2")["count"] == 2
    assert overall(vector="data-drift")["count"] == 0
    assert overall(since=iso(T0 + timedelta(hours=1)))["count"] == 3
    assert overall(until=iso(T0 + timedelta(hours=1)))["count"] == 1
    assert overall(since=iso(T0), until=iso(T0 + timedelta(days=30)), severity="SEV2")["open"] == 1
    by_vector = client.get(
        "/api/v1/metrics", query_string={"group_by": "vector", "vector": "dependency-latency"}
    ).get_json()["groups"]
    assert [g["key"] for g in by_vector] == ["dependency-latency"]


def test_metrics_of_an_empty_catalog(client):
    (group,) = client.get("/api/v1/metrics").get_json()["groups"]
    assert group["count"] == 0 and group["open"] == 0
    assert group["ttd"]["mean"] is None and group["ttd"]["attainment"] is None
    assert group["ttd"]["breaches"] == 0 and group["ttd"]["target"] == 300
