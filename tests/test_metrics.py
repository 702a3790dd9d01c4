"""The MTTD/MTTR numbers of SPEC §3, checked against arithmetic done by hand.

Every expected value below is worked out in a comment next to it; nothing is
recomputed with the code under test. Durations are in seconds. Default targets
(Settings and the five seeded vectors): ttd 5 min = 300 s, ttr 15 min = 900 s.
"""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from factories import T0, make_incident
from sqlalchemy import select

from catalog.errors import ValidationError
from catalog.incidents.service import IncidentFilters
from catalog.postmortems.service import (
    incident_root_cause_flag,
    root_cause_flag,
    root_cause_seconds,
    save_postmortem,
)
from catalog.reports.metrics import (
    DurationStats,
    compute_metrics,
    impact_seconds,
    incident_breaching,
    incident_durations,
    p90_of,
    period_start,
    ttd_seconds,
    ttr_seconds,
)
from catalog.settings import Settings
from catalog.timefmt import human_duration
from catalog.vectors.models import Vector

DEFAULT = Settings()  # rca 48 h, ttr from detected, targets 5 / 15 min, UTC
SEEDED_SLUGS = [  # ordered by vector name, as the vector grouping lists them
    "data-drift",  # Data drift
    "dependency-latency",  # Dependency latency
    "hardware-throttling",  # Hardware throttling
    "model-poisoning",  # Model poisoning
    "token-limit-overflow",  # Token-limit overflow
]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def incident(session, start: datetime, ttd: float, ttr: float | None = None, **overrides):  # type: ignore[no-untyped-def]
    """An incident started at `start`, detected `ttd` s later, recovered `ttr` s after that."""
    detected = start + timedelta(seconds=ttd)
    recovered = None if ttr is None else detected + timedelta(seconds=ttr)
    return make_incident(
        session, started_at=start, detected_at=detected, recovered_at=recovered, **overrides
    )


def group(report, key: str):  # type: ignore[no-untyped-def]
    matches = [g for g in report.groups if g.key == key]
    assert len(matches) == 1, [g.key for g in report.groups]
    return matches[0]


def keys(report) -> list[str]:  # type: ignore[no-untyped-def]
    return [g.key for g in report.groups]


def counts(report) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {g.key: g.count for g in report.groups}


def set_targets(session, slug: str, mttd: int, mttr: int) -> None:  # type: ignore[no-untyped-def]
    vector = session.scalars(select(Vector).where(Vector.slug == slug)).one()
    vector.mttd_target_minutes = mttd
    vector.mttr_target_minutes = mttr
    session.commit()


# ---- per incident -------------------------------------------------------------


def test_per_incident_functions_by_hand():
    started = utc(2026, 3, 2, 12, 0)
    detected = utc(2026, 3, 2, 12, 4, 10)  # 4 min 10 s later = 250 s
    recovered = utc(2026, 3, 2, 14, 9, 10)  # 2 h 05 min after detection = 7500 s
    assert ttd_seconds(started, detected) == 250
    assert ttr_seconds(started, detected, recovered, mttr_from="detected") == 7500
    # from the start: 250 + 7500 = 7750
    assert ttr_seconds(started, detected, recovered, mttr_from="started") == 7750
    assert ttr_seconds(started, detected, None, mttr_from="detected") is None
    assert ttr_seconds(started, detected, None, mttr_from="started") is None
    assert impact_seconds(started, recovered) == 7750
    assert impact_seconds(started, None) is None


def test_incident_durations_of_a_stored_incident(session):
    # ttd 250 s, ttr 7500 s; impact 7750 s; seeded dependency-latency targets 300 / 900
    inc = incident(session, T0, 250, 7500)
    d = incident_durations(inc, DEFAULT, now=T0 + timedelta(days=30))
    assert (d.ttd, d.ttr, d.impact) == (250, 7500, 7750)
    assert (d.ttd_target, d.ttr_target) == (300, 900)
    assert d.ttd_met is True  # 250 <= 300
    assert d.ttr_met is False  # 7500 > 900
    assert d.breaching is False  # recovered incidents never breach
    assert d.open_elapsed is None


def test_incident_exactly_at_target_is_attained(session):
    at_target = incident(session, T0, 300, 900)  # exactly 5 min and 15 min
    over = incident(session, T0 + timedelta(hours=1), 301, 901)  # one second over each
    now = T0 + timedelta(days=1)
    d = incident_durations(at_target, DEFAULT, now=now)
    assert d.ttd_met is True and d.ttr_met is True
    d = incident_durations(over, DEFAULT, now=now)
    assert d.ttd_met is False and d.ttr_met is False

    overall = group(compute_metrics(session, DEFAULT, now=now), "overall")
    # ttd [300, 301]: 1 of 2 at or under 300 -> attainment 0.5, 1 breach
    assert overall.ttd.attainment == pytest.approx(0.5)
    assert overall.ttd.breaches == 1
    # ttr [900, 901]: 1 of 2 at or under 900
    assert overall.ttr.attainment == pytest.approx(0.5)
    assert overall.ttr.breaches == 1


def test_strictest_vector_target_for_one_incident(session):
    set_targets(session, "data-drift", mttd=10, mttr=60)
    set_targets(session, "dependency-latency", mttd=3, mttr=120)
    inc = incident(session, T0, 60, 600, vectors=["data-drift", "dependency-latency"])
    d = incident_durations(inc, DEFAULT, now=T0 + timedelta(days=1))
    assert d.ttd_target == 180  # min(10, 3) min = 3 min
    assert d.ttr_target == 3600  # min(60, 120) min = 60 min


