"""The metrics against real incident history: 819 incidents of GitHub's status page.

The data lives next to the repository (../shared/data, or CATALOG_SHARED_DATA)
and is never copied into it. Each non-maintenance incident becomes an incident
of the catalog through the domain function `create_incident`; the statistics
are then checked against an independent computation in plain Python over the
same parsed records.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache

import pytest
from helpers.environment import skip_or_fail
from helpers.realdata import DATA_FILE

from catalog.errors import ValidationError
from catalog.incidents.service import IncidentFilters, create_incident, get_incident
from catalog.reports.metrics import compute_metrics, incident_durations
from catalog.settings import Settings

pytestmark = pytest.mark.realdata

SEVERITY = {"critical": "SEV1", "major": "SEV2", "minor": "SEV3", "none": "SEV4"}
VECTOR = "dependency-latency"
TTD_TARGET, TTR_TARGET = 300, 900  # the seeded vectors' and the default targets, seconds
NOW = datetime(2030, 1, 1, tzinfo=UTC)  # every incident of the file is recovered by then

# Observed in the file (2026-08 snapshot): these stay fixed as long as the file does.
LINES = 819
MAINTENANCE = 18
# Two records whose impact window starts after the first status update (started > detected):
# 24174245 (impact 11:30, first update 11:28) and 28795113 (impact 12:53, resolved 01:30).
SKIPPED_IDS = {"24174245", "28795113"}


def parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


@dataclass(frozen=True)
class Record:
    id: str
    title: str
    severity: str
    service: str
    started_at: datetime
    detected_at: datetime
    recovered_at: datetime | None

    @property
    def ttd(self) -> float:
        return (self.detected_at - self.started_at).total_seconds()

    @property
    def ttr(self) -> float | None:
        if self.recovered_at is None:
            return None
        return (self.recovered_at - self.detected_at).total_seconds()

    def as_incident_data(self) -> dict[str, object]:
        return {
            "title": self.title,
            "severity": self.severity,
            "service": self.service,
            "team": "github",
            "vectors": [VECTOR],
            "summary": f"GitHub status incident {self.id}",
            "detection_source": "other",
            "started_at": self.started_at,
            "detected_at": self.detected_at,
            "recovered_at": self.recovered_at,
        }


@dataclass(frozen=True)
class History:
    lines: int
    maintenance: int
    kept: list[Record]
    skipped: list[Record]


def to_record(raw: dict) -> Record:
    window = raw.get("impact_window") or {}
    detected = parse_ts(raw["started_at"])  # the first status update
    started = parse_ts(window["start_at"]) if window.get("start_at") else detected
    resolved = raw.get("resolved_at")
    components = raw.get("components") or []
    return Record(
        id=str(raw["id"]),
        title=(raw.get("title") or f"Incident {raw['id']}").strip()[:200],
        severity=SEVERITY[raw["impact"]],
        service=components[0] if components else "github",
        started_at=started,
        detected_at=detected,
        recovered_at=parse_ts(resolved) if resolved else None,
    )


def breaks_rules(r: Record) -> bool:
    """The SPEC §2 ordering and bounds, checked here independently of the app."""
    earliest = datetime(2000, 1, 1, tzinfo=UTC)
    stamps = [r.started_at, r.detected_at] + ([r.recovered_at] if r.recovered_at else [])
    return (
        r.detected_at < r.started_at
        or (r.recovered_at is not None and r.recovered_at < r.detected_at)
        or any(s < earliest or s > datetime.now(UTC) for s in stamps)
    )


@cache
def load_history() -> History:
    lines = DATA_FILE.read_text(encoding="utf-8").splitlines()
    raws = [json.loads(line) for line in lines if line.strip()]
    maintenance = sum(1 for r in raws if r["impact"] == "maintenance")
    records = [to_record(r) for r in raws if r["impact"] != "maintenance"]
    return History(
        lines=len(raws),
        maintenance=maintenance,
        kept=[r for r in records if not breaks_rules(r)],
        skipped=[r for r in records if breaks_rules(r)],
    )


@pytest.fixture(scope="module")
def history() -> History:
    if not DATA_FILE.is_file():
        skip_or_fail(f"real incident data not found at {DATA_FILE} (set CATALOG_SHARED_DATA)")
    return load_history()


@pytest.fixture
def loaded(session, history: History) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Every kept record as an incident (one commit); returns record id -> incident id."""
    ids: dict[str, int] = {}
    for record in history.kept:
        ids[record.id] = create_incident(session, record.as_incident_data()).id
    session.commit()
    return ids


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def expected_stats(values: list[float], target: int) -> dict[str, float | int]:
    within = sum(1 for v in values if v <= target)
    return {
        "mean": statistics.fmean(values),
        "median": statistics.median(values),
        "p90": p90(values),
        "max": max(values),
        "target": target,
        "attainment": within / len(values),
        "breaches": len(values) - within,
    }


