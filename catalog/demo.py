"""Realistic demo data: a year of LLM/ML incidents with post-mortems in every flag state.

Two paths: `load_demo` (small, through the domain functions, with post-mortems)
and `load_demo_bulk` (years of history, Core executemany, for trends and
benchmarks; no audit trail, no post-mortems).

Durations are log-normal (most incidents short, a few very long), detection
is usually by alert but sometimes by a customer hours later, and the recent
incidents are still open. Everything goes through the domain functions, so the
demo data obeys the same rules as typed-in data.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from catalog.db import utcnow
from catalog.incidents.models import SEVERITIES, Incident, incident_vectors, new_uid
from catalog.incidents.service import create_incident
from catalog.postmortems.service import TEMPLATE, save_postmortem
from catalog.releases.models import Release
from catalog.releases.service import create_release, record_load_test, save_canary
from catalog.vectors.models import Vector

SERVICES = {
    "chat-api": "assistant",
    "rag-search": "search",
    "embeddings": "ml-platform",
    "ranker": "search",
    "moderation": "trust-safety",
    "summarizer": "assistant",
}
TITLES = {
    "data-drift": [
        "Answer quality dropped after upstream schema change",
        "Ranker CTR fell: new traffic segment unseen in training",
        "Spike in out-of-vocabulary product names",
    ],
    "token-limit-overflow": [
        "context_length_exceeded errors on long conversations",
        "Summaries truncated: finish_reason=length on 30 % of calls",
        "Retriever returned 40 chunks, prompts over limit",
    ],
    "hardware-throttling": [
        "GPU thermal throttling on inference pool B",
        "Provider 429s: inference quota exhausted",
        "Time-to-first-token p95 tripled on A100 nodes",
    ],
    "dependency-latency": [
        "Vector DB p99 latency 4 s, chat timeouts",
        "Feature store slow after index rebuild",
        "Embedding API latency spike from vendor",
    ],
    "model-poisoning": [
        "Canary prompts answered with injected links",
        "Feedback loop ingested spam labels",
    ],
}


@dataclass
class DemoSummary:
    incidents: int = 0
    postmortems: int = 0
    releases: int = 0
    caused: int = 0
    """Of `incidents`, those a rolled-back canary caused."""


def _lognormal_seconds(rng: random.Random, median: float, sigma: float) -> float:
    """Whole seconds, like times people type: log-normal around `median`."""
    return float(round(median * math.exp(rng.gauss(0, sigma))))


def _active_vectors(session: Session) -> list[Vector]:
    """The vectors demo incidents may use; there must be some."""
    vectors = list(
        session.scalars(select(Vector).where(Vector.archived_at.is_(None)).order_by(Vector.id))
    )
    if not vectors:
        raise RuntimeError("No active failure vectors: run `catalog db upgrade` first.")
    return vectors


# How each team's recovery times move across the span (t = 0 at its start, 1 now):
# one team improving, one getting worse, the rest steady. A manager's six-month
# trend and 90-day comparison then have something to find.
TEAM_TRENDS = {
    "search": lambda t: 2.2 - 1.7 * t,
    "assistant": lambda t: 0.6 + 1.6 * t,
}
# The vector that keeps coming back: the same truncation on the same service,
# every RECUR_DAYS, until someone fixes it for good.
RECURRING = ("token-limit-overflow", "summarizer")
RECUR_DAYS = 18


def load_demo(
    session: Session, *, count: int = 60, seed: int = 7, days: int = 30, releases: bool = True
) -> DemoSummary:
    """Add `count` incidents spread over the last `days` days, and (with `releases`) a release
    of each service about weekly, each rolled-back canary with the incident it caused (one
    of the `count`); commit once at the end.

    Over a long span the teams' recovery times trend (TEAM_TRENDS) and one vector
    recurs on one service (RECURRING); a few of the newest incidents are still open.
    """
    rng = random.Random(seed)
    now = utcnow().replace(microsecond=0)
    vectors = _active_vectors(session)
    by_slug = {v.slug: v for v in vectors}
    summary = DemoSummary()
    # Releases draw from a stream of their own, so the incidents are the same with or
    # without them; each rolled-back canary's incident is one of the `count`.
    plan = _plan_releases(random.Random(seed * 7919 + 1), now, days) if releases and vectors else []
    caused = _canaries_with_incidents(plan)
    weights = [
        5 if v.slug in ("dependency-latency", "token-limit-overflow") else 2 for v in vectors
    ]
    recur_every = max(count // max(days // RECUR_DAYS, 1), 1)
    for n in range(count - min(len(caused), count)):
        vector = rng.choices(vectors, weights=weights)[0]
        service = rng.choice(list(SERVICES))
        still_open = n < min(3, max(1, count // 20))  # a few happening right now
        recurring = (
            days >= 2 * RECUR_DAYS
            and not still_open
            and n % recur_every == 0
            and RECURRING[0] in by_slug
        )
        if recurring:
            vector, service = by_slug[RECURRING[0]], RECURRING[1]
        linked = [vector]
        if rng.random() < 0.12:
            other = rng.choice(vectors)
            if other is not vector:
                linked.append(other)
        window = 4 * 3600 if still_open else days * 86400
        if recurring:  # evenly spread, so it shows up month after month
            age = (n // recur_every) * RECUR_DAYS * 86400 + rng.randint(600, 86400)
        else:
            age = rng.randint(600, window)
        started = now - timedelta(seconds=min(age, days * 86400))
        t = 1 - (now - started).total_seconds() / (days * 86400)
        customer = rng.random() < 0.15
        ttd = _lognormal_seconds(rng, 2400 if customer else 180, 1.1)
        detected = min(started + timedelta(seconds=ttd), now)
        trend = TEAM_TRENDS.get(SERVICES[service], lambda _t: 1.0)(t) if days >= 60 else 1.0
        ttr = _lognormal_seconds(rng, 1100 * trend, 1.0)
        if rng.random() < 0.04:
            ttr *= 40  # the multi-day outlier every real history has
        recovered = now + timedelta(days=1) if still_open else detected + timedelta(seconds=ttr)
        mitigated = detected + timedelta(seconds=round(ttr * rng.uniform(0.3, 0.8)))
        acknowledged = detected + timedelta(seconds=rng.randint(20, 300))
        titles = TITLES.get(vector.slug, [f"{vector.name} incident"])
        data = {
            "title": titles[1] if recurring else rng.choice(titles),
            "severity": rng.choices(["SEV1", "SEV2", "SEV3", "SEV4"], weights=[1, 3, 5, 2])[0],
            "service": service,
            "team": SERVICES[service],
            "vectors": [v.slug for v in linked],
            "summary": f"Demo incident {n + 1}: {vector.name.lower()} on `{service}`.",
            "detection_source": "customer"
            if customer
            else rng.choice(["alert", "alert", "internal"]),
            "started_at": started,
            "detected_at": detected,
            "acknowledged_at": acknowledged if acknowledged <= now else None,
            "mitigated_at": mitigated if mitigated <= now else None,
            "recovered_at": recovered if recovered <= now else None,
        }
        incident = create_incident(session, data, now=now)
        summary.incidents += 1
        if incident.severity in ("SEV1", "SEV2") or rng.random() < 0.25:
            _add_postmortem(session, rng, incident, now)
            summary.postmortems += 1
    session.flush()
    if plan:
        summary.releases, summary.caused = _add_releases(
            session, random.Random(seed * 7919 + 2), now, plan, caused[:count]
        )
        summary.incidents += summary.caused
    session.commit()
    return summary


RELEASE_EVERY_DAYS = 7
ROLLED_BACK_SHARE = 0.08
CAUSE_WINDOW = timedelta(hours=12)


def _plan_releases(rng: random.Random, now: datetime, days: int) -> list[dict[str, Any]]:
    """A release of every service about weekly, with canaries and guardrails; a few rolled
    back, a few abandoned, the newest of each still in progress."""
    plan: list[dict[str, Any]] = []
    for service, team in SERVICES.items():
        times, deployed = [], now - timedelta(days=days) + timedelta(hours=rng.randint(1, 96))
        while deployed < now - timedelta(hours=2):
            times.append(deployed)
            deployed += timedelta(days=RELEASE_EVERY_DAYS, hours=rng.randint(-30, 30))
        for number, deployed in enumerate(times, start=rng.randint(1, 9)):
            newest = deployed is times[-1]
            data: dict[str, Any] = {
                "service": service,
                "tag": f"v2.{number}.{rng.randint(0, 3)}",
                "team": team,
                "deployed_at": deployed,
                "canary_percent": rng.choice([1, 5, 5, 10, 25]),
                "guard_p99_ms": rng.choice([250, 300, 400]),
                "guard_error_rate": rng.choice([0.1, 0.2, 0.5]),
                "rollback_window_seconds": 300,
                "outcome": "in_progress" if newest else "promoted",
            }
            if not newest and rng.random() < ROLLED_BACK_SHARE:
                started = deployed + timedelta(minutes=rng.randint(8, 40))
                data.update(
                    outcome="rolled_back",
                    rollback_started_at=started,
                    rolled_back_at=started + timedelta(seconds=rng.randint(60, 330)),
                )
            elif not newest and rng.random() < 0.03:
                data["outcome"] = "abandoned"
            plan.append(data)
    return plan


def _canaries_with_incidents(plan: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The newest rolled-back release of each service: its canary hurt users before the
    rollback (an incident); the others were caught by their canary in time."""
    newest: dict[str, dict[str, Any]] = {}
    for data in plan:
        if data["outcome"] == "rolled_back":
            newest[data["service"]] = data
    return list(newest.values())