# ---- overall statistics -------------------------------------------------------


def test_overall_statistics_by_hand(session):
    incident(session, T0, 60, 300)  # A
    incident(session, T0 + timedelta(hours=1), 240, 900)  # B: ttr exactly at target
    incident(session, T0 + timedelta(hours=2), 600, 3600)  # C
    d = incident(session, T0 + timedelta(hours=3), 120)  # D: open
    now = d.detected_at + timedelta(days=1)  # D open for a day: past 900 s

    report = compute_metrics(session, DEFAULT, group_by="overall", now=now)
    assert keys(report) == ["overall"]
    g = report.groups[0]
    assert (g.count, g.open, g.breaching) == (4, 1, 1)

    # ttd of all four, open D included: [60, 120, 240, 600]
    assert g.ttd.mean == pytest.approx(255)  # (60 + 120 + 240 + 600) / 4 = 1020 / 4
    assert g.ttd.median == pytest.approx(180)  # (120 + 240) / 2
    # p90: rank (4 - 1) * 0.9 = 2.7 -> 240 + 0.7 * (600 - 240) = 240 + 252
    assert g.ttd.p90 == pytest.approx(492)
    assert g.ttd.max == pytest.approx(600)
    assert g.ttd.target == 300
    assert g.ttd.attainment == pytest.approx(0.75)  # 60, 120, 240 <= 300: 3 / 4
    assert g.ttd.breaches == 1  # 600

    # ttr only of the recovered three: [300, 900, 3600]
    assert g.ttr.mean == pytest.approx(1600)  # 4800 / 3
    assert g.ttr.median == pytest.approx(900)
    # p90: rank (3 - 1) * 0.9 = 1.8 -> 900 + 0.8 * (3600 - 900) = 900 + 2160
    assert g.ttr.p90 == pytest.approx(3060)
    assert g.ttr.max == pytest.approx(3600)
    assert g.ttr.target == 900
    assert g.ttr.attainment == pytest.approx(2 / 3)  # 300 and 900 (at target) <= 900
    assert g.ttr.breaches == 1  # 3600

    as_dict = g.to_dict()
    assert as_dict["ttr"] == {
        "mean": pytest.approx(1600),
        "median": pytest.approx(900),
        "p90": pytest.approx(3060),
        "max": pytest.approx(3600),
        "target": 900,
        "attainment": pytest.approx(2 / 3),
        "breaches": 1,
    }


def test_open_incident_breaching_boundary(session):
    inc = incident(session, T0, 120)  # open; detected at T0 + 120 s
    detected = inc.detected_at

    at_target = detected + timedelta(seconds=900)  # now - detected == 900: not past it
    g = group(compute_metrics(session, DEFAULT, now=at_target), "overall")
    assert (g.count, g.open, g.breaching) == (1, 1, 0)
    assert g.ttr.mean is None and g.ttr.attainment is None  # an open incident has no ttr
    assert g.ttd.mean == pytest.approx(120)  # but its ttd counts
    assert incident_breaching(inc, DEFAULT, now=at_target) is False
    assert incident_durations(inc, DEFAULT, now=at_target).open_elapsed == 900

    past = detected + timedelta(seconds=901)
    g = group(compute_metrics(session, DEFAULT, now=past), "overall")
    assert (g.open, g.breaching) == (1, 1)
    assert incident_breaching(inc, DEFAULT, now=past) is True


def test_mttr_from_started(session):
    from_started = Settings(mttr_from="started")
    incident(session, T0, 60, 300)  # ttr from start: 60 + 300 = 360
    incident(session, T0 + timedelta(hours=1), 240, 900)  # 240 + 900 = 1140
    incident(session, T0 + timedelta(hours=2), 600, 3600)  # 600 + 3600 = 4200
    d = incident(session, T0 + timedelta(hours=3), 120)  # open, ttd 120
    # 850 s after detection = 970 s after the start: breaching only on the started clock
    now = d.detected_at + timedelta(seconds=850)

    g = group(compute_metrics(session, from_started, now=now), "overall")
    assert (g.count, g.open, g.breaching) == (4, 1, 1)
    assert g.ttr.mean == pytest.approx(1900)  # (360 + 1140 + 4200) / 3 = 5700 / 3
    assert g.ttr.median == pytest.approx(1140)
    # p90: rank 1.8 -> 1140 + 0.8 * (4200 - 1140) = 1140 + 2448
    assert g.ttr.p90 == pytest.approx(3588)
    assert g.ttr.max == pytest.approx(4200)
    assert g.ttr.attainment == pytest.approx(1 / 3)  # only 360 <= 900
    assert g.ttr.breaches == 2
    assert g.ttd.mean == pytest.approx(255)  # ttd does not depend on the setting

    g = group(compute_metrics(session, DEFAULT, now=now), "overall")
    assert g.breaching == 0  # 850 <= 900 on the detected clock
    assert g.ttr.mean == pytest.approx(1600)  # (300 + 900 + 3600) / 3

    assert incident_breaching(d, from_started, now=now) is True
    assert incident_breaching(d, DEFAULT, now=now) is False
    assert incident_durations(d, from_started, now=now).open_elapsed == 970
    report = compute_metrics(session, from_started, now=now)
    assert report.definition()["ttr"] == "recovered_at - started_at"
    assert report.definition()["mttr_from"] == "started"


