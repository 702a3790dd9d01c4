"""The dossier: the failure-mode catalog and its numbers, for a reader outside the team.

A candidate hands it to a hiring committee, a team lead to an auditor. It is
built once here and written two ways from the same `Dossier` (Markdown and a
print-ready HTML page), so the two never disagree. Every figure comes from
the metrics module through the cache, as on the dashboard.

The window is the last 12 months (366 days to the minute), split in two
halves of 183 days for the incident-count trend; the dossier says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from flask import render_template
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.db import utcnow
from catalog.errors import FieldErrors
from catalog.exports.redact import WITHHELD, Redactor
from catalog.incidents.models import Incident
from catalog.incidents.service import IncidentFilters, distinct_values
from catalog.incidents.timeline import timeline_of
from catalog.postmortems.draft import TimelineRow, timeline_rows
from catalog.postmortems.models import Postmortem
from catalog.postmortems.service import incident_root_cause_flag, root_cause_seconds
from catalog.releases.models import LoadTest, Release
from catalog.releases.service import Bars, TierVerdict, bars_for, judge
from catalog.reports.cache import metrics_cache
from catalog.reports.changes import ChangeReport, compute_changes
from catalog.reports.metrics import GroupMetrics, over_target
from catalog.reports.query import ReportQuery
from catalog.rules import is_storable
from catalog.settings import Settings
from catalog.vectors.models import Vector

HALF = timedelta(days=183)
POSTMORTEMS_LISTED = 30
TIMELINES_SHOWN = 5
"""Published post-mortems whose timeline the dossier shows, the most recent first."""
TIMELINE_ENTRIES_SHOWN = 20
PUBLISHED_ON_TIME_NEEDED = 3


@dataclass(frozen=True)
class VectorLine:
    vector: Vector
    metrics: GroupMetrics

    @property
    def ttd_met(self) -> bool | None:
        return _met(self.metrics.ttd.median, self.metrics.ttd.target)

    @property
    def ttr_met(self) -> bool | None:
        return _met(self.metrics.ttr.median, self.metrics.ttr.target)


def _met(median: float | None, target: int) -> bool | None:
    return None if median is None else not over_target(median, target)


@dataclass
class PostmortemLine:
    incident: Incident
    postmortem: Postmortem
    flag: str
    root_cause_seconds: float | None
    timeline: list[TimelineRow] = field(default_factory=list)
    """Filled for the most recent published ones (TIMELINES_SHOWN)."""

    @property
    def actions_done(self) -> int:
        return sum(item.done_at is not None for item in self.postmortem.action_items)


@dataclass(frozen=True)
class MatrixRow:
    """One service in the Deployment Readiness Matrix: its newest load-tested release's
    tiers against the service's bars, that release's canary and guardrails, and every
    rollback of the window measured against its own window."""

    service: str
    release: Release
    """The newest release of the window with load tests (or the newest, without any)."""
    bars: Bars
    tiers: dict[int, tuple[LoadTest, TierVerdict] | None]
    """1, 5 and 10: the tier and its verdict, or None when that tier was not tested."""
    rollbacks: list[tuple[float, int | None]]
    """(measured seconds, window seconds) of each rollback of the window."""

    @property
    def longest_rollback(self) -> float | None:
        return max((seconds for seconds, _ in self.rollbacks), default=None)

    @property
    def rollbacks_within(self) -> int:
        return sum(1 for seconds, window in self.rollbacks if window is None or seconds <= window)

    @property
    def problems(self) -> list[str]:
        """What keeps this service from the readiness check, in words."""
        out = []
        if not any(self.tiers.values()):
            out.append("not load-tested")
        for multiple in (1, 5, 10) if out == [] else ():
            tested = self.tiers.get(multiple)
            if tested is None:
                out.append(f"no {multiple}× tier")
            elif tested[1].met is False:
                out.append(f"{multiple}× over its bar ({tested[1].bar})")
        late = len(self.rollbacks) - self.rollbacks_within
        if late:
            out.append(f"{late} rollback{'s' if late > 1 else ''} past the window")
        return out


@dataclass(frozen=True)
class Check:
    label: str
    passed: bool
    evidence: str


NAME_MAX = 100
CONTEXT_MAX = 1200


@dataclass(frozen=True)
class DossierOptions:
    """Who hands the dossier over, why, and whether names are hidden (exports page, CLI)."""

    name: str = ""
    role: str = ""
    context: str = ""
    redact: bool = False

    @classmethod
    def read(cls, args: Mapping[str, str]) -> DossierOptions:
        """From a query string; ValidationError names each bad field."""
        errors = FieldErrors()
        values = {}
        for name, limit in (("name", NAME_MAX), ("role", NAME_MAX), ("context", CONTEXT_MAX)):
            value = (args.get(name) or "").replace("\r\n", "\n").strip()
            if len(value) > limit:
                errors.add(name, f"At most {limit} characters ({len(value)} given).")
            elif not is_storable(value):
                errors.add(name, "Contains control characters or invalid Unicode.")
            elif name != "context" and "\n" in value:
                errors.add(name, "One line only.")
            values[name] = value
        redact = (args.get("redact") or "").lower()
        if redact not in ("", "0", "1", "y", "yes", "on", "true", "false", "no"):
            errors.add("redact", "Redact must be 1 (hide names) or empty.")
        errors.raise_if_any()
        return cls(**values, redact=redact in ("1", "y", "yes", "on", "true"))

    def args(self) -> dict[str, str]:
        """The query string that gives these options again (download links)."""
        out = {"name": self.name, "role": self.role, "context": self.context}
        if self.redact:
            out["redact"] = "1"
        return {k: v for k, v in out.items() if v}


@dataclass
class Dossier:
    generated_at: datetime
    window_start: datetime
    half_start: datetime
    settings: Settings
    overall: GroupMetrics
    vectors: list[VectorLine]
    postmortems: list[PostmortemLine]
    postmortem_total: int
    flag_counts: dict[str, int]
    status_counts: dict[str, int]
    months: list[GroupMetrics]
    recent_count: int
    previous_count: int
    matrix: list[MatrixRow] = field(default_factory=list)
    changes: ChangeReport | None = None
    checks: list[Check] = field(default_factory=list)
    options: DossierOptions = field(default_factory=DossierOptions)
    redactor: Redactor | None = None

    def title(self, incident: Incident) -> str:
        """An incident's title, or in a redacted dossier its neutral label."""
        return self.redactor.title(incident) if self.redactor else incident.title

    def text(self, value: str | None) -> str:
        """The catalog's own text, with service, team and incident names replaced if redacted."""
        return self.redactor.scrub(value) if self.redactor else (value or "")

    @property
    def ready(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def busiest_month(self) -> int:
        return max((m.count for m in self.months), default=0)


def build_dossier(
    session: Session,
    settings: Settings,
    *,
    now: datetime | None = None,
    options: DossierOptions | None = None,
) -> Dossier:
    now = now or utcnow()
    options = options or DossierOptions()
    half_start = now - HALF
    window_start = half_start - HALF
    cache = metrics_cache()

    def metrics(group_by: str, since: datetime, until: datetime) -> list[GroupMetrics]:
        filters = IncidentFilters(since=since, until=until)
        report = cache.metrics(session, settings, group_by=group_by, filters=filters, now=now)
        return report.groups

    overall = metrics("overall", window_start, now)[0]
    vectors = {v.slug: v for v in session.scalars(select(Vector))}
    lines = [
        VectorLine(vectors[g.key], g)
        for g in metrics("vector", window_start, now)
        if g.key in vectors and (vectors[g.key].archived_at is None or g.count)
    ]
    recent = metrics("overall", half_start, now)[0].count
    previous = metrics("overall", window_start, half_start)[0].count
    months = metrics("month", window_start, now)

    rows = session.scalars(
        select(Incident)
        .join(Postmortem, Postmortem.incident_id == Incident.id)
        .where(Incident.started_at >= window_start, Incident.started_at < now)
        .order_by(Incident.detected_at.desc(), Incident.id.desc())
    ).all()
    pm_lines = []
    for incident in rows:
        assert incident.postmortem is not None
        flag = incident_root_cause_flag(incident, now=now, rca_hours=settings.rca_hours)
        pm_lines.append(
            PostmortemLine(incident, incident.postmortem, flag, root_cause_seconds(incident))
        )
    published = [line for line in pm_lines if line.postmortem.status == "published"]
    _add_timelines(session, published, redact=options.redact)
    flag_counts = {f: 0 for f in ("on_time", "late", "overdue", "pending")}
    status_counts = {s: 0 for s in ("published", "in_review", "draft")}
    for line in pm_lines:
        flag_counts[line.flag] += 1
        status_counts[line.postmortem.status] += 1

    releases = session.scalars(
        select(Release)
        .where(Release.deployed_at >= window_start, Release.deployed_at < now)
        .order_by(Release.service, Release.deployed_at.desc(), Release.id.desc())
    ).all()
    window = ReportQuery(
        first_day=window_start.astimezone(settings.zone).date(),
        last_day=now.astimezone(settings.zone).date(),
        period="month",
        range_key=None,
    )
    dossier = Dossier(
        generated_at=now,
        window_start=window_start,
        half_start=half_start,
        settings=settings,
        overall=overall,
        vectors=lines,
        postmortems=pm_lines[:POSTMORTEMS_LISTED],
        postmortem_total=len(pm_lines),
        flag_counts=flag_counts,
        status_counts=status_counts,
        months=months,
        recent_count=recent,
        previous_count=previous,
        matrix=_matrix(session, releases),
        changes=compute_changes(session, settings, window, "service"),
        options=options,
        redactor=_redactor(session, pm_lines) if options.redact else None,
    )
    published_on_time = sum(
        1 for line in pm_lines if line.postmortem.status == "published" and line.flag == "on_time"
    )
    dossier.checks = _checks(dossier, published_on_time)
    return dossier


def _matrix(session: Session, releases: list[Release]) -> list[MatrixRow]:
    by_service: dict[str, list[Release]] = {}
    for release in releases:  # newest first within each service
        by_service.setdefault(release.service, []).append(release)
    rows = []
    for service, shipped in sorted(by_service.items()):
        tested = next((r for r in shipped if r.load_tests), shipped[0])
        bars = bars_for(session, service)
        tiers: dict[int, tuple[LoadTest, TierVerdict] | None] = {1: None, 5: None, 10: None}
        for test in tested.load_tests:
            if test.multiplier in tiers:
                tiers[test.multiplier] = (test, judge(test, bars))
        rollbacks = [
            (r.rollback_seconds, r.rollback_window_seconds)
            for r in shipped
            if r.rollback_seconds is not None
        ]
        rows.append(MatrixRow(service, tested, bars, tiers, rollbacks))
    return rows


def _add_timelines(session: Session, published: list[PostmortemLine], *, redact: bool) -> None:
    """What happened when, for the most recent published post-mortems: milestones and
    timeline entries, without who wrote them (the dossier leaves the team's names out);
    redacted, without the entries' free text either."""
    for line in published[:TIMELINES_SHOWN]:  # small queries: 20 rows, not whole timelines
        updates = timeline_of(session, line.incident.id, limit=TIMELINE_ENTRIES_SHOWN)
        rows = timeline_rows(line.incident, updates, authors=False)
        if redact:
            rows = [row if row.milestone else replace(row, text=WITHHELD) for row in rows]
        line.timeline = rows


TAG_REDACTED_FROM = 4
"""Version tags this long or longer are replaced: `quasar-rc7` can name a product; `7` or
`v2` names nothing, and replacing them would replace every such number in the text."""


def _redactor(session: Session, lines: list[PostmortemLine]) -> Redactor:
    """Every service and team in the catalog (of incidents and of releases), the titles of
    the incidents listed, and the releases' version tags."""
    return Redactor.of(
        [*distinct_values(session, Incident.service), *session.scalars(select(Release.service))],
        [*distinct_values(session, Incident.team), *session.scalars(select(Release.team))],
        [line.incident.title for line in lines],
        releases=[
            tag
            for tag in session.scalars(select(Release.tag).distinct())
            if len(tag) >= TAG_REDACTED_FROM
        ],
    )


def _checks(d: Dossier, published_on_time: int) -> list[Check]:
    measured = [line for line in d.vectors if line.metrics.count]
    missing = [
        line.vector.name for line in measured if line.ttd_met is False or line.ttr_met is False
    ]
    if not measured:
        targets = Check("Every vector meets its MTTD and MTTR targets", False, "No incidents yet.")
    elif missing:
        targets = Check(
            "Every vector meets its MTTD and MTTR targets",
            False,
            f"Median over target for {len(missing)} of {len(measured)} vectors with incidents: "
            + ", ".join(missing)
            + ".",
        )
    else:
        targets = Check(
            "Every vector meets its MTTD and MTTR targets",
            True,
            f"All {len(measured)} vectors with incidents have their medians within target.",
        )
    hours = d.settings.rca_hours
    postmortems = Check(
        f"At least {PUBLISHED_ON_TIME_NEEDED} published post-mortems with the root cause "
        f"within {hours} hours",
        published_on_time >= PUBLISHED_ON_TIME_NEEDED,
        f"{published_on_time} published with the root cause found within {hours} hours "
        f"(of {d.postmortem_total} post-mortems).",
    )
    if d.recent_count <= d.previous_count:
        word = "flat" if d.recent_count == d.previous_count else "falling"
        trend = Check(
            "Incident count not rising over six months",
            True,
            f"{word.capitalize()}: {d.recent_count} in the last six months, "
            f"{d.previous_count} in the six before.",
        )
    else:
        trend = Check(
            "Incident count not rising over six months",
            False,
            f"Rising: {d.recent_count} in the last six months, {d.previous_count} in the six before.",
        )
    return [targets, postmortems, trend, _readiness_check(d)]


READINESS_CHECK = (
    "p99 within the bars at 1× and 5×, errors within budget at 10×, rollbacks within their window"
)


def _readiness_check(d: Dossier) -> Check:
    if not d.matrix:
        return Check(READINESS_CHECK, False, "No releases recorded in the last 12 months.")
    short = [(row.service, row.problems) for row in d.matrix if row.problems]
    rollbacks = sum(len(row.rollbacks) for row in d.matrix)
    if not short:
        return Check(
            READINESS_CHECK,
            True,
            f"All {len(d.matrix)} services with releases: every tier within its bar; "
            f"{rollbacks} rollback{'' if rollbacks == 1 else 's'}, all within the window.",
        )
    return Check(
        READINESS_CHECK,
        False,
        "; ".join(f"{d.text(service)}: {', '.join(problems)}" for service, problems in short) + ".",
    )


def dossier_markdown(dossier: Dossier) -> str:
    return render_template("exports/dossier.md", d=dossier).strip() + "\n"


def dossier_html(dossier: Dossier, *, toolbar: bool = False) -> str:
    """A whole, self-contained page (its CSS inline): it is saved, mailed and printed alone."""
    return render_template("exports/dossier.html", d=dossier, show_toolbar=toolbar)


# Inline CSS only; no script, no external fetch of any kind.
DOSSIER_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