def actual_stats(stats) -> dict[str, float | int]:  # type: ignore[no-untyped-def]
    return {
        "mean": stats.mean,
        "median": stats.median,
        "p90": stats.p90,
        "max": stats.max,
        "target": stats.target,
        "attainment": stats.attainment,
        "breaches": stats.breaches,
    }


def month_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date().replace(day=1)


# ---- the file itself (no database) --------------------------------------------------


def test_record_counts_are_stable(history: History):
    assert history.lines == LINES
    assert history.maintenance == MAINTENANCE
    assert len(history.kept) + len(history.skipped) == LINES - MAINTENANCE  # 801
    assert {r.id for r in history.skipped} == SKIPPED_IDS
    assert len(history.kept) == 799


def test_hand_checked_incidents_from_the_file(history: History):
    by_id = {r.id: r for r in history.kept}
    # 19850844 (Pages, minor): impact from 2024-01-28 01:00, first update 13:20, resolved 14:42
    r = by_id["19850844"]
    assert (r.severity, r.service) == ("SEV3", "Pages")
    assert r.ttd == 44400  # 12 h 20 min = 12 * 3600 + 20 * 60
    assert r.ttr == 4920  # 13:20 -> 14:42 = 82 min
    # 20081184 (major, first component Webhooks): impact 18:34, update 18:47, resolved 19:37
    r = by_id["20081184"]
    assert (r.severity, r.service) == ("SEV2", "Webhooks")
    assert r.ttd == 780  # 13 min
    assert r.ttr == 3000  # 50 min
    # 29855242 (Pull Requests, minor, no impact window): 2026-04-28 14:17 -> 2026-05-01 04:15
    r = by_id["29855242"]
    assert r.ttd == 0  # detected at the first update, no earlier impact known
    assert r.ttr == 223080  # 2 d 13 h 58 min = 172800 + 46800 + 3480


# ---- through the app ---------------------------------------------------------------------


def test_records_that_break_the_rules_are_refused_by_the_app(session, history: History):
    for record in history.skipped:
        with pytest.raises(ValidationError) as exc:
            create_incident(session, record.as_incident_data())
        assert "detected_at" in exc.value.fields, record.id


def test_overall_metrics_match_an_independent_computation(session, history, loaded):
    report = compute_metrics(session, Settings(), now=NOW)
    g = report.groups[0]
    ttds = [r.ttd for r in history.kept]
    ttrs = [r.ttr for r in history.kept if r.ttr is not None]
    assert g.count == len(history.kept) == 799
    assert g.open == sum(1 for r in history.kept if r.recovered_at is None) == 0
    assert g.breaching == 0
    assert actual_stats(g.ttd) == pytest.approx(expected_stats(ttds, TTD_TARGET))
    assert actual_stats(g.ttr) == pytest.approx(expected_stats(ttrs, TTR_TARGET))

    # zero-length detection lags exist (no published impact window) and count as attained
    zero = sum(1 for v in ttds if v == 0)
    assert zero > 600
    assert g.ttd.attainment * g.count >= zero
    assert g.ttd.attainment * g.count == pytest.approx(sum(1 for v in ttds if v <= TTD_TARGET))
    # heavy skew: multi-day outliers pull the mean above the median
    assert g.ttr.max > 86400
    assert g.ttr.mean > g.ttr.median
    assert g.ttd.mean > g.ttd.median
    # dirty real data, kept as is: three impact windows start months before the first
    # update (a post-incident report dated a year or six months off). The largest ttd is
    # 28456612: impact 2025-02-11 14:30, first update 2026-02-11 15:26 = 365 d 56 min.
    assert g.ttd.max == 365 * 86400 + 56 * 60 == 31539360
    assert sum(1 for v in ttds if v > 100 * 86400) == 3  # 28456612, 31200202, 31199495

    # every incident is on one vector: that group is the same as overall, others empty
    by_vector = compute_metrics(session, Settings(), group_by="vector", now=NOW)
    for vg in by_vector.groups:
        if vg.key == VECTOR:
            assert vg.count == 799
            assert actual_stats(vg.ttr) == pytest.approx(actual_stats(g.ttr))
        else:
            assert vg.count == 0


