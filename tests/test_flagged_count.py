"""The dashboard's count of root causes overdue or found late, against the flag's definition.

The count is assembled from three cheap counts (see postmortems.service._flagged_count);
here every kind of incident is made, and the count must equal the incidents whose
`root_cause_flag` is `overdue` or `late`, at several moments.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import T0, make_incident
from sqlalchemy import select, update

from catalog.incidents.models import Incident
from catalog.postmortems.models import Postmortem
from catalog.postmortems.service import (
    flagged_incidents,
    incident_root_cause_flag,
    save_postmortem,
)
from catalog.reports.chunks import ChunkCache


def _world(session):  # type: ignore[no-untyped-def]
    """Detected at T0+4m + n hours; root causes in every relation to the 48-hour threshold."""
    cases = [
        None,  # no post-mortem
        "empty",  # a post-mortem without a root cause
        timedelta(hours=1),  # on time
        timedelta(hours=48),  # at the threshold: on time
        timedelta(hours=49),  # late
        timedelta(days=10),  # late
    ]
    for n, case in enumerate(cases * 3):
        shift = timedelta(hours=20 * n)
        incident = make_incident(
            session,
            title=f"Case {n}",
            started_at=T0 + shift,
            detected_at=T0 + shift + timedelta(minutes=4),
            recovered_at=T0 + shift + timedelta(minutes=30),
        )
        if case == "empty":
            save_postmortem(session, incident, {"status": "draft"})
        elif case is not None:
            save_postmortem(session, incident, {"root_cause_at": incident.detected_at + case})
        session.commit()
    legacy = make_incident(session, title="Legacy")  # a negative root-cause time: late
    save_postmortem(session, legacy, {"root_cause_at": legacy.detected_at + timedelta(hours=1)})
    session.commit()
    session.execute(
        update(Postmortem)
        .where(Postmortem.incident_id == legacy.id)
        .values(root_cause_at=legacy.detected_at - timedelta(minutes=2))
    )
    session.commit()
    session.expire_all()


@pytest.mark.parametrize("days", [0, 1, 2, 3, 8, 30])
def test_the_count_equals_the_flags_at_every_moment(session, days):
    _world(session)
    now = T0 + timedelta(days=days, minutes=30)
    expected = sum(
        incident_root_cause_flag(i, now=now, rca_hours=48) in ("overdue", "late")
        for i in session.scalars(select(Incident))
    )
    flagged, total = flagged_incidents(session, now=now, rca_hours=48, limit=50)
    assert total == expected == len(flagged)
    assert all(flag in ("overdue", "late") for _, flag in flagged)
    monthly = flagged_incidents(session, now=now, rca_hours=48, limit=50, chunks=ChunkCache())
    assert monthly[1] == total  # incidents counted a month at a time: the same count


def test_a_kept_answer_follows_the_clock_and_every_write(session):
    """Kept under the data versions, the dashboard's list still changes the moment an
    incident passes 48 hours with no write, and with any post-mortem write."""
    from functools import partial

    from catalog.reports.cache import MetricsCache

    _world(session)
    cache = MetricsCache()
    cached = partial(cache.value, session)
    moments = [T0 + timedelta(hours=h, minutes=m) for h in range(0, 400, 7) for m in (3, 5)]
    for now in moments:
        kept = flagged_incidents(session, now=now, rca_hours=48, limit=50, cached=cached)
        fresh = flagged_incidents(session, now=now, rca_hours=48, limit=50)
        assert [(i.id, f) for i, f in kept[0]] == [(i.id, f) for i, f in fresh[0]], now
        assert kept[1] == fresh[1], now
    now = moments[-1]
    before = flagged_incidents(session, now=now, rca_hours=48, limit=50, cached=cached)[1]
    pm = session.scalars(select(Postmortem).where(Postmortem.root_cause_at.is_(None))).first()
    found = pm.incident.detected_at + timedelta(hours=1)  # on time: no longer overdue
    session.execute(update(Postmortem).where(Postmortem.id == pm.id).values(root_cause_at=found))
    session.commit()
    after = flagged_incidents(session, now=now, rca_hours=48, limit=50, cached=cached)[1]
    assert after == before - 1 == flagged_incidents(session, now=now, rca_hours=48, limit=50)[1]


def test_the_flagged_list_shared_between_workers_is_the_same_list(app, session, tmp_path):
    """Filed as JSON by one worker and read back by another: equal, down to the clock."""
    from functools import partial

    from catalog.reports.cache import MetricsCache
    from catalog.reports.shared import SharedReports

    _world(session)
    now = T0 + timedelta(hours=100)
    first, second = (MetricsCache(shared=SharedReports(tmp_path / "shared")) for _ in range(2))
    with app.test_request_context():
        one = flagged_incidents(
            session, now=now, rca_hours=48, cached=partial(first.value, session)
        )
        two = flagged_incidents(
            session, now=now, rca_hours=48, cached=partial(second.value, session)
        )
    assert one == two == flagged_incidents(session, now=now, rca_hours=48) and one[1] > 0
    assert list((tmp_path / "shared").glob("*.json"))
