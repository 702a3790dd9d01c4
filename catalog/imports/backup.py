"""Restore a JSON backup (catalog/exports/backup.py): all or nothing, idempotent.

Vectors are matched by slug: one that exists is updated to the backup's
values (a fresh database holds the five seeded vectors, so a restore updates
them), a missing one is created. Incidents are matched by `uid`, and by their
external source and id when they have one (the same Statuspage incident
imported into two installations): one already here is left as it is and
counted, never overwritten, so restoring a backup into the database it came
from, or importing it twice, creates nothing.

Every record goes through the same domain rules as the forms and the API
(validate_vector, validate_incident, validate_postmortem); the first bad one
aborts with its place in the document, e.g. `incidents[12].started_at`, and
the caller rolls back. The one rule relaxed is "no new incident on an archived
vector": history restored from a backup may name one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.auth.models import User
from catalog.db import utcnow
from catalog.errors import FieldErrors, ValidationError
from catalog.exports.backup import (
    ACTION_ITEM_FIELDS,
    BARS_FIELDS,
    CANARY_FIELDS,
    FORMAT,
    INCIDENT_FIELDS,
    LOAD_TEST_FIELDS,
    POSTMORTEM_FIELDS,
    READABLE_VERSIONS,
    RELEASE_FIELDS,
    ROLE_FIELDS,
    UPDATE_FIELDS,
    VECTOR_FIELDS,
)
from catalog.imports import progress
from catalog.imports.summary import ImportSummary
from catalog.incidents.models import (
    TIMESTAMP_FIELDS,
    UPDATE_KINDS,
    UPDATE_SOURCES,
    Incident,
    IncidentUpdate,
)
from catalog.incidents.service import validate_incident
from catalog.incidents.timeline import NOTE_MAX
from catalog.postmortems.models import ActionItem, Postmortem
from catalog.postmortems.service import validate_postmortem
from catalog.releases.models import CanaryAnalysis, ReadinessBars, Release
from catalog.releases.service import record_load_test, validate_release
from catalog.releases.spec import (
    BARS,
    CANARY_MAX_SAMPLES,
    CANARY_MIN_SAMPLES,
    LOAD_SOURCES,
    LOAD_TEST,
    RELEASE,
)
from catalog.rules import TITLE_MAX, check_text, check_timestamp, finite_number, is_storable
from catalog.timefmt import parse_timestamp
from catalog.vectors.models import Vector
from catalog.vectors.service import validate_vector

DOCUMENT_KEYS = ("format", "version", "vectors", "incidents")
DOCUMENT_KEYS_V3 = (*DOCUMENT_KEYS, "readiness_bars", "releases")
UID_RE = re.compile(r"[A-Za-z0-9_.:-]{1,40}")  # always .fullmatch: `$` would let "x\n" in
FLUSH_EVERY = 500


def import_backup(
    session: Session, document: object, *, dry_run: bool = False, now: datetime | None = None
) -> ImportSummary:
    """Apply a backup document; flushes, never commits (the caller commits or rolls back)."""
    now = now or utcnow()
    version = _check_header(document)
    assert isinstance(document, dict)
    summary = ImportSummary(source="backup", records=len(document["incidents"]), dry_run=dry_run)
    _park_names(session, document["vectors"])
    for index, record in enumerate(document["vectors"]):
        _import_vector(session, f"vectors[{index}]", record, summary, version)
    session.flush()
    _import_bars(session, document.get("readiness_bars", []))
    releases = _import_releases(session, document.get("releases", []), summary, now)
    uids = set(session.scalars(select(Incident.uid)))
    catalog = {v.slug: v for v in session.scalars(select(Vector))}
    authors = Authors(session)
    externals = {
        (source, external_id)
        for source, external_id in session.execute(
            select(Incident.external_source, Incident.external_id).where(
                Incident.external_id.is_not(None)
            )
        )
    }
    for index, record in enumerate(document["incidents"]):
        progress.step(index + 1, len(document["incidents"]))
        where = f"incidents[{index}]"
        if not isinstance(record, dict):
            raise ValidationError({where: ["Each incident must be an object."]})
        uid = record.get("uid")
        if not isinstance(uid, str) or not UID_RE.fullmatch(uid):
            raise ValidationError(
                {f"{where}.uid": ["Each incident needs its uid (1-40 letters, digits, . _ : -)."]},
                f"Record {where} is refused; nothing was imported.",
            )
        refused = f"Record {where} (uid {uid}) is refused; nothing was imported."
        external = _external(where, record, refused)
        if uid in uids or (external[1] is not None and external in externals):
            summary.already_imported += 1
            continue
        try:
            incident = _incident(session, where, record, now, catalog, external, version, releases)
            if version >= 2:
                _roles(incident, where, record, authors)
                _updates(incident, f"{where}.updates", record.get("updates"), now, authors)
        except ValidationError as exc:
            raise ValidationError(exc.fields, refused) from exc
        uids.add(uid)
        externals.add(external)
        summary.created += 1
        summary.postmortems_created += incident.postmortem is not None
        if summary.created % FLUSH_EVERY == 0:
            session.flush()
    session.flush()
    return summary


def _external(where: str, record: Mapping[str, Any], refused: str) -> tuple[str | None, str | None]:
    """The record's source and id there, cleaned as they will be stored (for the duplicate check)."""
    errors = FieldErrors()
    source = check_text(
        errors, f"{where}.external_source", record.get("external_source"), max_length=32
    )
    external_id = check_text(
        errors, f"{where}.external_id", record.get("external_id"), max_length=200
    )
    if not errors and (source is None) != (external_id is None):
        errors.add(f"{where}.external_id", "external_source and external_id come together.")
    if errors:
        raise ValidationError(errors.fields, refused)
    return source, external_id


