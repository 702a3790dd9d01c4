"""Atlassian Statuspage v2 `incidents.json` history to incidents.

Mapping (SPEC §4, issue 5): `started_at` → started, `created_at` → detected,
the first `identified` update → acknowledged, `monitoring_at` → mitigated,
`resolved_at` → recovered; `impact` → severity; the first component → service.
Maintenance records (impact `maintenance`, or a `scheduled_for`) are not
incidents: they are skipped and counted. The vector comes from the first rule
whose pattern matches the incident's name, else the default vector.

All or nothing: every record goes through the domain rules in one transaction
and the first bad one aborts the import with its index and the reason (the
caller rolls back). Records are keyed by their Statuspage id (external source
`statuspage`), so importing the same file again creates nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import regex
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.errors import FieldErrors, ValidationError
from catalog.imports.summary import ImportSummary
from catalog.incidents import service
from catalog.incidents.models import Incident
from catalog.rules import SHORT_MAX, TITLE_MAX
from catalog.timefmt import parse_timestamp
from catalog.vectors.models import Vector

SOURCE = "statuspage"
IMPACT_SEVERITY = {"critical": "SEV1", "major": "SEV2", "minor": "SEV3", "none": "SEV4"}
SUMMARY_LIMIT = 20_000
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


RULE_TIMEOUT_SECONDS = 0.05
PATTERN_MAX = 500


@dataclass(frozen=True)
class VectorRule:
    """`PATTERN=slug`: incidents whose name matches PATTERN (a regex, any case) get `slug`.

    Compiled with the `regex` package rather than `re` for its match timeout:
    the pattern comes from a user (an upload form, an API call), and a pattern
    such as `(a+)+$` would otherwise hold a worker for minutes on one name.
    """

    pattern: regex.Pattern[str]
    slug: str

    @classmethod
    def parse(cls, text: str) -> VectorRule:
        pattern, sep, slug = text.rpartition("=")
        if not sep or not pattern or not slug:
            raise ValidationError(
                {"vector_rule": [f"Use PATTERN=vector-slug, got {text[:100]!r}."]}
            )
        if len(pattern) > PATTERN_MAX:
            raise ValidationError(
                {"vector_rule": [f"A pattern is at most {PATTERN_MAX} characters."]}
            )
        try:
            return cls(regex.compile(pattern, regex.IGNORECASE | regex.VERSION0), slug.strip())
        except (regex.error, ValueError, OverflowError, RecursionError) as exc:
            raise ValidationError(
                {"vector_rule": [f"Bad pattern {pattern[:100]!r}: {exc}."]}
            ) from exc

    def matches(self, name: str) -> bool:
        try:
            return self.pattern.search(name, timeout=RULE_TIMEOUT_SECONDS) is not None
        except TimeoutError as exc:
            raise ValidationError(
                {
                    "vector_rule": [
                        f"Pattern {self.pattern.pattern[:100]!r} takes too long to match; simplify it."
                    ]
                }
            ) from exc


def import_statuspage(
    session: Session,
    document: object,
    *,
    default_vector: str | None,
    rules: list[VectorRule] | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> ImportSummary:
    """Create the incidents of a Statuspage document; flushes, never commits.

    A dry run validates each incident as create_incident would and writes
    nothing, so it holds no SQLite write lock while it runs.
    """
    rules = rules or []
    _check_vectors(session, default_vector, rules)
    if not isinstance(document, dict) or not isinstance(document.get("incidents"), list):
        raise ValidationError(
            {"incidents": ["Not a Statuspage v2 incidents.json: no list of incidents."]}
        )
    summary = ImportSummary(source=SOURCE, records=len(document["incidents"]), dry_run=dry_run)
    known = set(
        session.scalars(select(Incident.external_id).where(Incident.external_source == SOURCE))
    )
    for index, record in enumerate(document["incidents"]):
        where = f"incidents[{index}]"
        if not isinstance(record, dict):
            raise ValidationError({where: ["Each incident must be an object."]})
        if record.get("impact") == "maintenance" or record.get("scheduled_for"):
            summary.skipped_maintenance += 1
            continue
        external_id = record.get("id")
        if not isinstance(external_id, str) or not 0 < len(external_id) <= 200:
            raise ValidationError({f"{where}.id": ["Each incident needs its Statuspage id."]})
        if external_id in known:
            summary.already_imported += 1
            continue
        refused = f"Record {index} (Statuspage id {external_id}) is refused; nothing was imported."
        try:
            data = _incident_data(where, record, default_vector, rules)
        except ValidationError as exc:
            raise ValidationError(exc.fields, refused) from exc
        try:
            if dry_run:  # the same checks, no write: no SQLite write lock held for the run
                service.validate_incident(session, data, now=now)
            else:
                incident = service.create_incident(session, data, now=now)
                incident.external_source = SOURCE
                incident.external_id = external_id
        except ValidationError as exc:
            raise ValidationError(
                {f"{where}.{_record_name(k)}": v for k, v in exc.fields.items()}, refused
            ) from exc
        known.add(external_id)
        summary.created += 1
    session.flush()
    return summary


def _check_vectors(session: Session, default: str | None, rules: list[VectorRule]) -> None:
    slugs = {slug for (slug,) in session.execute(select(Vector.slug))}
    errors = FieldErrors()
    if default and default not in slugs:
        errors.add("vector", f"There is no vector {default!r}.")
    for rule in rules:
        if rule.slug not in slugs:
            errors.add("vector_rule", f"There is no vector {rule.slug!r}.")
    errors.raise_if_any()


def _record_name(field_name: str) -> str:
    return {
        "started_at": "started_at",
        "detected_at": "created_at",
        "acknowledged_at": "incident_updates(identified)",
        "mitigated_at": "monitoring_at",
        "recovered_at": "resolved_at",
        "title": "name",
        "service": "components",
        "vectors": "name (no vector rule matched and no default vector)",
    }.get(field_name, field_name)


def _incident_data(
    where: str, record: dict[str, Any], default: str | None, rules: list[VectorRule]
) -> dict[str, Any]:
    errors = FieldErrors()

    def stamp(name: str) -> datetime | None:
        return parse_timestamp(errors, f"{where}.{name}", record.get(name))

    created = stamp("created_at")
    started = stamp("started_at") or created
    updates = record.get("incident_updates") or []
    if not isinstance(updates, list):
        errors.add(f"{where}.incident_updates", "Must be a list.")
        updates = []
    identified = [
        u.get("created_at")
        for u in updates
        if isinstance(u, dict) and u.get("status") == "identified"
    ]
    acknowledged = (
        min(
            (
                t
                for t in (
                    parse_timestamp(errors, f"{where}.incident_updates", v) for v in identified
                )
                if t
            ),
            default=None,
        )
        if identified
        else None
    )
    impact = record.get("impact")
    if impact not in IMPACT_SEVERITY:
        errors.add(f"{where}.impact", f"Impact must be one of: {', '.join(IMPACT_SEVERITY)}.")
    name = record.get("name")
    if not isinstance(name, str):
        errors.add(f"{where}.name", "Each incident needs a name.")
        name = ""
    components = record.get("components") or []
    component = (
        next(
            (
                c.get("name")
                for c in components
                if isinstance(c, dict) and isinstance(c.get("name"), str)
            ),
            None,
        )
        if isinstance(components, list)
        else None
    )
    mitigated, recovered = stamp("monitoring_at"), stamp("resolved_at")
    errors.raise_if_any()
    vector = next((rule.slug for rule in rules if rule.matches(name)), default)
    return {
        "title": " ".join(name.split())[:TITLE_MAX],
        "severity": IMPACT_SEVERITY[impact],
        "service": (component or "unknown")[:SHORT_MAX],
        "team": "",
        "summary": _summary(record, updates),
        "detection_source": "internal",
        "vectors": [vector] if vector else [],
        "started_at": started,
        "detected_at": created,
        "acknowledged_at": acknowledged,
        "mitigated_at": mitigated,
        "recovered_at": recovered,
    }


def _summary(record: dict[str, Any], updates: list[Any]) -> str:
    lines = [
        "Imported from Statuspage"
        + (f": <{record['shortlink']}>" if _is_url(record.get("shortlink")) else ".")
    ]
    for update in updates:
        if isinstance(update, dict) and isinstance(update.get("body"), str):
            lines.append(
                f"- **{update.get('status', '')}** {update.get('created_at', '')}: {update['body']}"
            )
    text = "\n".join(lines).replace("\r\n", "\n").replace("\r", "\n")
    # Our own text around theirs: drop control characters the domain rules refuse.
    return CONTROL.sub("", text)[:SUMMARY_LIMIT]


def _is_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) < 500
