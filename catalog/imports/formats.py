"""One entry point for every import format, shared by the CLI, the API and the upload page.

It turns the file's bytes into what the format's importer reads (JSON or CSV
text), refusing what is not UTF-8 or not well formed with the line and column,
and runs the importer in one transaction, which it ends: committed, or rolled
back on any error and on a dry run. All or nothing is kept here, once, not by
each surface.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from catalog.errors import ValidationError
from catalog.imports.backup import import_backup
from catalog.imports.incidents_csv import import_incidents_csv
from catalog.imports.statuspage import VectorRule, import_statuspage
from catalog.imports.summary import ImportSummary
from catalog.outcomes import commit
from catalog.uploads import read_json, read_text

FORMATS = {
    "json": "Failure Catalog JSON backup",
    "csv": "Incident CSV (the columns of the export)",
    "statuspage": "Atlassian Statuspage v2 incidents.json",
}


def run_import(
    session: Session,
    fmt: str,
    raw: bytes,
    *,
    vector: str | None = None,
    rules: list[VectorRule] | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    match_budget: float | None = None,
) -> ImportSummary:
    """Import a file in one transaction: committed whole, or on a refusal or a dry run
    nothing. `match_budget`: see import_statuspage."""

    def work() -> ImportSummary:
        summary = _run(
            session,
            fmt,
            raw,
            vector=vector,
            rules=rules,
            dry_run=dry_run,
            now=now,
            match_budget=match_budget,
        )
        if dry_run:
            session.rollback()
        return summary

    try:  # a refusal or a clash with a concurrent writer arrives as a DomainError
        return commit(session, work)
    except BaseException:  # and whatever else stopped it: nothing is kept
        session.rollback()
        raise


def _run(
    session: Session,
    fmt: str,
    raw: bytes,
    *,
    vector: str | None,
    rules: list[VectorRule] | None,
    dry_run: bool,
    now: datetime | None,
    match_budget: float | None,
) -> ImportSummary:
    if fmt not in FORMATS:
        raise ValidationError({"format": [f"Format must be one of: {', '.join(FORMATS)}."]})
    text = read_text(raw)
    if fmt == "csv":
        return import_incidents_csv(session, text, default_vector=vector, dry_run=dry_run, now=now)
    document = read_json(text)
    if fmt == "json":
        return import_backup(session, document, dry_run=dry_run, now=now)
    return import_statuspage(
        session,
        document,
        default_vector=vector,
        rules=rules,
        dry_run=dry_run,
        now=now,
        match_budget=match_budget,
    )


def detect_format(filename: str, raw: bytes) -> str:
    """For the CLI without --format: by extension, then by what the JSON says it is."""
    if filename.lower().endswith(".csv"):
        return "csv"
    head = raw[:4096]
    return "json" if b'"failure-catalog-backup"' in head else "statuspage"
