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
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import regex
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.db import utcnow
from catalog.errors import FieldErrors, ValidationError
from catalog.imports import progress
from catalog.imports.summary import ImportSummary
from catalog.incidents import service, timeline
from catalog.incidents.models import Incident
from catalog.releases.service import release_of_service
from catalog.rules import EARLIEST, FUTURE_SLACK, SHORT_MAX, TITLE_MAX, storable
from catalog.timefmt import parse_timestamp
from catalog.vectors.models import Vector

SOURCE = "statuspage"
IMPACT_SEVERITY = {"critical": "SEV1", "major": "SEV2", "minor": "SEV3", "none": "SEV4"}
SUMMARY_LIMIT = 20_000
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


RULE_TIMEOUT_SECONDS = 0.05  # one name against one rule
MATCH_BUDGET_SECONDS = 2.0  # all rule matching of one import together
PATTERN_MAX = 500
RULES_MAX = 50
RELEASE_PREFIX = "release:"
RELEASE_TEXT_MAX = 2000  # of a name or an update searched for a version
# Counted repeats are expanded when a pattern is compiled or run: `((a{1000}){1000}){1000}`
# asks for 10^9 copies and took the process to 24 GB. A pattern is measured before it is
# compiled (see `_pattern_size`) and refused above these bounds.
EXPANSION_MAX = 1000  # literal items after repeats are expanded
REPEAT_NESTING_MAX = 2  # repeats inside repeats inside repeats: `((a+)+)+`


@dataclass(frozen=True)
class VectorRule:
    """`PATTERN=slug`: incidents whose name matches PATTERN (a regex, any case) get `slug`.

    Compiled with the `regex` package rather than `re` for its match timeout:
    the pattern comes from a user (an upload form, an API call), and a pattern
    such as `(a+)+$` would otherwise hold a worker for minutes on one name.
    Before compiling, the pattern's size is bounded (`_pattern_size`), since the
    timeout does not cover the memory a pattern of nested counted repeats takes.
    """

    pattern: regex.Pattern[str]
    slug: str
    """The vector's slug; empty for a release rule."""
    number: int = 1  # its place among the import's rules, 1-based, for messages

    @property
    def finds_release(self) -> bool:
        """`release:PATTERN`: the pattern's first group, found in an incident's name or its
        updates, is the version of its service's release that caused it."""
        return not self.slug

    @classmethod
    def parse(cls, text: str, number: int = 1) -> VectorRule:
        where = f"vector_rule {number}"
        if text.startswith(RELEASE_PREFIX):
            pattern, sep, slug = text[len(RELEASE_PREFIX) :], "=", ""
        else:
            pattern, sep, slug = text.rpartition("=")
        if not sep or not pattern or (not slug and not text.startswith(RELEASE_PREFIX)):
            raise ValidationError(
                {
                    "vector_rule": [
                        f"{where}: use PATTERN=vector-slug or release:PATTERN, got {text[:100]!r}."
                    ]
                }
            )
        if len(pattern) > PATTERN_MAX:
            raise ValidationError(
                {"vector_rule": [f"{where}: a pattern is at most {PATTERN_MAX} characters."]}
            )
        size, nesting = _pattern_size(pattern)
        if nesting > REPEAT_NESTING_MAX:
            raise ValidationError(
                {
                    "vector_rule": [
                        f"{where}: the pattern is too complex (nested repeats); simplify it."
                    ]
                }
            )
        if size > EXPANSION_MAX:
            raise ValidationError(
                {
                    "vector_rule": [
                        f"{where}: the pattern is too complex (its repeats expand to more than "
                        f"{EXPANSION_MAX} items); simplify it."
                    ]
                }
            )
        try:
            compiled = regex.compile(pattern, regex.IGNORECASE | regex.VERSION0)
        except (regex.error, ValueError, OverflowError, RecursionError, MemoryError) as exc:
            raise ValidationError(
                {"vector_rule": [f"{where}: bad pattern {pattern[:100]!r}: {exc}."]}
            ) from exc
        if not slug and compiled.groups < 1:
            raise ValidationError(
                {
                    "vector_rule": [
                        f"{where}: a release rule needs a group around the version, "
                        "e.g. release:deploy (v[0-9.]+)."
                    ]
                }
            )
        return cls(compiled, slug.strip(), number)

    def version_in(self, text: str, timeout: float = RULE_TIMEOUT_SECONDS) -> str | None:
        """A release rule's version found in `text` (its first group), or None."""
        found = self.pattern.search(text, timeout=timeout)
        return found.group(1) if found is not None and found.group(1) else None

    def matches(self, name: str, timeout: float = RULE_TIMEOUT_SECONDS) -> bool:
        """Whether the name matches; TimeoutError when that takes over `timeout` seconds."""
        return self.pattern.search(name, timeout=timeout) is not None