def _park_names(session: Session, records: list[Any]) -> None:
    """Give the vectors this restore renames a placeholder name first.

    Names are unique, and a backup may move one between slugs (`data-drift`
    renamed, its old name given to a new vector): checked one vector at a
    time against the names still here, a valid backup would be refused.
    """
    wanted = {
        r["slug"]: r.get("name")
        for r in records
        if isinstance(r, dict) and isinstance(r.get("slug"), str) and is_storable(r["slug"])
    }
    for vector in session.scalars(select(Vector).where(Vector.slug.in_(list(wanted)))):
        if vector.name != wanted[vector.slug]:
            vector.name = f"(being restored) {vector.slug}"[:TITLE_MAX]
    session.flush()


def _check_header(document: object) -> int:
    """The document's format version, when it is one this app reads."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValidationError(
            {"format": [f'Not a Failure Catalog backup: expected "format": "{FORMAT}".']}
        )
    version = document.get("version")
    # True == 1 and 1.0 == 1 in Python: only a JSON integer is a version
    if type(version) is not int or version not in READABLE_VERSIONS:
        readable = " or ".join(str(v) for v in READABLE_VERSIONS)
        raise ValidationError(
            {
                "version": [
                    f"Backup format version {version!r} is not one this app reads ({readable})."
                ]
            }
        )
    errors = FieldErrors()
    lists = ("vectors", "incidents")
    if version >= 3:
        lists += ("readiness_bars", "releases")
    for key in lists:
        if not isinstance(document.get(key), list):
            errors.add(key, "Must be a list.")
    known = DOCUMENT_KEYS_V3 if version >= 3 else DOCUMENT_KEYS
    _unknown_keys(errors, "", document, set(known), version)
    if errors:
        raise ValidationError(errors.fields, "The backup is refused; nothing was imported.")
    return version


def _unknown_keys(
    errors: FieldErrors, where: str, record: Mapping[str, Any], known: set[str], version: int
) -> None:
    """A misspelt key would otherwise be dropped in silence: refuse it instead."""
    for key in record:
        if key not in known:
            name = str(key)[:60]
            errors.add(
                f"{where}.{name}" if where else name,
                f"Unknown field in a version {version} backup.",
            )


def _stamp(
    errors: FieldErrors, where: str, record: Mapping[str, Any], name: str
) -> datetime | None:
    return parse_timestamp(errors, f"{where}.{name}", record.get(name))


def _prefixed(exc: ValidationError, where: str) -> ValidationError:
    return ValidationError({f"{where}.{k}": v for k, v in exc.fields.items()}, exc.message)


def _import_vector(
    session: Session, where: str, record: object, summary: ImportSummary, version: int
) -> None:
    if not isinstance(record, dict):
        raise ValidationError({where: ["Each vector must be an object."]})
    errors = FieldErrors()
    _unknown_keys(errors, where, record, set(VECTOR_FIELDS), version)
    stamps = {
        name: _stamp(errors, where, record, name)
        for name in ("archived_at", "created_at", "updated_at")
    }
    errors.raise_if_any()
    slug = record.get("slug")
    current = (  # a NUL byte would make PostgreSQL fail the query; validation names it
        session.scalar(select(Vector).where(Vector.slug == slug))
        if isinstance(slug, str) and is_storable(slug)
        else None
    )
    data = {k: v for k, v in record.items() if k not in stamps}
    try:
        clean = validate_vector(session, data, current=current)
    except ValidationError as exc:
        raise ValidationError(
            _prefixed(exc, where).fields, f"Record {where} is refused; nothing was imported."
        ) from exc
    clean["archived_at"] = stamps["archived_at"]
    clean["created_at"] = stamps["created_at"] or utcnow()
    clean["updated_at"] = stamps["updated_at"] or clean["created_at"]
    if current is None:
        session.add(Vector(**clean))
        summary.vectors_created += 1
    elif any(getattr(current, k) != v for k, v in clean.items()):
        for field, value in clean.items():
            setattr(current, field, value)
        summary.vectors_updated += 1


def _incident(
    session: Session,
    where: str,
    record: Mapping[str, Any],
    now: datetime,
    catalog: Mapping[str, Vector],
    external: tuple[str | None, str | None],
    version: int,
    releases: Mapping[str, Release],
) -> Incident:
    errors = FieldErrors()
    known = {*INCIDENT_FIELDS, "vectors", "postmortem"}
    if version >= 2:
        known |= {*ROLE_FIELDS, "updates"}
    if version >= 3:
        known.add("release")
    _unknown_keys(errors, where, record, known, version)
    data: dict[str, Any] = {
        k: v for k, v in record.items() if k in INCIDENT_FIELDS and not k.endswith("_at")
    }
    for name in TIMESTAMP_FIELDS:
        data[name] = _stamp(errors, where, record, name)
    data["vectors"] = record.get("vectors")
    data["release"] = _release_of(errors, f"{where}.release", record.get("release"), releases)
    created = _stamp(errors, where, record, "created_at") or now
    updated = _stamp(errors, where, record, "updated_at") or created
    errors.raise_if_any()
    try:
        clean = validate_incident(session, data, now=now, allow_archived=True, catalog=catalog)
    except ValidationError as exc:
        raise _prefixed(exc, where) from exc
    incident = Incident(
        **clean,
        uid=record["uid"],
        external_source=external[0],
        external_id=external[1],
        created_at=created,
        updated_at=updated,
    )
    session.add(incident)
    pm_record = record.get("postmortem")
    if pm_record is not None:
        incident.postmortem = _postmortem(incident, f"{where}.postmortem", pm_record, now, version)
    return incident


def _release_of(
    errors: FieldErrors, where: str, uid: object, releases: Mapping[str, Release]
) -> int | None:
    """The id of the release an incident's `release` uid names (version 3)."""
    if uid is None:
        return None
    release = releases.get(uid) if isinstance(uid, str) else None
    if release is None:
        errors.add(where, "Must be the uid of a release in this backup (or here), or null.")
        return None
    return release.id