def _add_releases(
    session: Session,
    rng: random.Random,
    now: datetime,
    plan: list[dict[str, Any]],
    caused: list[dict[str, Any]],
) -> tuple[int, int]:
    """Record the planned releases, the incidents of the canaries in `caused`, the
    evidence, and now and then an incident that began within hours of a release of its
    service naming it as the cause, as a team that links causes does. How many releases,
    and how many incidents their canaries caused."""
    active = {v.slug: v for v in _active_vectors(session)}
    slug = "dependency-latency" if "dependency-latency" in active else next(iter(active))
    releases: list[Release] = []
    for data in plan:
        release = create_release(session, data, now=now)
        releases.append(release)
        if any(data is c for c in caused):
            _incident_of_canary(session, rng, release, slug, now)
    session.flush()
    _add_evidence(session, rng, releases)
    for incident in session.scalars(select(Incident).where(Incident.release_id.is_(None))):
        cause = next(
            (
                r
                for r in releases
                if r.service == incident.service
                and timedelta(0) <= incident.started_at - r.deployed_at <= CAUSE_WINDOW
            ),
            None,
        )
        if cause is not None and rng.random() < 0.5:
            incident.release = cause
    return len(releases), len(caused)


# p99 at 1× and 5× and the 10× error rate of each service's last promoted release: most
# within the default bars, `ranker` over its 5× bar (what a matrix is there to show).
LOAD_PROFILES = {"ranker": (120, 340, 0.1)}


