"""Incident rules: validation of the five timestamps, derived status, CRUD, listing.

Every rule of SPEC §2 for incidents lives in `validate_incident`; the form and
the API both call it, so their messages and behaviour are the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session, aliased

from catalog.auth.models import User
from catalog.db import UTCDateTime, seconds_between, utcnow
from catalog.errors import FieldErrors, NotFoundError, ValidationError
from catalog.incidents import timeline
from catalog.incidents.models import STATUSES, Incident, incident_vectors
from catalog.incidents.spec import INCIDENT, PEOPLE, SEVERITIES, TIMESTAMP_FIELDS
from catalog.locking import check_version
from catalog.postmortems.models import Postmortem
from catalog.releases.models import Release
from catalog.rules import MAX_ID, is_storable
from catalog.timefmt import iso_utc
from catalog.vectors.models import TargetsInSeconds, Vector

if TYPE_CHECKING:
    from catalog.reports.chunks import ChunkCache
    from catalog.settings import Settings

EDITABLE = INCIDENT.names
MAX_PER_PAGE = 500
MAX_PAGE = 1_000_000  # keeps OFFSET inside a 64-bit integer


def incident_status(incident: Incident) -> str:
    """Derived, never stored: recovered > mitigated > investigating."""
    if incident.recovered_at is not None:
        return "recovered"
    if incident.mitigated_at is not None:
        return "mitigated"
    return "investigating"


def _check_order(errors: FieldErrors, ts: Mapping[str, datetime | None]) -> None:
    """The ordering rules between the five timestamps (SPEC §2)."""
    started, detected = ts["started_at"], ts["detected_at"]
    acknowledged, mitigated, recovered = (
        ts["acknowledged_at"],
        ts["mitigated_at"],
        ts["recovered_at"],
    )
    if started and detected and detected < started:
        errors.add("detected_at", "Detected cannot be before Started.")
    if acknowledged and detected and acknowledged < detected:
        errors.add("acknowledged_at", "Acknowledged cannot be before Detected.")
    if mitigated and started and mitigated < started:
        errors.add("mitigated_at", "Mitigated cannot be before Started.")
    if recovered and mitigated and recovered < mitigated:
        errors.add("recovered_at", "Recovered cannot be before Mitigated.")
    if recovered and detected and recovered < detected:
        errors.add("recovered_at", "Recovered cannot be before Detected.")


def _check_root_cause(
    errors: FieldErrors, detected: datetime | None, current: Incident | None
) -> None:
    """An edit may not move detection past the post-mortem's root cause (SPEC §2 flag).

    The post-mortem refuses a root cause before detection; this is the same
    rule seen from the incident, so neither side can make it negative.
    """
    pm = current.postmortem if current is not None else None
    if detected is None or pm is None or pm.root_cause_at is None:
        return
    if detected > pm.root_cause_at:
        errors.add(
            "detected_at",
            "Detected cannot be after the root cause was identified "
            f"({iso_utc(pm.root_cause_at)}, in the post-mortem); change that first.",
        )


def validate_incident(
    session: Session,
    data: Mapping[str, Any],
    *,
    current: Incident | None = None,
    now: datetime | None = None,
    allow_archived: bool = False,
    catalog: Mapping[str, Vector] | None = None,
    errors: FieldErrors | None = None,
) -> dict[str, Any]:
    """Check a full set of incident fields; return cleaned values or raise ValidationError
    with every message at once: each field's own (INCIDENT), then the rules between them.

    `allow_archived` is for restoring history (a backup): an old incident may
    name a vector archived since; new incidents may not. `catalog` (every
    vector by slug) lets an import of 10^5 records look vectors up in memory
    instead of querying, and flushing, once per record. `errors` may hold what the
    surface could not read (a form's unparseable time); those fields are left as they are.
    """
    now = now or utcnow()
    errors = errors if errors is not None else FieldErrors()
    clean = INCIDENT.check(errors, data, now=now)
    stamps = {field: clean[field] for field in TIMESTAMP_FIELDS}
    _check_order(errors, stamps)
    _check_root_cause(errors, stamps["detected_at"], current)
    clean["vectors"] = _resolve_vectors(
        session,
        errors,
        clean["vectors"],
        current,
        allow_archived=allow_archived,
        catalog=catalog,
    )
    for name in PEOPLE:
        clean[name] = _resolve_person(session, errors, name, clean[name], current)
    clean["release"] = _resolve_release(session, errors, clean["release"])
    errors.raise_if_any()
    return clean


def _resolve_person(
    session: Session, errors: FieldErrors, name: str, email: str | None, current: Incident | None
) -> User | None:
    """The account an e-mail names: an active one, or the one already in the role (an
    edit of something else must not fail because the lead has since left)."""
    if not email or errors.has(name):
        return None
    label = INCIDENT[name].label
    user = session.scalar(select(User).where(User.email == email)) if is_storable(email) else None
    if user is None:
        errors.add(name, f"{label}: there is no account with the e-mail {email[:254]}.")
        return None
    if not user.active and (current is None or getattr(current, name) is not user):
        errors.add(name, f"{label}: {email} is deactivated; pick an active account.")
        return None
    return user


def _resolve_release(
    session: Session, errors: FieldErrors, release_id: int | None
) -> Release | None:
    """The release an id names (already checked as an id, or None)."""
    if release_id is None or errors.has("release"):
        return None
    # FOR SHARE on PostgreSQL: a release being deleted waits for this incident's commit
    # (and then refuses), or this waits for the delete (and then finds no release).
    release = session.get(Release, release_id, with_for_update={"read": True})
    if release is None:
        errors.add("release", f"Caused by release: there is no release #{release_id}.")
    return release


def _resolve_vectors(
    session: Session,
    errors: FieldErrors,
    wanted: list[str] | None,
    current: Incident | None,
    *,
    allow_archived: bool = False,
    catalog: Mapping[str, Vector] | None = None,
) -> list[Vector]:
    """The vectors `wanted` names (already checked as a list of slugs, or None)."""
    if not wanted:
        return []
    if catalog is not None:
        found = {s: catalog[s] for s in wanted if s in catalog}
    else:
        queryable = [s for s in wanted if is_storable(s)]  # NUL etc. would make PostgreSQL fail
        found = {
            v.slug: v for v in session.scalars(select(Vector).where(Vector.slug.in_(queryable)))
        }
    already = {v.slug for v in current.vectors} if current is not None else set()
    for slug in wanted:
        vector = found.get(slug)
        if vector is None:
            errors.add("vectors", f"Unknown failure vector {slug[:100]!r}.")
        elif vector.archived and slug not in already and not allow_archived:
            errors.add("vectors", f"Failure vector {slug!r} is archived; pick an active one.")
    return [found[s] for s in wanted if s in found]


def get_incident(session: Session, incident_id: int) -> Incident:
    if not 1 <= incident_id <= MAX_ID:
        raise NotFoundError(f"There is no incident #{incident_id}.")
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFoundError(f"There is no incident #{incident_id}.")
    return incident


def create_incident(
    session: Session,
    data: Mapping[str, Any],
    *,
    now: datetime | None = None,
    external: tuple[str, str] | None = None,
    errors: FieldErrors | None = None,
) -> Incident:
    """Validate and add an incident; `external` is its (source, id) key from another system.

    The key goes into the INSERT itself, so two writers racing on one key clash on the
    unique index before either has written anything else (on PostgreSQL, setting it in a
    later UPDATE let them deadlock on the rows both had written meanwhile).
    """
    clean = validate_incident(session, data, now=now, errors=errors)
    incident = Incident(**clean)
    if external is not None:
        incident.external_source, incident.external_id = external
    session.add(incident)
    session.flush()
    _check_release_kept(session, incident)
    return incident


def update_incident(
    session: Session,
    incident: Incident,
    data: Mapping[str, Any],
    *,
    now: datetime | None = None,
    errors: FieldErrors | None = None,
) -> Incident:
    """Apply a partial change against the version the caller read (`errors`: see
    validate_incident)."""
    check_version(incident, data.get("version"), noun="incident")
    merged: dict[str, Any] = {field: getattr(incident, field) for field in EDITABLE}
    merged["vectors"] = incident.vector_slugs
    merged["lead"], merged["comms_lead"] = incident.lead_email, incident.comms_lead_email
    merged["release"] = incident.release_id
    before = dict(merged)
    merged.update({k: v for k, v in data.items() if k in EDITABLE})
    clean = validate_incident(session, merged, current=incident, now=now, errors=errors)
    for field, value in clean.items():
        setattr(incident, field, value)
    incident.updated_at = utcnow()  # always an UPDATE, so the version moves on
    for kind, body in timeline.changes_worth_telling(before, incident):
        timeline.record(session, incident, kind, body, at=now)
    session.flush()
    if incident.release_id != before["release"]:
        _check_release_kept(session, incident)
    return incident


def _check_release_kept(session: Session, incident: Incident) -> None:
    """The release the incident names is still there now that this write holds SQLite's
    write lock: a delete that committed after validation is caught here (PostgreSQL's
    FOR SHARE in `_resolve_release` already kept it)."""
    if incident.release_id is None:
        return
    if session.scalar(select(Release.id).where(Release.id == incident.release_id)) is None:
        raise ValidationError(
            {"release": [f"Caused by release: release #{incident.release_id} was just deleted."]}
        )


def delete_incident(session: Session, incident: Incident) -> None:
    """Delete an incident with its post-mortem and action items (stated in the API docs)."""
    session.delete(incident)
    session.flush()


# ---- listing ---------------------------------------------------------------

SORTS = {
    "started": lambda: Incident.started_at.asc(),
    "-started": lambda: Incident.started_at.desc(),
    "detected": lambda: Incident.detected_at.asc(),
    "-detected": lambda: Incident.detected_at.desc(),
    "severity": lambda: Incident.severity.asc(),
    "-severity": lambda: Incident.severity.desc(),
    "ttd": lambda: seconds_between(Incident.started_at, Incident.detected_at).asc(),
    "-ttd": lambda: seconds_between(Incident.started_at, Incident.detected_at).desc(),
    "title": lambda: Incident.title.asc(),
}


ROOT_CAUSE_FILTERS = ("flagged", "overdue", "late", "pending", "on_time")
"""The list's root-cause filter: a flag of postmortems.service.root_cause_flag, or
`flagged` (overdue or late: what *Needs attention* lists)."""
BLANK = "(none)"
"""A team or service filter's value for incidents without one: the key of a breakdown's
row for them (metrics groups NULL and '' under it)."""


@dataclass(frozen=True)
class Clock:
    """What the filters that move with time (breaching, root-cause flag) are judged at."""

    now: datetime
    rca_hours: int
    mttr_from: str
    mttr_target_minutes: int

    @classmethod
    def of(cls, settings: Settings, now: datetime) -> Clock:
        return cls(now, settings.rca_hours, settings.mttr_from, settings.mttr_target_minutes)


@dataclass(frozen=True)
class IncidentFilters:
    vector: str | None = None
    severity: str | None = None
    service: str | None = None
    team: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None
    lead: str | None = None
    """An account's e-mail: the incidents it leads."""
    rca: str | None = None
    """One of ROOT_CAUSE_FILTERS; needs `clock`."""
    breaching: bool = False
    """Open and past the ttr target (a vector filter's own target, else the incident's
    strictest), as the metrics count `breaching`; needs `clock`."""
    clock: Clock | None = None
    caused_by_release: bool = False
    """Only incidents that name the release that caused them (change metrics' drill-down)."""

    @property
    def moves_with_time(self) -> bool:
        """Whether the same filters match other incidents later with no write: not cacheable."""
        return bool(self.rca or self.breaching)


# `cached(name, compute, keep=None, *, valid_until=None, now=None)`: MetricsCache.value
# bound to a session (catalog.reports.cache.cached_values), or nothing kept.
Cached = Callable[..., Any]


@dataclass(frozen=True)
class Page:
    items: Sequence[IncidentSummary]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def check_filters(filters: IncidentFilters) -> None:
    """Refuse filter values that can never match, with the field named."""
    errors = FieldErrors()
    if filters.severity and filters.severity not in SEVERITIES:
        errors.add("severity", f"Severity must be one of: {', '.join(SEVERITIES)}.")
    if filters.status and filters.status not in (*STATUSES, "open"):
        errors.add("status", "Status must be investigating, mitigated, recovered or open.")
    for name in ("vector", "service", "team", "q", "lead"):
        value = getattr(filters, name)
        if value and not is_storable(value):
            errors.add(name, "Contains control characters or invalid Unicode.")
    if filters.since and filters.until and filters.until < filters.since:
        errors.add("until", "Until cannot be before since.")
    if filters.rca and filters.rca not in ROOT_CAUSE_FILTERS:
        errors.add("rca", f"Root cause must be one of: {', '.join(ROOT_CAUSE_FILTERS)}.")
    errors.raise_if_any()
    if filters.moves_with_time and filters.clock is None:
        raise TypeError("The breaching and root-cause filters need a clock.")


def apply_filters(query: Select[Any], filters: IncidentFilters) -> Select[Any]:
    """Shared by the incident list and the metrics: the same filter means the same rows."""
    if filters.vector:
        query = query.where(
            Incident.id.in_(
                select(incident_vectors.c.incident_id)
                .join(Vector, Vector.id == incident_vectors.c.vector_id)
                .where(Vector.slug == filters.vector)
            )
        )
    if filters.severity:
        query = query.where(Incident.severity == filters.severity)
    for column, value in ((Incident.service, filters.service), (Incident.team, filters.team)):
        if value == BLANK:
            query = query.where(or_(column.is_(None), column == ""))
        elif value:
            query = query.where(column == value)
    if filters.status == "recovered":
        query = query.where(Incident.recovered_at.is_not(None))
    elif filters.status == "mitigated":
        query = query.where(
            and_(Incident.recovered_at.is_(None), Incident.mitigated_at.is_not(None))
        )
    elif filters.status == "investigating":
        query = query.where(and_(Incident.recovered_at.is_(None), Incident.mitigated_at.is_(None)))
    elif filters.status == "open":
        query = query.where(Incident.recovered_at.is_(None))
    if filters.lead:
        lead = select(User.id).where(User.email == filters.lead.lower()).scalar_subquery()
        query = query.where(Incident.lead_id == lead)
    if filters.since:
        query = query.where(Incident.started_at >= filters.since)
    if filters.until:
        query = query.where(Incident.started_at < filters.until)
    if filters.caused_by_release:
        query = query.where(Incident.release_id.is_not(None))
    if filters.rca and filters.clock:
        query = query.where(_root_cause_condition(filters.rca, filters.clock))
    if filters.breaching and filters.clock:
        query = query.where(_breaching_condition(filters.vector, filters.clock))
    if filters.q:
        pattern = (
            "%" + filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        query = query.where(
            or_(
                Incident.title.ilike(pattern, escape="\\"),
                Incident.service.ilike(pattern, escape="\\"),
            )
        )
    return query


def _root_cause_condition(flag: str, clock: Clock) -> Any:
    """SQL for root_cause_flag (postmortems.service) at `clock.now`, as flagged_incidents
    narrows it: no post-mortem runs on the same clock as no root cause."""
    found = (
        select(Postmortem.root_cause_at)
        .where(Postmortem.incident_id == Incident.id)
        .scalar_subquery()
    )
    cutoff = bindparam(
        "rca_cutoff", clock.now - timedelta(hours=clock.rca_hours), type_=UTCDateTime()
    )
    took = seconds_between(Incident.detected_at, found)
    threshold = clock.rca_hours * 3600
    overdue = and_(found.is_(None), Incident.detected_at < cutoff)
    late = or_(found < Incident.detected_at, took > threshold)
    conditions = {
        "overdue": overdue,
        "pending": and_(found.is_(None), Incident.detected_at >= cutoff),
        "late": late,
        "on_time": and_(found >= Incident.detected_at, took <= threshold),
        "flagged": or_(overdue, late),
    }
    return conditions[flag]


def _breaching_condition(vector: str | None, clock: Clock) -> Any:
    """SQL for metrics.is_breaching at `clock.now`: open and strictly over the ttr target.
    Within a vector filter the vector's own target applies, as in a vector group."""
    if vector:
        minutes: Any = (
            select(Vector.mttr_target_minutes).where(Vector.slug == vector).scalar_subquery()
        )
    else:
        strictest = (
            select(func.min(Vector.mttr_target_minutes))
            .join(incident_vectors, incident_vectors.c.vector_id == Vector.id)
            .where(incident_vectors.c.incident_id == Incident.id)
            .scalar_subquery()
        )
        minutes = func.coalesce(strictest, clock.mttr_target_minutes)
    origin = Incident.started_at if clock.mttr_from == "started" else Incident.detected_at
    elapsed = seconds_between(origin, bindparam("breach_now", clock.now, type_=UTCDateTime()))
    return and_(Incident.recovered_at.is_(None), elapsed > minutes * 60)


@dataclass(frozen=True, slots=True)
class VectorRef(TargetsInSeconds):
    """What a list needs of a linked vector: its name and the targets an incident meets."""

    slug: str
    name: str
    mttd_target_minutes: int
    mttr_target_minutes: int


@dataclass(frozen=True, slots=True)
class PostmortemRef:
    """What a list needs of a post-mortem: whether there is one, and its root-cause time."""

    root_cause_at: datetime | None


@dataclass(frozen=True, slots=True)
class IncidentSummary:
    """An incident as a list shows it: every column, its vectors and its root-cause time.

    Read with three plain queries instead of loading ORM objects (identity map,
    change tracking, a post-mortem with its action items), which cost a page of
    50 several milliseconds. It has the attributes of `Incident` that reading
    code uses, so the one definition of each derived value (status, durations,
    flags, the API's JSON) serves both; nothing can be written through it.
    """

    id: int
    uid: str
    title: str
    severity: str
    service: str
    team: str
    summary: str
    detection_source: str
    started_at: datetime
    detected_at: datetime
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    recovered_at: datetime | None
    external_source: str | None
    external_id: str | None
    release_id: int | None
    created_at: datetime
    updated_at: datetime
    version: int
    lead_email: str | None = None
    comms_lead_email: str | None = None
    vectors: tuple[VectorRef, ...] = ()
    postmortem: PostmortemRef | None = None

    @property
    def vector_slugs(self) -> list[str]:
        return [v.slug for v in self.vectors]


_LEAD = aliased(User)
_COMMS_LEAD = aliased(User)
_SUMMARY_COLUMNS = (
    *(
        getattr(Incident, name)
        for name in IncidentSummary.__dataclass_fields__
        if name not in ("vectors", "postmortem", "lead_email", "comms_lead_email")
    ),
    _LEAD.email,
    _COMMS_LEAD.email,
)
# Built once: a list page runs these for every request, and assembling a select of
# 20 columns costs more than SQLite takes to answer it. The roles' e-mails come in
# the same round trip (primary-key joins).
_SUMMARY_QUERY = (
    select(*_SUMMARY_COLUMNS)
    .outerjoin(_LEAD, _LEAD.id == Incident.lead_id)
    .outerjoin(_COMMS_LEAD, _COMMS_LEAD.id == Incident.comms_lead_id)
)
_VECTORS_OF = (
    select(
        incident_vectors.c.incident_id,
        Vector.slug,
        Vector.name,
        Vector.mttd_target_minutes,
        Vector.mttr_target_minutes,
    )
    .join(Vector, Vector.id == incident_vectors.c.vector_id)
    .where(incident_vectors.c.incident_id.in_(bindparam("ids", expanding=True)))
    .order_by(Vector.name)
)


_ROOT_CAUSES_OF = select(Postmortem.incident_id, Postmortem.root_cause_at).where(
    Postmortem.incident_id.in_(bindparam("ids", expanding=True))
)


def _summaries(session: Session, rows: Sequence[Any]) -> tuple[IncidentSummary, ...]:
    """Rows of _SUMMARY_COLUMNS with their vectors, by name as on an Incident (no post-mortems)."""
    ids = [row[0] for row in rows]
    vectors: dict[int, list[VectorRef]] = {i: [] for i in ids}
    if ids:
        for incident_id, *vector in session.execute(_VECTORS_OF, {"ids": ids}):
            vectors[incident_id].append(VectorRef(*vector))
    return tuple(IncidentSummary(*row, vectors=tuple(vectors[row[0]])) for row in rows)


def _with_postmortems(session: Session, items: Sequence[IncidentSummary]) -> list[IncidentSummary]:
    """Each summary with its post-mortem's root-cause time (post-mortems have a version of
    their own, which a kept page is filed under too)."""
    if not items:
        return []
    found = dict(session.execute(_ROOT_CAUSES_OF, {"ids": [i.id for i in items]}).all())
    return [
        replace(item, postmortem=PostmortemRef(found[item.id])) if item.id in found else item
        for item in items
    ]


# A page is kept only while its text is small: one summary may be 100,000 characters.
PAGE_KEEP_CHARS = 256_000


def small_enough(items: Sequence[IncidentSummary]) -> bool:
    """Whether a page of these may be kept (see PAGE_KEEP_CHARS)."""
    return sum(len(i.summary) + len(i.title) for i in items) <= PAGE_KEEP_CHARS


def list_incidents(
    session: Session,
    filters: IncidentFilters,
    *,
    sort: str = "-started",
    page: int = 1,
    per_page: int = 50,
    cached: Cached | None = None,
) -> Page:
    """One page of incidents (as IncidentSummary), validated paging, total count for the pager.

    `cached(name, compute, keep)` may keep the page and its total (the metrics
    cache's `value`, keyed by the data versions): they depend on incidents,
    vectors and post-mortems only, and counting 10^5 rows is most of a page's
    cost. What the clock changes (breaching, root-cause flags) is worked out by
    the caller at its `now`.
    """
    errors = FieldErrors()
    if page < 1:
        errors.add("page", "Page must be 1 or more.")
    elif page > MAX_PAGE:
        errors.add("page", f"Page must be at most {MAX_PAGE:,}.")
    if not 1 <= per_page <= MAX_PER_PAGE:
        errors.add("per_page", f"Per page must be between 1 and {MAX_PER_PAGE}.")
    if sort not in SORTS:
        errors.add("sort", f"Sort must be one of: {', '.join(SORTS)}.")
    if errors:
        raise ValidationError(errors.fields)
    check_filters(filters)

    def read() -> tuple[int, tuple[IncidentSummary, ...]]:
        total = session.scalar(apply_filters(select(func.count()).select_from(Incident), filters))
        rows = session.execute(
            apply_filters(_SUMMARY_QUERY, filters)
            .order_by(SORTS[sort](), Incident.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).all()
        summaries = _with_postmortems(session, _summaries(session, rows))
        return total or 0, tuple(summaries)

    name = f"incident-page:{filters!r}:{sort}:{page}:{per_page}"
    if cached and not filters.moves_with_time:
        total, items = cached(name, read, lambda page: small_enough(page[1]))
    else:
        total, items = read()
    return Page(
        items=list(items),
        page=page,
        per_page=per_page,
        total=total,
    )


def distinct_values(session: Session, column: Any, chunks: ChunkCache | None = None) -> list[str]:
    """Known services or teams, for filter drop-downs and datalists.

    With `chunks`, read a month at a time and the unchanged months kept: scanning
    every incident's index entry took 10 ms at 10^5, again after every write.
    """

    def read(since: datetime | None, until: datetime | None) -> list[str]:
        query = apply_filters(select(column).distinct(), IncidentFilters(since=since, until=until))
        return list(session.scalars(query))

    values = (
        chunks.rows(session, ("distinct", column.key), None, None, read)
        if chunks
        else read(None, None)
    )
    return sorted({v for v in values if v})


def count_incidents(session: Session, chunks: ChunkCache | None = None) -> int:
    """How many incidents there are, a month at a time with `chunks` (see distinct_values)."""

    def read(since: datetime | None, until: datetime | None) -> list[int]:
        query = apply_filters(
            select(func.count()).select_from(Incident), IncidentFilters(since=since, until=until)
        )
        return [session.scalar(query) or 0]

    return sum(chunks.rows(session, ("count",), None, None, read) if chunks else read(None, None))