def _import_releases(
    session: Session, records: list[Any], summary: ImportSummary, now: datetime
) -> dict[str, Release]:
    """The backup's releases (version 3), matched by uid: one already here is left as it
    is, like an incident. Every release by uid, for the incidents that name one."""
    known = {r.uid: r for r in session.scalars(select(Release))}
    for index, record in enumerate(records):
        where = f"releases[{index}]"
        if not isinstance(record, dict):
            raise ValidationError({where: ["Each release must be an object."]})
        refused = f"Record {where} is refused; nothing was imported."
        errors = FieldErrors()
        _unknown_keys(errors, where, record, {*RELEASE_FIELDS, "load_tests", "canary"}, 3)
        uid = record.get("uid")
        if not isinstance(uid, str) or not UID_RE.fullmatch(uid):
            errors.add(
                f"{where}.uid", "Each release needs its uid (1-40 letters, digits, . _ : -)."
            )
        times = {
            name: _stamp(errors, where, record, name)
            for name in RELEASE_FIELDS
            if name.endswith("_at")
        }
        if errors:
            raise ValidationError(errors.fields, refused)
        assert isinstance(uid, str)
        if uid in known:
            continue
        data = {k: v for k, v in record.items() if k in RELEASE.names}
        data.update({k: v for k, v in times.items() if k in RELEASE.names})
        try:
            clean = validate_release(session, data, now=now)
        except ValidationError as exc:
            raise ValidationError(_prefixed(exc, where).fields, refused) from exc
        created = times["created_at"] or now
        release = Release(
            **clean, uid=uid, created_at=created, updated_at=times["updated_at"] or created
        )
        session.add(release)
        session.flush()
        _load_tests(session, release, where, record.get("load_tests"), refused)
        release.canary = _canary(f"{where}.canary", record.get("canary"), refused)
        known[uid] = release
        summary.releases_created += 1
    session.flush()
    return known


