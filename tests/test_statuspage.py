"""Statuspage v2 import, with GitHub's real history turned into a Statuspage document.

`../shared/data/github-status-incidents.jsonl` holds 819 real incidents (see its
README). Each becomes a Statuspage v2 incident the way Statuspage itself would
have published it: `started_at` is the impact start from the post-incident
report where there is one (never after the first update), `created_at` the
first update, `monitoring_at` the first Monitoring update, `resolved_at`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from helpers.environment import skip_or_fail
from helpers.realdata import DATA_FILE
from sqlalchemy import func, select

from catalog.errors import ValidationError
from catalog.imports.statuspage import VectorRule, import_statuspage
from catalog.incidents.models import Incident
from catalog.incidents.timeline import timeline_of
from catalog.reports.metrics import ttd_seconds, ttr_seconds

STATUS = {"Investigating": "investigating", "Monitoring": "monitoring", "Resolved": "resolved"}


def to_statuspage(record: dict) -> dict:  # type: ignore[type-arg]
    updates = record["updates"]
    first = min(u["at"] for u in updates)
    window = record.get("impact_window") or {}
    started = min(window.get("start_at") or first, first)
    monitoring = [u["at"] for u in updates if u["status"] == "Monitoring"]
    return {
        "id": record["id"],
        "name": record["title"],
        "status": "resolved",
        "impact": record["impact"],
        "shortlink": record["url"],
        "created_at": first,
        "started_at": started,
        "monitoring_at": min(monitoring) if monitoring else None,
        "resolved_at": record["resolved_at"],
        "scheduled_for": first if record["impact"] == "maintenance" else None,
        "components": [
            {"id": f"c{i}", "name": name} for i, name in enumerate(record.get("components") or [])
        ],
        "incident_updates": [
            {
                "status": STATUS.get(u["status"], "update"),
                "body": u["message"],
                "created_at": u["at"],
            }
            for u in updates
        ],
    }


@pytest.fixture(scope="module")
def github() -> dict:  # type: ignore[type-arg]
    if not DATA_FILE.is_file():
        skip_or_fail(f"real incident data not found at {DATA_FILE} (set CATALOG_SHARED_DATA)")
    records = [json.loads(line) for line in DATA_FILE.read_text(encoding="utf-8").splitlines()]
    return {"page": {"name": "GitHub"}, "incidents": [to_statuspage(r) for r in records]}


def count(session) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(Incident)) or 0


def by_external(session, external_id: str) -> Incident:  # type: ignore[no-untyped-def]
    return session.scalars(select(Incident).where(Incident.external_id == external_id)).one()


@pytest.mark.realdata
def test_githubs_history_imports_once_with_maintenance_skipped(session, github):
    rules = [
        VectorRule.parse("copilot|model=model-poisoning"),
        VectorRule.parse("actions=hardware-throttling"),
    ]
    summary = import_statuspage(session, github, default_vector="dependency-latency", rules=rules)
    session.commit()
    assert (summary.records, summary.created, summary.skipped_maintenance) == (819, 801, 18)
    assert count(session) == 801

    # Hand-checked against the data file:
    # 9632825 Codespaces: first update 01:43, resolved 03:35, no post-incident window.
    codespaces = by_external(session, "9632825")
    assert ttd_seconds(codespaces.started_at, codespaces.detected_at) == 0
    assert (
        ttr_seconds(
            codespaces.started_at,
            codespaces.detected_at,
            codespaces.recovered_at,
            mttr_from="detected",
        )
        == 112 * 60
    )
    assert (codespaces.severity, codespaces.service) == ("SEV3", "Codespaces")
    # Its four status updates are its timeline, each at the time it was posted.
    updates = timeline_of(session, codespaces.id)
    assert [(u.at.strftime("%H:%M"), u.kind, u.source, u.author_label) for u in updates] == [
        ("01:43", "status", "import", "Statuspage"),
        ("01:44", "status", "import", "Statuspage"),
        ("02:20", "status", "import", "Statuspage"),
        ("03:35", "status", "import", "Statuspage"),
    ]
    assert updates[0].body.startswith("**Investigating** on Statuspage. We are investigating")
    assert updates[-1].body == "**Resolved** on Statuspage. This incident has been resolved."
    assert "status updates are on the timeline" in codespaces.summary
    # 28922400 Copilot Code Review: impact from 13:00 (report), first update 14:25,
    # monitoring 14:28, resolved 15:53: ttd 85 min, ttr 88 min.
    copilot = by_external(session, "28922400")
    assert ttd_seconds(copilot.started_at, copilot.detected_at) == 85 * 60
    assert (
        ttr_seconds(
            copilot.started_at, copilot.detected_at, copilot.recovered_at, mttr_from="detected"
        )
        == 88 * 60
    )
    assert copilot.mitigated_at == datetime(2026, 3, 11, 14, 28, tzinfo=UTC)
    assert copilot.vector_slugs == ["model-poisoning"]  # the first matching rule
    # 29373948 Actions delays: impact from 10:11, first update 13:02, resolved 13:25.
    actions = by_external(session, "29373948")
    assert ttd_seconds(actions.started_at, actions.detected_at) == (2 * 60 + 51) * 60
    assert actions.recovered_at - actions.detected_at == timedelta(minutes=23)
    assert actions.service == "Pull Requests" and actions.vector_slugs == ["hardware-throttling"]

    again = import_statuspage(session, github, default_vector="dependency-latency")
    session.commit()
    assert (again.created, again.already_imported) == (0, 801)
    assert count(session) == 801


@pytest.mark.realdata
def test_dry_run_writes_nothing(session, github):
    summary = import_statuspage(session, github, default_vector="data-drift", dry_run=True)
    session.rollback()
    assert summary.created == 801 and "Would create 801" in summary.describe()
    assert count(session) == 0


def small_document(*overrides: dict) -> dict:  # type: ignore[type-arg]
    base = {
        "id": "abc1",
        "name": "Elevated errors on chat",
        "impact": "major",
        "created_at": "2026-03-02T12:04:00Z",
        "started_at": "2026-03-02T12:00:00Z",
        "monitoring_at": "2026-03-02T12:10:00Z",
        "resolved_at": "2026-03-02T12:30:00Z",
        "components": [{"name": "chat-api"}],
        "incident_updates": [
            {"status": "investigating", "body": "Looking", "created_at": "2026-03-02T12:04:00Z"},
            {"status": "identified", "body": "Found it", "created_at": "2026-03-02T12:06:00Z"},
        ],
    }
    return {"incidents": [{**base, "id": f"r{i}", **o} for i, o in enumerate(overrides)]}


def test_identified_is_acknowledged_and_the_mapping_holds(session):
    import_statuspage(session, small_document({}), default_vector="data-drift")
    [incident] = session.scalars(select(Incident)).all()
    assert incident.acknowledged_at == datetime(2026, 3, 2, 12, 6, tzinfo=UTC)
    assert (incident.severity, incident.service, incident.external_source) == (
        "SEV2",
        "chat-api",
        "statuspage",
    )


@pytest.mark.parametrize(
    "bad, field",
    [
        (
            {"started_at": "2026-03-02T12:05:00Z"},
            "incidents[2].created_at",
        ),  # started after detected
        ({"resolved_at": "2026-03-02T12:01:00Z"}, "incidents[2].resolved_at"),
        ({"impact": "apocalyptic"}, "incidents[2].impact"),
        ({"created_at": "tuesday"}, "incidents[2].created_at"),
        ({"name": None}, "incidents[2].name"),
        ({"id": None}, "incidents[2].id"),
        ({"name": "bell\x07"}, "incidents[2].name"),
    ],
)
def test_the_first_bad_record_aborts_the_import_with_its_index(session, bad, field):
    with pytest.raises(ValidationError) as caught:
        import_statuspage(session, small_document({}, {}, bad, {}), default_vector="data-drift")
    session.rollback()
    assert field in caught.value.fields, caught.value.fields
    assert "Record 2" in caught.value.message or field.endswith(".id")
    assert count(session) == 0


def test_without_a_rule_match_or_default_vector_it_says_so(session):
    with pytest.raises(ValidationError) as caught:
        import_statuspage(session, small_document({}), default_vector=None)
    session.rollback()
    assert "no vector rule matched" in next(iter(caught.value.fields))


@pytest.mark.parametrize("rule", ["no-equals", "=slug", "(unclosed=data-drift", "x=no-such-vector"])
def test_bad_vector_rules_are_refused_before_anything_is_read(session, rule):
    with pytest.raises(ValidationError):
        import_statuspage(
            session, small_document({}), default_vector=None, rules=[VectorRule.parse(rule)]
        )


@pytest.mark.parametrize("document", [[], {}, {"incidents": "x"}, {"incidents": [1]}])
def test_documents_that_are_not_statuspage_are_refused(session, document):
    with pytest.raises(ValidationError):
        import_statuspage(session, document, default_vector="data-drift")


def test_cli_import_dry_run_then_real_then_again(runner, session, tmp_path):
    path = tmp_path / "incidents.json"
    path.write_text(json.dumps(small_document({}, {"impact": "maintenance"})), encoding="utf-8")
    args = ["import", str(path), "--format", "statuspage", "--default-vector", "data-drift"]
    dry = runner.invoke(args=[*args, "--dry-run"])
    assert dry.exit_code == 0 and "Would create 1 incidents from 2 records" in dry.output
    assert "1 maintenance records skipped" in dry.output and count(session) == 0
    real = runner.invoke(args=args)
    assert real.exit_code == 0 and "Created 1 incidents" in real.output
    again = runner.invoke(args=args)
    assert "Created 0 incidents" in again.output and "1 already imported" in again.output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(small_document({"id": "z9", "resolved_at": "2026-03-02T11:00:00Z"})))
    failed = runner.invoke(args=["import", str(bad), "--default-vector", "data-drift"])
    assert failed.exit_code == 1 and "Record 0" in failed.output and "resolved_at" in failed.output
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\xff not json")
    assert runner.invoke(args=["import", str(garbage)]).exit_code == 1
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    assert runner.invoke(args=["import", str(deep)]).exit_code == 1