def parse_rules(texts: list[str] | tuple[str, ...]) -> list[VectorRule]:
    """Every `PATTERN=slug` given to one import, numbered; all bad ones named at once."""
    if len(texts) > RULES_MAX:
        raise ValidationError(
            {"vector_rule": [f"At most {RULES_MAX} vector rules per import, got {len(texts)}."]}
        )
    rules, errors = [], FieldErrors()
    for number, text in enumerate(texts, start=1):
        try:
            rules.append(VectorRule.parse(text, number))
        except ValidationError as exc:
            errors.merge(exc.fields)
    errors.raise_if_any()
    return rules


class _RuleMatcher:
    """The first matching rule's slug for each name, within one time budget per import.

    Each search gets its own 50 ms and never more than what is left of the import's
    budget: a pattern just under the per-name timeout, run on thousands of names,
    would otherwise hold a worker for many seconds.
    """

    def __init__(self, rules: list[VectorRule], budget: float) -> None:
        self.rules = rules
        self.budget = budget
        self.spent: dict[int, float] = {}

    def slug_for(self, name: str) -> str | None:
        for rule in self.rules:
            if rule.finds_release:
                continue
            if self._run(rule, partial(rule.matches, name)):
                return rule.slug
        return None

    def version_in(self, texts: list[str]) -> str | None:
        """The first release rule's version found in the texts, in order (name, updates)."""
        for rule in self.rules:
            if not rule.finds_release:
                continue
            for text in texts:
                found = self._run(rule, partial(rule.version_in, text[:RELEASE_TEXT_MAX]))
                if found:
                    return str(found)
        return None

    def _run(self, rule: VectorRule, search: Callable[[float], object]) -> object:
        """One search, within its timeout and what is left of the import's budget."""
        left = self.budget - sum(self.spent.values())
        timeout = min(RULE_TIMEOUT_SECONDS, left)
        started = time.perf_counter()
        try:
            matched = search(timeout) if timeout > 0 else None
        except TimeoutError as exc:
            if timeout >= RULE_TIMEOUT_SECONDS:
                raise ValidationError(
                    {
                        "vector_rule": [
                            f"vector_rule {rule.number}: pattern "
                            f"{rule.pattern.pattern[:100]!r} takes too long to match; "
                            "simplify it."
                        ]
                    }
                ) from exc
            matched = None
        finally:
            self.spent[rule.number] = (
                self.spent.get(rule.number, 0.0) + time.perf_counter() - started
            )
        if sum(self.spent.values()) >= self.budget or timeout <= 0:
            raise self._over_budget()
        return matched

    def _over_budget(self) -> ValidationError:
        slowest = sorted(self.spent, key=self.spent.__getitem__, reverse=True)[:5]
        return ValidationError(
            {
                "vector_rule": [
                    f"Matching the vector rules against this file's names took over "
                    f"{self.budget:g} s (slowest: "
                    + ", ".join(f"vector_rule {n}" for n in slowest)
                    + "); simplify them."
                ]
            },
            "The import is refused; nothing was imported.",
        )