def _import_bars(session: Session, records: list[Any]) -> None:
    """Each service's readiness bars (version 3): the backup's values win, as a vector's do."""
    for index, record in enumerate(records):
        where = f"readiness_bars[{index}]"
        if not isinstance(record, dict):
            raise ValidationError({where: ["Each service's bars must be an object."]})
        errors, values = FieldErrors(), FieldErrors()
        _unknown_keys(errors, where, record, set(BARS_FIELDS), 3)
        updated = _stamp(errors, where, record, "updated_at") or utcnow()
        service = RELEASE["service"].check(values, record.get("service"), now=utcnow())
        clean = BARS.check(values, record)
        errors.merge(values.fields, f"{where}.{{}}".format)
        if errors:
            raise ValidationError(
                errors.fields, f"Record {where} is refused; nothing was imported."
            )
        row = session.get(ReadinessBars, service)
        if row is None:
            session.add(ReadinessBars(service=service, updated_at=updated, **clean))
        elif any(getattr(row, k) != v for k, v in clean.items()):
            for field, value in clean.items():
                setattr(row, field, value)
            row.updated_at = updated
    session.flush()


def _load_tests(session: Session, release: Release, where: str, raw: object, refused: str) -> None:
    if raw is None:
        return
    if not isinstance(raw, list):
        raise ValidationError({f"{where}.load_tests": ["Must be a list."]}, refused)
    for i, record in enumerate(raw):
        at = f"{where}.load_tests[{i}]"
        if not isinstance(record, dict):
            raise ValidationError({at: ["Each load-test tier must be an object."]}, refused)
        errors = FieldErrors()
        _unknown_keys(errors, at, record, set(LOAD_TEST_FIELDS), 3)
        created = _stamp(errors, at, record, "created_at")
        source = record.get("source")
        if source not in LOAD_SOURCES:
            errors.add(f"{at}.source", f"Source must be one of: {', '.join(LOAD_SOURCES)}.")
        if errors:
            raise ValidationError(errors.fields, refused)
        data = {k: record.get(k) for k in LOAD_TEST.names if k in record}
        try:
            test = record_load_test(session, release, data, source=str(source))
        except ValidationError as exc:
            raise ValidationError(_prefixed(exc, at).fields, refused) from exc
        test.created_at = created or utcnow()