def _add_evidence(session: Session, rng: random.Random, releases: list[Release]) -> None:
    """Load tests for each service's newest promoted release, and a canary analysis for
    its newest rolled-back one (samples drawn here: a slower canary)."""
    for service in SERVICES:
        shipped = [r for r in releases if r.service == service]
        promoted = [r for r in shipped if r.outcome == "promoted"]
        if promoted:
            p99_1x, p99_5x, errors_10x = LOAD_PROFILES.get(
                service, (rng.randint(60, 140), rng.randint(150, 290), rng.choice([0.0, 0.05, 0.1]))
            )
            base_rps = rng.randint(80, 400)
            for multiple, p99, errors in (
                (1, p99_1x, 0.0),
                (5, p99_5x, 0.02),
                (10, p99_5x * 2.4, errors_10x),
            ):
                rps = base_rps * multiple * (0.97 if multiple == 10 else 1.0)
                record_load_test(
                    session,
                    promoted[-1],
                    {
                        "tier": f"{multiple}x",
                        "rps": round(rps, 1),
                        "p50_ms": round(p99 / 4.5, 1),
                        "p95_ms": round(p99 / 1.6, 1),
                        "p99_ms": float(p99),
                        "error_rate": errors,
                        "requests": int(rps * 60),
                    },
                    source=rng.choice(["k6", "wrk", "locust"]),
                )
        rolled = [r for r in shipped if r.outcome == "rolled_back"]
        if rolled:
            guard = rolled[-1].guard_p99_ms or 300
            baseline = "\n".join(f"{rng.lognormvariate(4.2, 0.45):.2f}" for _ in range(600))
            canary = "\n".join(
                f"{rng.lognormvariate(4.5, 0.55) * (guard / 250):.2f}" for _ in range(300)
            )
            save_canary(session, rolled[-1], baseline.encode(), canary.encode())