def _pattern_size(pattern: str) -> tuple[int, int]:
    """An upper bound on the pattern's size with its repeats expanded, and how deeply
    repeats nest; read from the text alone, never compiled.

    Each literal, escape or character class counts 1; a group counts the sum of its
    alternatives; a repeat multiplies what it repeats by its maximum count (by its
    minimum for an open `{n,}`; `*`, `+` and `?` by 1) and adds a level of nesting.
    Over-counting is harmless (it errs towards refusing), so escapes such as `\\x41`
    or `(?P<name>` are not decoded exactly.
    """
    # Per open group: [total so far, size of the last item, nesting of the last item,
    # deepest nesting in the group].
    stack: list[list[int]] = [[0, 0, 0, 0]]
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        frame = stack[-1]
        if char == "\\":
            i += 2
            frame[0] += 1
            frame[1], frame[2] = 1, 0
            continue
        if char == "[":
            i = _class_end(pattern, i)
            frame[0] += 1
            frame[1], frame[2] = 1, 0
            continue
        if char == "(":
            if pattern.startswith("(?#", i):  # a comment, up to the next `)`
                close = pattern.find(")", i)
                i = n if close < 0 else close + 1
                continue
            stack.append([0, 0, 0, 0])
            # `(?:`, `(?P<name>`, `(?i)`, a verb `(*SKIP)`: that `?` or `*` repeats nothing.
            i += 2 if pattern.startswith(("(?", "(*"), i) else 1
            continue
        if char == ")" and len(stack) > 1:
            inner = stack.pop()
            outer = stack[-1]
            outer[0] += inner[0]
            outer[1], outer[2] = inner[0], max(inner[3], inner[2])
            outer[3] = max(outer[3], outer[2])
            i += 1
            continue
        if char == "|":
            frame[1], frame[2] = 0, 0  # alternatives add up: frame[0] keeps the sum
            i += 1
            continue
        repeat = _REPEAT.match(pattern, i) if char in "*+?{" else None
        if repeat is not None:
            low, high = repeat.group(1), repeat.group(3)
            if char != "{":
                factor = 1
            elif high:
                factor = int(high)
            else:  # `{n}`, or an open `{n,}`: n copies, then a loop
                factor = max(int(low or 0), 1)
            frame[0] += frame[1] * (factor - 1)
            frame[1] *= factor
            frame[2] += 1
            frame[3] = max(frame[3], frame[2])
            i = repeat.end()
            if i < n and pattern[i] in "?+":  # lazy or possessive: still the same repeat
                i += 1
            continue
        frame[0] += 1
        frame[1], frame[2] = 1, 0
        i += 1
    while len(stack) > 1:  # unbalanced: regex will refuse it; fold what was read
        inner = stack.pop()
        stack[-1][0] += inner[0]
        stack[-1][3] = max(stack[-1][3], inner[3], inner[2])
    total, _, last_nesting, deepest = stack[0]
    return total, max(deepest, last_nesting)


# `*`, `+`, `?`, or a counted `{n}`, `{n,}`, `{,m}`, `{n,m}`.
_REPEAT = re.compile(r"[*+?]|\{(\d*)(,?)(\d*)\}")


def _class_end(pattern: str, start: int) -> int:
    r"""The index after the character class opening at `start` (`[^]a-z\]]`, `[[:alpha:]]`)."""
    i = start + 1
    if i < len(pattern) and pattern[i] == "^":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        i += 1
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
        elif pattern.startswith("[:", i):
            close = pattern.find(":]", i + 2)
            i = len(pattern) if close < 0 else close + 2
        elif pattern[i] == "]":
            return i + 1
        else:
            i += 1
    return i