def _canary(where: str, raw: object, refused: str) -> CanaryAnalysis | None:
    """A kept analysis, checked for shape: its figures are SciPy's, not typed by anyone."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValidationError({where: ["Must be the canary analysis, or null."]}, refused)
    errors = FieldErrors()
    _unknown_keys(errors, where, raw, set(CANARY_FIELDS), 3)
    created = _stamp(errors, where, raw, "created_at")
    for name in CANARY_FIELDS:
        value = raw.get(name)
        if name in ("created_at", "reasons", "verdict"):
            continue
        if name.endswith("_quantiles"):
            if not (
                isinstance(value, list)
                and len(value) == 101
                and all(finite_number(v) for v in value)
                and value == sorted(value)
            ):
                errors.add(f"{where}.{name}", "Must be the 101 percentiles, in order.")
        elif name.endswith("_error_rate"):
            if value is not None and not (finite_number(value) and 0 <= value <= 100):
                errors.add(f"{where}.{name}", "Must be a percentage, or null.")
        elif name.endswith("_count"):
            if type(value) is not int or not CANARY_MIN_SAMPLES <= value <= CANARY_MAX_SAMPLES:
                errors.add(
                    f"{where}.{name}",
                    f"Must be a whole number of samples, {CANARY_MIN_SAMPLES} to "
                    f"{CANARY_MAX_SAMPLES:,}.",
                )
        elif not finite_number(value) or value < 0:
            errors.add(f"{where}.{name}", "Must be a number, 0 or more.")
    if raw.get("verdict") not in ("promote", "roll_back"):
        errors.add(f"{where}.verdict", "Verdict must be promote or roll_back.")
    reasons = check_text(
        errors, f"{where}.reasons", raw.get("reasons") or "", max_length=4000, prose=True
    )
    if errors:
        raise ValidationError(errors.fields, refused)
    values = {name: raw.get(name) for name in CANARY_FIELDS if name != "created_at"}
    values.update(
        reasons=reasons or "",
        baseline_quantiles=json.dumps(raw["baseline_quantiles"]),
        canary_quantiles=json.dumps(raw["canary_quantiles"]),
        created_at=created or utcnow(),
    )
    return CanaryAnalysis(**values)


def _postmortem(
    incident: Incident, where: str, record: object, now: datetime, version: int
) -> Postmortem:
    if not isinstance(record, dict):
        raise ValidationError({where: ["The post-mortem must be an object or null."]})
    errors = FieldErrors()
    _unknown_keys(errors, where, record, {*POSTMORTEM_FIELDS, "action_items"}, version)
    data: dict[str, Any] = {k: record.get(k) for k in ("status", "root_cause", "body")}
    for name in ("root_cause_at", "published_at"):
        data[name] = _stamp(errors, where, record, name)
    created = _stamp(errors, where, record, "created_at") or now
    updated = _stamp(errors, where, record, "updated_at") or created
    raw_items = record.get("action_items") or []
    items_meta: list[tuple[datetime, datetime]] = []
    if isinstance(raw_items, list):
        converted = []
        for i, raw in enumerate(raw_items):
            item_where = f"{where}.action_items[{i}]"
            if not isinstance(raw, dict):
                converted.append(raw)  # validate_postmortem names it
                items_meta.append((created, updated))
                continue
            _unknown_keys(errors, item_where, raw, set(ACTION_ITEM_FIELDS), version)
            item = {k: raw.get(k) for k in ("title", "owner", "link")}
            item["owner"] = item["owner"] or ""
            item["done_at"] = _stamp(errors, item_where, raw, "done_at")
            item["due_on"] = _date(errors, f"{item_where}.due_on", raw.get("due_on"))
            item_created = _stamp(errors, item_where, raw, "created_at") or created
            items_meta.append(
                (item_created, _stamp(errors, item_where, raw, "updated_at") or item_created)
            )
            converted.append(item)
        data["action_items"] = converted
    else:
        data["action_items"] = raw_items
    errors.raise_if_any()
    try:
        clean = validate_postmortem(incident, data, now=now, restoring=True)
    except ValidationError as exc:
        raise ValidationError(
            {f"{where}.{_item_path(k)}": v for k, v in exc.fields.items()}, exc.message
        ) from exc
    items = clean.pop("action_items")
    pm = Postmortem(**clean, created_at=created, updated_at=updated)
    pm.action_items = [
        ActionItem(
            title=c.title,
            owner=c.owner,
            due_on=c.due_on,
            done_at=c.done_at,
            link=c.link,
            created_at=meta[0],
            updated_at=meta[1],
        )
        for c, meta in zip(items, items_meta, strict=True)
    ]
    return pm


def _item_path(field: str) -> str:
    """validate_postmortem's `action_items.3.title` in this document's terms: `action_items[3].title`."""
    parts = field.split(".")
    if len(parts) >= 2 and parts[0] == "action_items" and parts[1].isdigit():
        return f"action_items[{parts[1]}]" + "".join(f".{p}" for p in parts[2:])
    return field


def _date(errors: FieldErrors, field: str, value: object) -> date | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    errors.add(field, "Must be a date, e.g. 2026-03-01.")
    return None


class Authors:
    """E-mail → user id, read once on first use: a restored entry by someone with an
    account here links to it; anyone else keeps their name as written."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._ids: dict[str, int] | None = None

    def id_of(self, label: str) -> int | None:
        if self._ids is None:
            self._ids = {
                email: id_ for email, id_ in self._session.execute(select(User.email, User.id))
            }
        return self._ids.get(label)

    def user_of(self, label: str) -> User | None:
        user_id = self.id_of(label)
        return self._session.get(User, user_id) if user_id is not None else None