def test_single_incident_median_p90_mean_max_agree(session):
    incident(session, T0, 75, 1234)
    g = group(compute_metrics(session, DEFAULT, now=T0 + timedelta(days=1)), "overall")
    assert g.ttd.mean == g.ttd.median == g.ttd.p90 == g.ttd.max == pytest.approx(75)
    assert g.ttr.mean == g.ttr.median == g.ttr.p90 == g.ttr.max == pytest.approx(1234)
    assert (g.ttd.attainment, g.ttd.breaches) == (1.0, 0)  # 75 <= 300
    assert (g.ttr.attainment, g.ttr.breaches) == (0.0, 1)  # 1234 > 900


@pytest.mark.parametrize(
    ("values", "p90_by_hand"),
    [
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 9.1),  # rank 9 * 0.9 = 8.1 -> 9 + 0.1 * 1
        ([0, 100], 90),  # rank 0.9 -> 0 + 0.9 * 100
        ([10, 20, 30], 28),  # rank 1.8 -> 20 + 0.8 * 10
        ([3, 1, 2], 2.8),  # unsorted input; sorted [1, 2, 3], rank 1.8 -> 2 + 0.8
        ([5, 5, 5, 5], 5),  # ties
        ([1, 2, 3, 4, 1000], 601.6),  # rank 3.6 -> 4 + 0.6 * 996
        # skewed durations: rank 7 * 0.9 = 6.3 -> 3600 + 0.3 * (86400 - 3600) = 3600 + 24840
        ([60, 120, 120, 180, 240, 600, 3600, 86400], 28440),
        ([0.5, 1.5], 1.4),  # rank 0.9 -> 0.5 + 0.9 * 1
    ],
)
def test_p90_is_linear_interpolation_inclusive(values, p90_by_hand):
    stats = DurationStats.of(values, 0)
    assert stats.p90 == pytest.approx(p90_by_hand)
    assert stats.p90 == pytest.approx(statistics.quantiles(values, n=10, method="inclusive")[8])
    assert p90_of(sorted(values)) == pytest.approx(p90_by_hand)
    assert stats.median == pytest.approx(statistics.median(values))
    assert stats.mean == pytest.approx(statistics.fmean(values))
    assert stats.max == max(values)


def test_p90_of_one_value_is_that_value():
    assert p90_of([42.0]) == 42.0
    assert DurationStats.of([], 300) == DurationStats(None, None, None, None, 300, None, 0, 0)


# ---- vectors -------------------------------------------------------------------


def test_incident_with_two_vectors_counts_once_in_each_and_once_overall(session):
    # E on two vectors: ttd 60, ttr 600; F on one: ttd 180, ttr 1200
    incident(session, T0, 60, 600, vectors=["data-drift", "dependency-latency"])
    incident(session, T0 + timedelta(hours=1), 180, 1200, vectors=["dependency-latency"])
    now = T0 + timedelta(days=1)

    by_vector = compute_metrics(session, DEFAULT, group_by="vector", now=now)
    assert keys(by_vector) == SEEDED_SLUGS
    assert counts(by_vector) == {
        "data-drift": 1,
        "dependency-latency": 2,
        "hardware-throttling": 0,
        "model-poisoning": 0,
        "token-limit-overflow": 0,
    }
    drift = group(by_vector, "data-drift")
    assert drift.label == "Data drift"
    assert (drift.ttd.mean, drift.ttr.mean) == (pytest.approx(60), pytest.approx(600))
    latency = group(by_vector, "dependency-latency")
    assert latency.ttd.mean == pytest.approx(120)  # (60 + 180) / 2
    assert latency.ttd.median == pytest.approx(120)
    assert latency.ttd.p90 == pytest.approx(168)  # rank 0.9 -> 60 + 0.9 * 120
    assert latency.ttd.max == pytest.approx(180)
    assert latency.ttr.mean == pytest.approx(900)  # (600 + 1200) / 2
    assert latency.ttr.p90 == pytest.approx(1140)  # 600 + 0.9 * 600
    assert latency.ttr.attainment == pytest.approx(0.5)  # 600 <= 900 < 1200
    assert latency.ttr.breaches == 1

    overall = group(compute_metrics(session, DEFAULT, now=now), "overall")
    assert overall.count == 2  # not 3
    assert overall.ttd.mean == pytest.approx(120)


def test_vector_without_incidents_is_an_empty_group(session):
    incident(session, T0, 60, 600, vectors=["data-drift"])
    report = compute_metrics(session, DEFAULT, group_by="vector", now=T0 + timedelta(days=1))
    empty = group(report, "hardware-throttling")
    assert (empty.count, empty.open, empty.breaching) == (0, 0, 0)
    for stats, target in ((empty.ttd, 300), (empty.ttr, 900)):
        assert (stats.mean, stats.median, stats.p90, stats.max) == (None, None, None, None)
        assert stats.attainment is None
        assert stats.breaches == 0
        assert stats.target == target
    assert empty.to_dict()["ttd"]["attainment"] is None


def test_archived_vector_listed_only_while_it_has_incidents(session):
    incident(session, T0, 60, 600, vectors=["data-drift"])
    for slug in ("data-drift", "model-poisoning"):
        vector = session.scalars(select(Vector).where(Vector.slug == slug)).one()
        vector.archived_at = T0
    session.commit()
    report = compute_metrics(session, DEFAULT, group_by="vector", now=T0 + timedelta(days=1))
    assert "model-poisoning" not in keys(report)  # archived, nothing to show
    assert group(report, "data-drift").count == 1  # archived, but its history stays


