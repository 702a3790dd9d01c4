"""The `catalog` commands: migrate, demo data, the terminal report."""

from __future__ import annotations

from sqlalchemy import func, select

from catalog.db import utcnow
from catalog.incidents.models import Incident
from catalog.postmortems.models import Postmortem
from catalog.postmortems.service import incident_root_cause_flag


def test_db_upgrade_is_idempotent(runner):
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "is at revision head" in result.output


def test_demo_loads_a_realistic_month(runner, session, settings):
    result = runner.invoke(args=["demo", "--incidents", "80", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "Added 80 incidents" in result.output
    assert session.scalar(select(func.count()).select_from(Incident)) == 80
    incidents = session.scalars(select(Incident)).all()
    assert {i.severity for i in incidents} == {"SEV1", "SEV2", "SEV3", "SEV4"}
    assert len({i.service for i in incidents}) >= 4 and len({i.team for i in incidents}) >= 3
    assert len({v.slug for i in incidents for v in i.vectors}) == 5
    assert any(i.recovered_at is None for i in incidents), "some incidents are still open"
    now = utcnow()
    flags = {incident_root_cause_flag(i, now=now, rca_hours=settings.rca_hours) for i in incidents}
    assert flags == {"on_time", "late", "overdue", "pending"}
    with_pm = [i for i in incidents if i.postmortem is not None]
    assert {i.postmortem.status for i in with_pm} >= {"published", "draft"}
    assert session.scalar(select(func.count()).select_from(Postmortem)) == len(with_pm)


def test_report_prints_the_metrics_table(runner, session):
    from datetime import timedelta

    from factories import T0, make_incident

    make_incident(session)  # ttd 4 min, ttr 12 min, dependency-latency
    make_incident(session, started_at=T0, detected_at=T0 + timedelta(minutes=10), recovered_at=None)
    result = runner.invoke(args=["report", "--group-by", "vector"])
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.output.splitlines() if ln.startswith("dependency-latency"))
    cells = line.split()
    assert cells[1:3] == ["2", "1"]  # two incidents, one open
    assert "7m" in line  # MTTD median of 4 and 10 minutes
    assert "12m" in line  # MTTR of the one recovered
    assert "MTTR = recovered_at - detected_at" in result.output


def test_report_refuses_unknown_grouping(runner):
    result = runner.invoke(args=["report", "--group-by", "planet"])
    assert result.exit_code == 2
    assert "Invalid value" in result.output