def _incident_of_canary(
    session: Session, rng: random.Random, release: Release, slug: str, now: datetime
) -> None:
    """The incident a rolled-back canary caused: it began with the canary's traffic and
    ended when the rollback did."""
    assert release.rollback_started_at is not None and release.rolled_back_at is not None
    started = release.deployed_at + timedelta(minutes=rng.randint(1, 5))
    detected = min(started + timedelta(seconds=rng.randint(60, 400)), release.rollback_started_at)
    create_incident(
        session,
        {
            "title": f"Canary {release.tag} of {release.service}: p99 over its guardrail",
            "severity": "SEV3",
            "service": release.service,
            "team": release.team,
            "vectors": [slug],
            "summary": f"The {release.canary_percent} % canary breached its p99 guardrail "
            f"({release.guard_p99_ms} ms); rolled back.",
            "detection_source": "alert",
            "started_at": started,
            "detected_at": detected,
            "acknowledged_at": detected + timedelta(seconds=30),
            "mitigated_at": release.rolled_back_at,
            "recovered_at": release.rolled_back_at,
            "release": release.id,
        },
        now=now,
    )


def _add_postmortem(session: Session, rng: random.Random, incident, now: datetime) -> None:  # type: ignore[no-untyped-def]
    """Root causes found quickly, late, or not yet: every flag state shows up."""
    roll = rng.random()
    root_cause_at = None
    if roll < 0.55:
        root_cause_at = incident.detected_at + timedelta(minutes=rng.randint(60, 2400))
    elif roll < 0.75:
        root_cause_at = incident.detected_at + timedelta(minutes=rng.randint(3000, 7200))
    if root_cause_at is not None and root_cause_at > now:
        root_cause_at = None
    status = (
        "published" if root_cause_at and rng.random() < 0.7 else rng.choice(["draft", "in_review"])
    )
    due = (incident.detected_at + timedelta(days=rng.randint(5, 20))).date()
    items = [
        {
            "title": "Add an alert on the leading signal",
            "owner": rng.choice(["amira", "jonas", "li.wei", "sofia"]),
            "due_on": due,
            "done_at": now - timedelta(hours=1) if rng.random() < 0.5 else None,
            "link": None,
        },
        {
            "title": "Write the runbook step that was missing",
            "owner": rng.choice(["amira", "jonas", "li.wei", "sofia"]),
            "due_on": due + timedelta(days=7),
            "done_at": None,
            "link": None,
        },
    ]
    save_postmortem(
        session,
        incident,
        {
            "status": status,
            "root_cause_at": root_cause_at,
            "root_cause": "A change upstream that our checks did not cover."
            if root_cause_at
            else "",
            "body": _finished_body(incident) if status == "published" else TEMPLATE,
            "action_items": items,
        },
        now=now,
    )


def _finished_body(incident) -> str:  # type: ignore[no-untyped-def]
    """What a team writes before publishing: every section in its own words (a published
    post-mortem with template text would not be accepted, and the dossier counts them)."""
    vector = incident.vectors[0].name.lower() if incident.vectors else "the failure"
    return (
        "## Summary\n"
        f"{incident.service} degraded by {vector}; the on-call engineer rolled back.\n\n"
        "## Impact\n"
        f"Requests to {incident.service} failed or slowed until recovery; no data was lost.\n\n"
        "## Contributing factors\n"
        "- The change was not behind a flag.\n\n"
        "## What went well\n"
        "- The alert fired and the rollback was rehearsed.\n\n"
        "## What went wrong\n"
        "- The dashboard did not show the leading signal.\n\n"
        "## Action items\n"
        "Tracked in the action items below, each with an owner and a due date.\n"
    )


# ---- bulk: years of history for trends and benchmarks -------------------------

BULK_THRESHOLD = 2_000
BULK_DAYS = 730
BULK_CHUNK = 5_000
WEEKEND_SHARE = 0.4  # a weekend day sees 40 % of a weekday's incidents
IMPROVEMENT = 0.5  # medians at the end of the span are half those at its start
SEVERITY_WEIGHTS = {"SEV1": 1, "SEV2": 3, "SEV3": 5, "SEV4": 2}