def test_vector_targets_versus_the_default_target(session):
    set_targets(session, "data-drift", mttd=10, mttr=60)  # 600 s / 3600 s
    incident(session, T0, 480, 2400, vectors=["data-drift"])  # 8 min / 40 min
    now = T0 + timedelta(days=1)

    drift = group(compute_metrics(session, DEFAULT, group_by="vector", now=now), "data-drift")
    assert (drift.ttd.target, drift.ttr.target) == (600, 3600)
    assert (drift.ttd.attainment, drift.ttd.breaches) == (1.0, 0)  # 480 <= 600
    assert (drift.ttr.attainment, drift.ttr.breaches) == (1.0, 0)  # 2400 <= 3600
    other = group(compute_metrics(session, DEFAULT, group_by="vector", now=now), "model-poisoning")
    assert (other.ttd.target, other.ttr.target) == (300, 900)  # its own (seeded) targets

    # every other grouping measures against the configured default: 300 / 900
    for group_by, key in (
        ("overall", "overall"),
        ("severity", "SEV2"),
        ("service", "rag-search"),
        ("team", "search"),
        ("week", "2026-03-02"),
        ("month", "2026-03-01"),
    ):
        g = group(compute_metrics(session, DEFAULT, group_by=group_by, now=now), key)
        assert (g.ttd.target, g.ttr.target) == (300, 900), group_by
        assert (g.ttd.attainment, g.ttd.breaches) == (0.0, 1), group_by  # 480 > 300
        assert (g.ttr.attainment, g.ttr.breaches) == (0.0, 1), group_by  # 2400 > 900

    # a configured default of 10 / 45 min: 480 <= 600 and 2400 <= 2700
    custom = Settings(mttd_target_minutes=10, mttr_target_minutes=45)
    g = group(compute_metrics(session, custom, now=now), "overall")
    assert (g.ttd.target, g.ttr.target) == (600, 2700)
    assert (g.ttd.attainment, g.ttr.attainment) == (1.0, 1.0)
    # vectors keep their own targets whatever the default
    drift = group(compute_metrics(session, custom, group_by="vector", now=now), "data-drift")
    assert (drift.ttd.target, drift.ttr.target) == (600, 3600)


def test_group_breaching_agrees_with_the_incident_flags(session):
    """Outside vector groups, `breaching` counts the incidents whose own flag is set."""
    set_targets(session, "data-drift", mttd=5, mttr=60)  # ttr target 3600 s
    inc = incident(session, T0, 60, vectors=["data-drift"])  # open
    now = inc.detected_at + timedelta(seconds=1800)  # 30 min open
    drift = group(compute_metrics(session, DEFAULT, group_by="vector", now=now), "data-drift")
    assert (drift.open, drift.breaching) == (1, 0)  # 1800 <= 3600
    overall = group(compute_metrics(session, DEFAULT, now=now), "overall")
    # 1800 s is past the default 900 s, but the incident's own target is 3600 s: not breaching
    assert (overall.open, overall.breaching) == (1, 0)
    assert incident_breaching(inc, DEFAULT, now=now) is False
    later = inc.detected_at + timedelta(seconds=3601)
    assert group(compute_metrics(session, DEFAULT, now=later), "overall").breaching == 1
    assert incident_breaching(inc, DEFAULT, now=later) is True


# ---- other groupings -------------------------------------------------------------


def test_group_by_severity_service_team(session):
    incident(session, T0, 60, 600, severity="SEV1", service="rag-search", team="search")
    incident(session, T0, 120, 600, severity="SEV1", service="llm-gateway", team="platform")
    incident(session, T0, 180, 600, severity="SEV3", service="llm-gateway", team="")
    now = T0 + timedelta(days=1)

    by_severity = compute_metrics(session, DEFAULT, group_by="severity", now=now)
    # every severity is listed, worst first, empty ones with count 0
    assert counts(by_severity) == {"SEV1": 2, "SEV2": 0, "SEV3": 1, "SEV4": 0}
    assert keys(by_severity) == ["SEV1", "SEV2", "SEV3", "SEV4"]
    assert group(by_severity, "SEV1").ttd.mean == pytest.approx(90)  # (60 + 120) / 2
    assert group(by_severity, "SEV2").ttd.mean is None

    by_service = compute_metrics(session, DEFAULT, group_by="service", now=now)
    assert keys(by_service) == ["llm-gateway", "rag-search"]  # most incidents first
    assert counts(by_service) == {"llm-gateway": 2, "rag-search": 1}
    assert group(by_service, "llm-gateway").ttd.mean == pytest.approx(150)  # (120 + 180) / 2

    by_team = compute_metrics(session, DEFAULT, group_by="team", now=now)
    assert keys(by_team) == ["(none)", "platform", "search"]  # one each: by name
    assert group(by_team, "(none)").ttd.mean == pytest.approx(180)


def test_week_and_month_keys_in_utc(session):
    incident(session, utc(2026, 3, 4, 10, 0), 60, 600)  # Wednesday
    incident(session, utc(2026, 3, 8, 23, 59), 60, 600)  # Sunday, last minute of that week
    incident(session, utc(2026, 3, 9, 0, 0), 60, 600)  # Monday: next week
    incident(session, utc(2026, 2, 28, 23, 59), 60, 600)  # Saturday, in February
    now = utc(2026, 4, 1)

    weeks = compute_metrics(session, DEFAULT, group_by="week", now=now)
    assert counts(weeks) == {"2026-02-23": 1, "2026-03-02": 2, "2026-03-09": 1}
    months = compute_metrics(session, DEFAULT, group_by="month", now=now)
    assert counts(months) == {"2026-02-01": 1, "2026-03-01": 3}