def test_monthly_and_severity_breakdowns_match(session, history, loaded):
    months = compute_metrics(session, Settings(), group_by="month", now=NOW)
    # independent: by the month of started_at in UTC, every month between first and last
    per_month: dict[date, list[Record]] = {}
    for r in history.kept:
        per_month.setdefault(month_of(r.started_at), []).append(r)
    first, last = min(per_month), max(per_month)
    expected_keys = []
    day = first
    while day <= last:
        expected_keys.append(day.isoformat())
        day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    assert [g.key for g in months.groups] == expected_keys
    for g in months.groups:
        members = per_month.get(date.fromisoformat(g.key), [])
        assert g.count == len(members), g.key
        assert g.open == 0
        ttrs = [r.ttr for r in members if r.ttr is not None]
        if ttrs:
            assert g.ttr.median == pytest.approx(statistics.median(ttrs)), g.key
            assert g.ttd.max == pytest.approx(max(r.ttd for r in members)), g.key
        else:
            assert g.ttr.median is None
    assert sum(g.count for g in months.groups) == 799

    severities = compute_metrics(session, Settings(), group_by="severity", now=NOW)
    expected = Counter(r.severity for r in history.kept)
    assert {g.key: g.count for g in severities.groups} == {
        s: expected.get(s, 0) for s in ("SEV1", "SEV2", "SEV3", "SEV4")
    }
    sev1 = next(g for g in severities.groups if g.key == "SEV1")
    sev1_ttrs = [r.ttr for r in history.kept if r.severity == "SEV1" and r.ttr is not None]
    assert actual_stats(sev1.ttr) == pytest.approx(expected_stats(sev1_ttrs, TTR_TARGET))

    # a filtered year: the same as computing over that year's records
    year = IncidentFilters(
        since=datetime(2025, 1, 1, tzinfo=UTC), until=datetime(2026, 1, 1, tzinfo=UTC)
    )
    g = compute_metrics(session, Settings(), filters=year, now=NOW).groups[0]
    in_year = [r for r in history.kept if year.since <= r.started_at < year.until]
    assert g.count == len(in_year)
    assert actual_stats(g.ttd) == pytest.approx(
        expected_stats([r.ttd for r in in_year], TTD_TARGET)
    )


def test_hand_checked_incidents_in_the_database(session, loaded):
    settings = Settings()
    cases = {
        # id: (ttd, ttr) worked out from the file's timestamps, see the file-level test
        "19850844": (44400, 4920),
        "20081184": (780, 3000),
        "29855242": (0, 223080),
    }
    for record_id, (ttd, ttr) in cases.items():
        d = incident_durations(get_incident(session, loaded[record_id]), settings, now=NOW)
        assert (d.ttd, d.ttr) == (ttd, ttr), record_id
    zero_lag = incident_durations(get_incident(session, loaded["29855242"]), settings, now=NOW)
    assert zero_lag.ttd_met is True  # 0 <= 300
    assert zero_lag.ttr_met is False  # 223080 > 900
    from_started = Settings(mttr_from="started")
    d = incident_durations(get_incident(session, loaded["19850844"]), from_started, now=NOW)
    assert d.ttr == 49320  # 44400 + 4920: 01:00 -> 14:42
