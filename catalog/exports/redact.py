"""What a candidate may show of the dossier: the catalog and its numbers, not the names.

A candidate usually may not disclose a former employer's internal service and team
names or what its incidents were called. A redacted dossier replaces each incident
title with a neutral label (its severity, vectors and month), each service or team
name wherever it appears in the catalog's own text (vector names, descriptions,
detection signals, playbooks, release notes) with "service A" / "team A", each
release's version tag with "release A", and leaves out the free
text of timeline entries, which can name anything. Nothing else changes: every
figure is the same as in the full dossier.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from dataclasses import dataclass

import regex

from catalog.incidents.models import Incident

WITHHELD = "An update was posted (its text is left out of a redacted dossier)."
UNCHECKED = "(This text is left out: it could not be checked for names in time.)"
SCRUB_SECONDS = 2.0


def _letters(n: int) -> str:
    """A, B, …, Z, AA, AB, …: short labels in the order the names were sorted."""
    out = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        out = string.ascii_uppercase[rest] + out
    return out


@dataclass(frozen=True)
class Redactor:
    """Replaces known names in text; built from every service and team in the catalog."""

    labels: dict[str, str]
    pattern: regex.Pattern[str] | None

    @classmethod
    def of(
        cls,
        services: Iterable[str],
        teams: Iterable[str],
        titles: Iterable[str],
        releases: Iterable[str] = (),
    ) -> Redactor:
        labels: dict[str, str] = {}
        kinds = (
            ("service", services),
            ("team", teams),
            ("incident", titles),
            ("release", releases),
        )
        for kind, names in kinds:
            for n, name in enumerate(sorted({x.strip() for x in names if x and x.strip()})):
                labels.setdefault(name.casefold(), f"{kind} {_letters(n)}")
        if not labels:
            return cls(labels, None)
        # Longest first, so "chat-api-v2" is replaced whole before "chat-api"; a name
        # inside a longer word ("rank" in "ranker") is left alone.
        names = sorted(labels, key=len, reverse=True)
        alternatives = "|".join(regex.escape(name) for name in names)
        pattern = regex.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", regex.IGNORECASE)
        return cls(labels, pattern)

    def scrub(self, text: str | None) -> str:
        if not text or self.pattern is None:
            return text or ""
        try:
            return self.pattern.sub(
                lambda m: self.labels[m.group(0).casefold()], text, timeout=SCRUB_SECONDS
            )
        except TimeoutError:  # a text too long to check in time is left out, never leaked
            return UNCHECKED

    @staticmethod
    def title(incident: Incident) -> str:
        """'SEV2 data-drift incident, 2026-03': what it was, not what it was called."""
        vectors = ", ".join(incident.vector_slugs) or "unclassified"
        return f"{incident.severity} {vectors} incident, {incident.started_at:%Y-%m}"