def import_statuspage(
    session: Session,
    document: object,
    *,
    default_vector: str | None,
    rules: list[VectorRule] | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    match_budget: float | None = None,
) -> ImportSummary:
    """Create the incidents of a Statuspage document; flushes, never commits.

    A dry run validates each incident as create_incident would and writes
    nothing, so it holds no SQLite write lock while it runs. `match_budget`
    bounds all rule matching (seconds; MATCH_BUDGET_SECONDS unless given,
    `math.inf` for none: the CLI, which holds no worker, sets none).
    """
    rules = rules or []
    _check_vectors(session, default_vector, rules)
    matcher = _RuleMatcher(rules, MATCH_BUDGET_SECONDS if match_budget is None else match_budget)
    if not isinstance(document, dict) or not isinstance(document.get("incidents"), list):
        raise ValidationError(
            {"incidents": ["Not a Statuspage v2 incidents.json: no list of incidents."]}
        )
    summary = ImportSummary(source=SOURCE, records=len(document["incidents"]), dry_run=dry_run)
    known = set(
        session.scalars(select(Incident.external_id).where(Incident.external_source == SOURCE))
    )
    for index, record in enumerate(document["incidents"]):
        progress.step(index + 1, len(document["incidents"]))
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
            data = _incident_data(session, where, record, default_vector, matcher)
        except ValidationError as exc:
            raise ValidationError(exc.fields, refused) from exc
        try:
            if dry_run:  # the same checks, no write: no SQLite write lock held for the run
                service.validate_incident(session, data, now=now)
            else:
                incident = service.create_incident(session, data, now=now)
                incident.external_source = SOURCE
                incident.external_id = external_id
                _record_updates(session, incident, record, now=now)
        except ValidationError as exc:
            raise ValidationError(
                {f"{where}.{_record_name(k)}": v for k, v in exc.fields.items()}, refused
            ) from exc
        known.add(external_id)
        summary.created += 1
        summary.releases_linked += data["release"] is not None
    session.flush()
    return summary


def _check_vectors(session: Session, default: str | None, rules: list[VectorRule]) -> None:
    slugs = {slug for (slug,) in session.execute(select(Vector.slug))}
    errors = FieldErrors()
    if default and default not in slugs:
        errors.add("vector", f"There is no vector {default!r}.")
    for rule in rules:
        if not rule.finds_release and rule.slug not in slugs:
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
    session: Session,
    where: str,
    record: dict[str, Any],
    default: str | None,
    matcher: _RuleMatcher,
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
    vector = matcher.slug_for(name) or default
    service_name = (component or "unknown")[:SHORT_MAX]
    cause = None
    if any(rule.finds_release for rule in matcher.rules):
        bodies = [
            u["body"] for u in updates if isinstance(u, dict) and isinstance(u.get("body"), str)
        ]
        version = matcher.version_in([name, *bodies])
        if version:
            found = release_of_service(
                session, service_name.strip(), version[:SHORT_MAX], at=started
            )
            cause = found.id if found is not None else None
    return {
        "title": " ".join(name.split())[:TITLE_MAX],
        "severity": IMPACT_SEVERITY[impact],
        "service": service_name,
        "release": cause,
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
    link = f": <{record['shortlink']}>" if _is_url(record.get("shortlink")) else "."
    posted = sum(1 for u in updates if _readable_update(u, utcnow()) is not None)
    told = (
        f" Its {posted} status update{'' if posted == 1 else 's'} are on the timeline."
        if posted
        else ""
    )
    return CONTROL.sub("", f"Imported from Statuspage{link}{told}")[:SUMMARY_LIMIT]


def _readable_update(update: object, now: datetime) -> tuple[datetime, str, str] | None:
    """(posted at, status, text) of one of the record's `incident_updates`, or None when
    it has no readable time: an update is kept at its own time or not at all."""
    if not isinstance(update, dict):
        return None
    try:
        at = datetime.fromisoformat(str(update.get("created_at") or ""))
    except ValueError:
        return None
    if at.tzinfo is None or not EARLIEST <= at <= now + FUTURE_SLACK:
        return None
    status = update.get("status")
    body = update.get("body")
    return (
        at,
        status if isinstance(status, str) else "",
        body if isinstance(body, str) else "",
    )


def _record_updates(
    session: Session, incident: Incident, record: dict[str, Any], *, now: datetime | None
) -> None:
    """Each Statuspage update as a timeline entry, at the time it was posted, with its status."""
    for update in record.get("incident_updates") or []:
        read = _readable_update(update, now or utcnow())
        if read is None:
            continue
        at, status, body = read
        text = storable(f"**{status[:40].capitalize() or 'Update'}** on Statuspage. {body}")
        timeline.record(
            session,
            incident,
            "status",
            text[: timeline.NOTE_MAX],
            at=at,
            source="import",
            label="Statuspage",
        )


def _is_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) < 500