def test_week_and_month_across_dst_in_berlin(session):
    # Berlin goes from CET (+1) to CEST (+2) on Sunday 2026-03-29 at 01:00 UTC
    incident(session, utc(2026, 3, 28, 23, 30), 60, 600)  # Sun 29th 00:30 CET
    incident(session, utc(2026, 3, 29, 21, 30), 60, 600)  # Sun 29th 23:30 CEST
    incident(session, utc(2026, 3, 29, 23, 30), 60, 600)  # Mon 30th 01:30 CEST
    incident(session, utc(2026, 3, 31, 22, 30), 60, 600)  # Wed 1 April 00:30 CEST
    now = utc(2026, 5, 1)
    berlin = Settings(timezone="Europe/Berlin")

    weeks = compute_metrics(session, berlin, group_by="week", now=now)
    assert counts(weeks) == {"2026-03-23": 2, "2026-03-30": 2}
    months = compute_metrics(session, berlin, group_by="month", now=now)
    assert counts(months) == {"2026-03-01": 3, "2026-04-01": 1}
    assert period_start(utc(2026, 3, 29, 23, 30), "week", berlin).isoformat() == "2026-03-30"

    # in UTC the same incidents fall otherwise: 29th 23:30 Z is still Sunday
    weeks = compute_metrics(session, DEFAULT, group_by="week", now=now)
    assert counts(weeks) == {"2026-03-23": 3, "2026-03-30": 1}
    months = compute_metrics(session, DEFAULT, group_by="month", now=now)
    assert counts(months) == {"2026-03-01": 4}


def test_week_and_month_across_dst_in_new_york(session):
    # New York goes from EDT (-4) to EST (-5) on Sunday 2026-11-01 at 06:00 UTC
    incident(session, utc(2026, 11, 1, 3, 30), 60, 600)  # Sat 31 Oct 23:30 EDT
    incident(session, utc(2026, 11, 1, 4, 30), 60, 600)  # Sun 1 Nov 00:30 EDT
    incident(session, utc(2026, 11, 2, 4, 30), 60, 600)  # Sun 1 Nov 23:30 EST (not Monday)
    incident(session, utc(2026, 11, 2, 5, 30), 60, 600)  # Mon 2 Nov 00:30 EST
    now = utc(2026, 11, 10)
    new_york = Settings(timezone="America/New_York")

    weeks = compute_metrics(session, new_york, group_by="week", now=now)
    assert counts(weeks) == {"2026-10-26": 3, "2026-11-02": 1}
    months = compute_metrics(session, new_york, group_by="month", now=now)
    assert counts(months) == {"2026-10-01": 1, "2026-11-01": 3}
    assert weeks.definition()["period_zone"] == "America/New_York"


def test_empty_periods_inside_the_range_are_filled(session):
    incident(session, utc(2025, 12, 31, 23, 0), 60, 600)  # before since
    incident(session, utc(2026, 2, 10), 60, 600)
    incident(session, utc(2026, 4, 20), 120, 600)
    incident(session, utc(2026, 5, 1), 60, 600)  # exactly at until: excluded
    now = utc(2026, 6, 1)
    filters = IncidentFilters(since=utc(2026, 1, 1), until=utc(2026, 5, 1))

    months = compute_metrics(session, DEFAULT, group_by="month", filters=filters, now=now)
    assert counts(months) == {"2026-01-01": 0, "2026-02-01": 1, "2026-03-01": 0, "2026-04-01": 1}
    assert keys(months) == sorted(keys(months))
    empty = group(months, "2026-03-01")
    assert (empty.ttd.mean, empty.ttd.attainment, empty.ttr.median) == (None, None, None)
    assert group(months, "2026-04-01").ttd.mean == pytest.approx(120)

    # weeks over the same kind of range: every week from since's to until's is listed
    weeks = compute_metrics(
        session,
        DEFAULT,
        group_by="week",
        filters=IncidentFilters(since=utc(2026, 2, 1), until=utc(2026, 5, 1)),
        now=now,
    )
    # since Sun 1 Feb -> week of Mon 26 Jan; until Fri 1 May (exclusive) -> week of Mon 27 Apr
    assert keys(weeks)[0] == "2026-01-26"
    assert keys(weeks)[-1] == "2026-04-27"
    assert len(keys(weeks)) == 14  # 26 Jan .. 27 Apr = 13 weeks apart
    assert sum(counts(weeks).values()) == 2
    assert counts(weeks)["2026-02-09"] == 1  # Tue 10 Feb
    assert counts(weeks)["2026-04-20"] == 1  # Mon 20 Apr


def test_empty_weeks_between_incidents_without_range(session):
    incident(session, utc(2026, 3, 3), 60, 600)  # week of 2 March
    incident(session, utc(2026, 3, 24), 60, 600)  # week of 23 March
    weeks = compute_metrics(session, DEFAULT, group_by="week", now=utc(2026, 4, 1))
    assert counts(weeks) == {"2026-03-02": 1, "2026-03-09": 0, "2026-03-16": 0, "2026-03-23": 1}