def _roles(incident: Incident, where: str, record: Mapping[str, Any], authors: Authors) -> None:
    """An incident's lead and communications lead (version 2), linked to the accounts here
    with those e-mails; a role whose account is not here is left empty (the backup does
    not carry accounts), and the timeline still says who led."""
    errors = FieldErrors()
    for name in ROLE_FIELDS:
        email = record.get(name)
        if email is not None and not isinstance(email, str):
            errors.add(f"{where}.{name}", "Must be an account's e-mail, or null.")
        elif email:
            setattr(incident, name, authors.user_of(email.strip().lower()))
    if errors:
        raise ValidationError(errors.fields)


MAX_UPDATES = 10_000
"""Entries per incident a restore takes: a timeline, not a log stream."""


def _updates(incident: Incident, where: str, raw: object, now: datetime, authors: Authors) -> None:
    """An incident's timeline (version 2), each entry checked like one typed in."""
    if raw is None:
        return
    if not isinstance(raw, list):
        raise ValidationError({where: ["Must be a list of timeline entries."]})
    if len(raw) > MAX_UPDATES:
        raise ValidationError({where: [f"At most {MAX_UPDATES:,} timeline entries per incident."]})
    errors = FieldErrors()
    entries = []
    for i, record in enumerate(raw):
        at_where = f"{where}[{i}]"
        if not isinstance(record, dict):
            errors.add(at_where, "Each timeline entry must be an object.")
            continue
        _unknown_keys(errors, at_where, record, set(UPDATE_FIELDS), 2)
        at = _stamp(errors, at_where, record, "at")
        if at is None and not errors.has(f"{at_where}.at"):
            errors.add(f"{at_where}.at", "Each timeline entry needs its time.")
        check_timestamp(errors, f"{at_where}.at", at, now=now, label="At")
        created = _stamp(errors, at_where, record, "created_at") or at
        kind, source = record.get("kind"), record.get("source")
        if kind not in UPDATE_KINDS:
            errors.add(f"{at_where}.kind", f"Kind must be one of: {', '.join(UPDATE_KINDS)}.")
        if source not in UPDATE_SOURCES:
            errors.add(f"{at_where}.source", f"Source must be one of: {', '.join(UPDATE_SOURCES)}.")
        author = check_text(
            errors, f"{at_where}.author", record.get("author"), max_length=254, required=True
        )
        body = check_text(
            errors,
            f"{at_where}.body",
            record.get("body") or "",
            max_length=NOTE_MAX,
            label="Body",
            prose=True,
        )
        entries.append((at, kind, source, author, body, created))
    if errors:
        raise ValidationError(errors.fields)
    incident.updates.add_all(
        IncidentUpdate(
            at=at,
            kind=kind,
            source=source,
            author_id=authors.id_of(author),
            author_label=author,
            body=body,
            created_at=created,
        )
        for at, kind, source, author, body, created in entries
    )