def load_demo_bulk(
    session: Session, *, count: int, seed: int = 7, days: int = BULK_DAYS
) -> DemoSummary:
    """Insert `count` generated incidents with Core executemany, in chunks.

    The per-row ORM path (validation, audit trail, post-mortems) manages a few
    hundred incidents a second; a benchmark needs 10^5-10^6. Rows are built to
    obey the same timestamp rules the domain functions enforce (started <=
    detected <= acknowledged, mitigated <= recovered, nothing in the future,
    whole seconds), but bypassing the ORM means they are not in the audit
    trail and get no post-mortems. Commits once at the end.
    """
    rng = random.Random(seed)
    now = utcnow().replace(microsecond=0)
    vectors = _active_vectors(session)
    # Ids are assigned here: plain executemany is several times faster than
    # RETURNING, which SQLite can only keep in order one row at a time.
    next_id = (session.scalar(select(func.max(Incident.id))) or 0) + 1
    summary = DemoSummary()
    for first in range(0, count, BULK_CHUNK):
        rows, links = [], []
        for n in range(first, min(first + BULK_CHUNK, count)):
            row, linked = _bulk_incident(rng, n, count, vectors, now, days)
            rows.append(row)
            links.append(linked)
        ids = list(range(next_id, next_id + len(rows)))
        next_id += len(rows)
        for incident_id, row in zip(ids, rows, strict=True):
            row["id"] = incident_id
        session.execute(insert(Incident.__table__), rows)
        session.execute(
            insert(incident_vectors),
            [
                {"incident_id": incident_id, "vector_id": vector_id}
                for incident_id, linked in zip(ids, links, strict=True)
                for vector_id in linked
            ],
        )
        summary.incidents += len(rows)
    _resync_id_sequence(session)
    if session.get_bind().dialect.name == "postgresql":
        # Statistics now, not when autovacuum gets round to 10^5 new rows: until then
        # the planner guesses, and a lookup of 50 open incidents' vectors took 38 ms.
        session.execute(text("ANALYZE incidents, incident_vectors"))
    session.commit()
    return summary


def _resync_id_sequence(session: Session) -> None:
    """PostgreSQL's serial sequence does not see explicit ids; move it past them."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('incidents', 'id'), "
                "(SELECT max(id) FROM incidents))"
            )
        )


def _bulk_start(rng: random.Random, now: datetime, days: int) -> tuple[datetime, float]:
    """A start time with weekly seasonality, and how far into the span it is (0..1)."""
    span = days * 86400
    while True:
        ago = rng.randint(3600, span)
        started = now - timedelta(seconds=ago)
        if started.weekday() < 5 or rng.random() < WEEKEND_SHARE:
            return started, 1 - ago / span


def _bulk_incident(
    rng: random.Random, n: int, count: int, vectors: list[Vector], now: datetime, days: int
) -> tuple[dict[str, object], list[int]]:
    """One generated incident row and its vector ids; the first rows cover every category."""
    weights = [
        5 if v.slug in ("dependency-latency", "token-limit-overflow") else 2 for v in vectors
    ]
    vector = vectors[n] if n < len(vectors) else rng.choices(vectors, weights=weights)[0]
    linked = [vector.id]
    if rng.random() < 0.12:
        other = rng.choice(vectors)
        if other is not vector:
            linked.append(other.id)
    severity = (
        SEVERITIES[n % len(SEVERITIES)]
        if n < len(SEVERITIES)
        else rng.choices(list(SEVERITY_WEIGHTS), weights=list(SEVERITY_WEIGHTS.values()))[0]
    )
    service = rng.choice(list(SERVICES))
    still_open = n >= count - max(3, count // 2000)  # a few happening right now
    if still_open:
        started, progress = now - timedelta(seconds=rng.randint(600, 4 * 3600)), 1.0
    else:
        started, progress = _bulk_start(rng, now, days)
    better = 1 - IMPROVEMENT * progress  # detection and recovery improve over the span
    customer = rng.random() < 0.15
    ttd = _lognormal_seconds(rng, (2400 if customer else 180) * better, 1.1)
    detected = min(started + timedelta(seconds=ttd), now)
    ttr = _lognormal_seconds(rng, 1100 * better, 1.0)
    if rng.random() < 0.01:
        ttr *= 40 + rng.random() * 200  # multi-day outliers
    ttr = round(ttr)
    recovered = None if still_open else detected + timedelta(seconds=ttr)
    if recovered is not None and recovered > now:
        recovered = None
    mitigated = detected + timedelta(seconds=round(ttr * rng.uniform(0.3, 0.8)))
    acknowledged = detected + timedelta(seconds=rng.randint(20, 300))
    title_vector = next(v for v in vectors if v.id == linked[0])
    row: dict[str, object] = {
        "uid": new_uid(),
        "title": rng.choice(TITLES.get(title_vector.slug, [f"{title_vector.name} incident"])),
        "severity": severity,
        "service": service,
        "team": SERVICES[service],
        "summary": f"Generated incident {n + 1} on `{service}`.",
        "detection_source": "customer" if customer else rng.choice(["alert", "alert", "internal"]),
        "started_at": started,
        "detected_at": detected,
        "acknowledged_at": acknowledged if acknowledged <= now else None,
        "mitigated_at": mitigated if mitigated <= now else None,
        "recovered_at": recovered,
        "external_source": None,
        "external_id": None,
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }
    return row, linked