def test_filled_months_use_the_display_zone_for_the_range(session):
    berlin = ZoneInfo("Europe/Berlin")
    incident(session, datetime(2026, 3, 10, tzinfo=berlin), 60, 600)
    # 1 March to 1 May, Berlin local midnights (Feb 28 23:00 Z and Apr 30 22:00 Z)
    filters = IncidentFilters(
        since=datetime(2026, 3, 1, tzinfo=berlin), until=datetime(2026, 5, 1, tzinfo=berlin)
    )
    report = compute_metrics(
        session,
        Settings(timezone="Europe/Berlin"),
        group_by="month",
        filters=filters,
        now=utc(2026, 6, 1),
    )
    assert counts(report) == {"2026-03-01": 1, "2026-04-01": 0}  # no February, no May


# ---- filters -----------------------------------------------------------------------


def test_filters_vector_severity_and_started_at_range(session):
    since, until = utc(2026, 3, 1), utc(2026, 4, 1)
    # G: started before `since`, detected after it: excluded (filters use started_at)
    make_incident(
        session,
        vectors=["data-drift"],
        severity="SEV1",
        started_at=utc(2026, 2, 27, 23, 0),
        detected_at=utc(2026, 3, 1, 0, 10),
        recovered_at=utc(2026, 3, 1, 1, 0),
    )
    incident(session, since, 10, 600, vectors=["dependency-latency"], severity="SEV2")  # H
    incident(session, utc(2026, 3, 15), 20, 600, vectors=["data-drift"], severity="SEV2")  # I
    incident(session, until, 30, 600, vectors=["data-drift"], severity="SEV1")  # J: at until
    now = utc(2026, 5, 1)

    def overall(**kw):  # type: ignore[no-untyped-def]
        report = compute_metrics(session, DEFAULT, filters=IncidentFilters(**kw), now=now)
        return group(report, "overall")

    g = overall(since=since, until=until)  # H and I
    assert g.count == 2
    assert g.ttd.mean == pytest.approx(15)  # (10 + 20) / 2
    assert g.ttd.max == pytest.approx(20)
    g = overall(vector="data-drift")  # G, I, J
    assert g.count == 3
    # G's ttd: 27 Feb 23:00 -> 1 Mar 00:10 = 25 h 10 min = 90600 s
    assert g.ttd.max == pytest.approx(90600)
    assert overall(vector="data-drift", since=since, until=until).count == 1  # I
    assert overall(severity="SEV1").count == 2  # G, J
    g = overall(severity="SEV1", since=since, until=until)
    assert (g.count, g.ttd.mean) == (0, None)
    assert overall(severity="SEV2", vector="dependency-latency").count == 1  # H

    by_vector = compute_metrics(
        session, DEFAULT, group_by="vector", filters=IncidentFilters(vector="data-drift"), now=now
    )
    assert counts(by_vector) == {"data-drift": 3}
    by_vector = compute_metrics(
        session, DEFAULT, group_by="vector", filters=IncidentFilters(severity="SEV2"), now=now
    )
    assert counts(by_vector)["data-drift"] == 1  # I
    assert counts(by_vector)["dependency-latency"] == 1  # H
    by_severity = compute_metrics(
        session, DEFAULT, group_by="severity", filters=IncidentFilters(severity="SEV1"), now=now
    )
    assert counts(by_severity) == {"SEV1": 2}


def test_invalid_group_by_and_filters_are_validation_errors(session):
    with pytest.raises(ValidationError) as exc:
        compute_metrics(session, DEFAULT, group_by="quarter")
    assert "group_by" in exc.value.fields
    with pytest.raises(ValidationError) as exc:
        compute_metrics(session, DEFAULT, filters=IncidentFilters(severity="SEV9"))
    assert "severity" in exc.value.fields
    with pytest.raises(ValidationError) as exc:
        compute_metrics(
            session, DEFAULT, filters=IncidentFilters(since=utc(2026, 2, 1), until=utc(2026, 1, 1))
        )
    assert "until" in exc.value.fields


# ---- the API gives the same numbers ---------------------------------------------------


def _mixed_history(session) -> None:  # type: ignore[no-untyped-def]
    incident(session, T0, 60, 300, vectors=["data-drift", "dependency-latency"], severity="SEV1")
    incident(session, T0 + timedelta(days=1), 300, 900, vectors=["data-drift"])
    incident(session, T0 + timedelta(days=9), 600, 3600, vectors=["model-poisoning"])
    incident(session, T0 + timedelta(days=40), 120, vectors=["dependency-latency"])  # open
    incident(session, T0 + timedelta(days=41), 7, 3 * 86400 + 17, severity="SEV3")


def test_api_metrics_by_vector_equals_compute_metrics(client, session, settings):
    _mixed_history(session)
    response = client.get("/api/v1/metrics?group_by=vector")
    assert response.status_code == 200
    body = response.get_json()
    report = compute_metrics(session, settings, group_by="vector")
    assert body["groups"] == [g.to_dict() for g in report.groups]
    # and those are the numbers worked out by hand
    drift = next(g for g in body["groups"] if g["key"] == "data-drift")
    assert drift["count"] == 2
    assert drift["ttd"]["mean"] == pytest.approx(180)  # (60 + 300) / 2
    assert drift["ttr"]["attainment"] == pytest.approx(1.0)  # 300 and 900, both <= 900
    latency = next(g for g in body["groups"] if g["key"] == "dependency-latency")
    assert (latency["count"], latency["open"], latency["breaching"]) == (3, 1, 1)
    definition = dict(body["definition"])
    expected = report.definition()
    definition.pop("generated_at")
    expected.pop("generated_at")
    assert definition == expected


