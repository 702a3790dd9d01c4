"""The bulk demo path: thousands of generated incidents that still obey the domain rules."""

from __future__ import annotations

from sqlalchemy import func, select, text

from catalog.db import utcnow
from catalog.demo import load_demo_bulk
from catalog.incidents.models import SEVERITIES, Incident, incident_vectors
from catalog.reports.metrics import compute_metrics
from catalog.vectors.models import Vector

COUNT = 3000

BROKEN_RULES = {
    "detected before started": "detected_at < started_at",
    "acknowledged before detected": "acknowledged_at < detected_at",
    "mitigated before started": "mitigated_at < started_at",
    "recovered before mitigated": "recovered_at < mitigated_at",
    "recovered before detected": "recovered_at < detected_at",
    "no vector": "id NOT IN (SELECT incident_id FROM incident_vectors)",
}


def test_bulk_demo_obeys_the_rules_and_feeds_the_metrics(session, settings):
    before = utcnow()
    summary = load_demo_bulk(session, count=COUNT, seed=11, days=365)
    assert summary.incidents == COUNT
    assert session.scalar(select(func.count()).select_from(Incident)) == COUNT
    links = session.scalar(select(func.count()).select_from(incident_vectors))
    assert COUNT <= links <= 2 * COUNT

    for rule, condition in BROKEN_RULES.items():
        broken = session.scalar(text(f"SELECT count(*) FROM incidents WHERE {condition}"))
        assert broken == 0, rule

    stamps = session.execute(
        select(
            Incident.started_at,
            Incident.detected_at,
            Incident.acknowledged_at,
            Incident.mitigated_at,
            Incident.recovered_at,
        )
    ).all()
    values = [v for row in stamps for v in row if v is not None]
    assert all(v.microsecond == 0 for v in values), "whole seconds, like typed-in times"
    assert max(values) <= utcnow() and min(values) >= before.replace(year=before.year - 1)

    severities = set(session.scalars(select(Incident.severity).distinct()))
    assert severities == set(SEVERITIES)
    linked = set(
        session.scalars(
            select(Vector.slug).join(incident_vectors, incident_vectors.c.vector_id == Vector.id)
        )
    )
    assert linked == set(session.scalars(select(Vector.slug)))
    assert len(set(session.scalars(select(Incident.team).distinct()))) >= 3

    overall = compute_metrics(session, settings).groups[0]
    assert overall.count == COUNT
    assert 0 < overall.open < COUNT // 100, "a few incidents are still open"
    assert overall.ttd.median < overall.ttd.mean, "skewed: the mean is pulled up by the tail"
    assert overall.ttr.max > 86400, "a multi-day outlier"
    months = compute_metrics(session, settings, group_by="month").groups
    assert sum(g.count for g in months) == COUNT
    first, last = months[1], months[-2]  # whole months at both ends
    assert last.ttr.median < first.ttr.median, "recovery improves over the span"
    by_vector = compute_metrics(session, settings, group_by="vector").groups
    assert sum(g.count for g in by_vector) == links


def test_bulk_demo_continues_after_existing_incidents(session):
    """Ids are assigned by the bulk path; after it, ordinary inserts must still get fresh ids."""
    from factories import make_incident

    first = make_incident(session)
    load_demo_bulk(session, count=50, seed=1, days=30)
    after = make_incident(session)
    assert after.id == first.id + 51


def test_cli_demo_takes_the_bulk_path_above_the_threshold(runner, session):
    result = runner.invoke(args=["demo", "--incidents", "2001", "--days", "60"])
    assert result.exit_code == 0, result.output
    assert "Added 2001 incidents over the last 60 days" in result.output
    assert "not in the audit trail" in result.output
    assert session.scalar(select(func.count()).select_from(Incident)) == 2001