@pytest.mark.parametrize(
    ("query", "group_by", "filters"),
    [
        ("group_by=overall", "overall", IncidentFilters()),
        ("group_by=severity&vector=data-drift", "severity", IncidentFilters(vector="data-drift")),
        ("group_by=service&severity=SEV2", "service", IncidentFilters(severity="SEV2")),
        ("group_by=team", "team", IncidentFilters()),
        (
            "group_by=week&since=2026-03-01T00:00:00Z&until=2026-05-01T00:00:00Z",
            "week",
            IncidentFilters(since=utc(2026, 3, 1), until=utc(2026, 5, 1)),
        ),
        (
            "group_by=month&since=2026-01-01T00:00:00%2B01:00",
            "month",
            IncidentFilters(since=datetime(2025, 12, 31, 23, 0, tzinfo=UTC)),
        ),
    ],
)
def test_api_metrics_equals_compute_metrics(client, session, settings, query, group_by, filters):
    _mixed_history(session)
    response = client.get(f"/api/v1/metrics?{query}")
    assert response.status_code == 200, response.get_json()
    report = compute_metrics(session, settings, group_by=group_by, filters=filters)
    assert response.get_json()["groups"] == [g.to_dict() for g in report.groups]


def test_api_metrics_periods_in_the_configured_zone(request, app_config):
    app_config["TIMEZONE"] = "Europe/Berlin"  # read into Settings when `app` is built
    client = request.getfixturevalue("client")
    session = request.getfixturevalue("session")
    assert request.getfixturevalue("settings").timezone == "Europe/Berlin"
    incident(session, utc(2026, 3, 29, 23, 30), 60, 600)  # Monday 30 March in Berlin
    body = client.get("/api/v1/metrics?group_by=week").get_json()
    assert [(g["key"], g["count"]) for g in body["groups"]] == [("2026-03-30", 1)]
    assert body["definition"]["period_zone"] == "Europe/Berlin"


def test_api_metrics_invalid_group_by_is_422(client):
    response = client.get("/api/v1/metrics?group_by=quarter")
    assert response.status_code == 422
    assert "group_by" in response.get_json()["error"]["fields"]


# ---- root-cause flag ---------------------------------------------------------------------

H48 = timedelta(hours=48)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("root_cause_after", "now_after", "rca_hours", "flag"),
    [
        (timedelta(0), H48 * 10, 48, "on_time"),
        (H48, H48 * 10, 48, "on_time"),  # exactly 48 h counts as on time
        (H48 + SECOND, H48 * 10, 48, "late"),
        (None, H48, 48, "pending"),  # exactly 48 h without a root cause: not yet overdue
        (None, H48 + SECOND, 48, "overdue"),
        (None, timedelta(0), 48, "pending"),
        (timedelta(hours=24), H48, 24, "on_time"),  # CATALOG_RCA_HOURS=24
        (timedelta(hours=24) + SECOND, H48, 24, "late"),
        (None, timedelta(hours=24), 24, "pending"),
        (None, timedelta(hours=24) + SECOND, 24, "overdue"),
        (None, timedelta(hours=72), 72, "pending"),  # a longer threshold
    ],
)
def test_root_cause_flag_boundaries(root_cause_after, now_after, rca_hours, flag):
    detected = T0
    root_cause_at = None if root_cause_after is None else detected + root_cause_after
    assert (
        root_cause_flag(detected, root_cause_at, now=detected + now_after, rca_hours=rca_hours)
        == flag
    )


def test_root_cause_flag_of_incidents_with_and_without_postmortem(session):
    inc = incident(session, T0, 120, 600)
    detected = inc.detected_at
    # no post-mortem yet: the same clock from detection
    assert incident_root_cause_flag(inc, now=detected + H48, rca_hours=48) == "pending"
    assert incident_root_cause_flag(inc, now=detected + H48 + SECOND, rca_hours=48) == "overdue"
    assert incident_root_cause_flag(inc, now=detected + H48 + SECOND, rca_hours=72) == "pending"
    assert root_cause_seconds(inc) is None

    pm, created = save_postmortem(session, inc, {"status": "draft"})
    session.commit()
    assert created
    assert incident_root_cause_flag(inc, now=detected + H48, rca_hours=48) == "pending"
    assert incident_root_cause_flag(inc, now=detected + H48 + SECOND, rca_hours=48) == "overdue"

    pm, _ = save_postmortem(
        session, inc, {"status": "draft", "root_cause_at": detected + H48, "version": pm.version}
    )
    session.commit()
    assert root_cause_seconds(inc) == 172800  # 48 * 3600
    later = detected + timedelta(days=30)
    assert incident_root_cause_flag(inc, now=later, rca_hours=48) == "on_time"
    assert incident_root_cause_flag(inc, now=later, rca_hours=47) == "late"

    save_postmortem(
        session,
        inc,
        {"status": "draft", "root_cause_at": detected + H48 + SECOND, "version": pm.version},
    )
    session.commit()
    assert root_cause_seconds(inc) == 172801
    assert incident_root_cause_flag(inc, now=later, rca_hours=48) == "late"


# ---- human durations -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (0, "0s"),
        (45, "45s"),
        (59.9, "59s"),  # rounded down
        (250, "4m 10s"),  # 4 * 60 + 10
        (240, "4m"),
        (3600, "1h 00m"),
        (7500, "2h 05m"),  # 2 * 3600 + 5 * 60
        (7559, "2h 05m"),  # seconds dropped once there are hours
        (86400, "1d 0h"),
        (273600, "3d 4h"),  # 3 * 86400 + 4 * 3600
        (273600 + 59 * 60, "3d 4h"),  # minutes dropped once there are days
        (-30, "-30s"),
    ],
)
def test_human_duration(seconds, text):
    assert human_duration(seconds) == text


@pytest.mark.parametrize("mttr_from", ["detected", "started"])
def test_sql_durations_agree_with_python_definitions(session, mttr_from):
    """The SQL spelling of each duration (used for groups) equals the Python one, per backend."""
    from catalog.incidents.models import Incident
    from catalog.reports.metrics import (
        exact_seconds,
        open_elapsed_seconds,
        open_elapsed_sql,
        ttd_sql,
        ttr_sql,
    )

    now = utc(2026, 5, 1)
    incident(session, T0, 240, 720)  # whole minutes
    incident(session, T0 + timedelta(days=3), 1, 0)  # one second to detect, zero to recover
    incident(session, T0 + timedelta(days=40), 7 * 86400 + 59, 3 * 86400 + 1)  # multi-day
    incident(session, T0 + timedelta(days=60), 17)  # still open
    dialect = session.get_bind().dialect.name
    rows = session.execute(
        select(
            Incident,
            exact_seconds(ttd_sql(), dialect),
            exact_seconds(ttr_sql(mttr_from), dialect),
            exact_seconds(open_elapsed_sql(now=now, mttr_from=mttr_from), dialect),
        ).order_by(Incident.id)
    ).all()
    assert len(rows) == 4
    for row, ttd, ttr, elapsed in rows:
        assert ttd == ttd_seconds(row.started_at, row.detected_at)
        expected_ttr = ttr_seconds(
            row.started_at, row.detected_at, row.recovered_at, mttr_from=mttr_from
        )
        assert ttr == expected_ttr
        expected_elapsed = (
            None
            if row.recovered_at is not None
            else open_elapsed_seconds(row.started_at, row.detected_at, now=now, mttr_from=mttr_from)
        )
        assert elapsed == expected_elapsed


@pytest.mark.parametrize(
    "zone_name",
    ["Europe/Berlin", "America/Santiago", "Australia/Lord_Howe", "Pacific/Chatham", "Asia/Kolkata"],
)
def test_period_slices_agree_with_period_start_for_every_incident(session, zone_name):
    """Weeks and months are found by bisection over ordered start times; each
    incident must still land where period_start (the definition) puts it, in zones
    whose DST changes at midnight (Santiago), by 30 minutes (Lord Howe) or whose
    offsets are not whole hours (Chatham, Kolkata)."""
    import random

    zone = ZoneInfo(zone_name)
    rng = random.Random(zone_name)
    settings_here = Settings(timezone=zone_name)
    starts = []
    for year, month in ((2025, 4), (2025, 9), (2025, 10), (2026, 4)):
        # local midnights around the month edge, and random moments in the month
        for day in (1, 2, 5, 6, 7):
            edge = datetime(year, month, day, tzinfo=zone).astimezone(UTC)
            starts += [edge - timedelta(seconds=1), edge, edge + timedelta(minutes=30)]
        starts += [
            datetime(year, month, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(30 * 86400))
            for _ in range(6)
        ]
    for start in starts:
        make_incident(
            session,
            started_at=start,
            detected_at=start + timedelta(minutes=1),
            recovered_at=start + timedelta(minutes=5),
        )
    for period in ("week", "month"):
        report = compute_metrics(session, settings_here, group_by=period, now=T0)
        counted = {g.key: g.count for g in report.groups if g.count}
        expected: dict[str, int] = {}
        for start in starts:
            key = period_start(start, period, settings_here).isoformat()
            expected[key] = expected.get(key, 0) + 1
        assert counted == expected, (zone_name, period)


def test_a_median_picked_from_sorted_runs_is_statistics_median_of_them_joined():
    """The rolling median selects by rank from each period's sorted list (no join, no
    sort): it must agree exactly with statistics.median, duplicates and empties too."""
    import random

    from catalog.reports.metrics import median_of_sorted

    rng = random.Random(7)
    assert median_of_sorted([]) is None and median_of_sorted([[], []]) is None
    for _ in range(600):
        runs = [
            sorted(rng.choice((rng.randint(0, 9), rng.random() * 1e4)) for _ in range(n))
            for n in (rng.randint(0, 40) for _ in range(rng.randint(1, 4)))
        ]
        joined = [v for run in runs for v in run]
        expected = statistics.median(joined) if joined else None
        assert median_of_sorted(runs) == expected, runs


def test_a_groups_dict_is_dataclasses_asdict_without_the_copy():
    """GroupMetrics.as_dict is what the shared reports and the API are made of."""
    from dataclasses import asdict

    from catalog.reports.metrics import DurationStats, GroupMetrics

    ttd = DurationStats.of([60.0, 120.0, 900.0], 300)
    ttr = DurationStats.of([], 900)
    for group in (
        GroupMetrics("k", "Label", 3, 1, 0, ttd, ttr),
        GroupMetrics("2026-W48", "Week 48", 3, 0, 1, ttd, ttr, 61.5, None),
    ):
        assert group.as_dict() == asdict(group)
        assert group.to_dict()["ttd"].keys() == asdict(group)["ttd"].keys() - {"samples"}
