"""One entry point for every import format, shared by the CLI, the API and the upload page.

It turns the file's bytes into what the format's importer reads (JSON or CSV
text), refusing what is not UTF-8 or not well formed with the line and column,
and runs the importer in one transaction, which it ends: committed, or rolled
back on any error and on a dry run. All or nothing is kept here, once, not by
each surface.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from catalog.errors import ValidationError
from catalog.imports.backup import import_backup
from catalog.imports.incidents_csv import import_incidents_csv
from catalog.imports.statuspage import VectorRule, import_statuspage
from catalog.imports.summary import ImportSummary
from catalog.outcomes import commit

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
    text = _text(raw)
    if fmt == "csv":
        return import_incidents_csv(session, text, default_vector=vector, dry_run=dry_run, now=now)
    document = _json(text)
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


def _text(raw: bytes) -> str:
    if not raw.strip():
        raise ValidationError({"file": ["The file is empty."]})
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            {"file": [f"Not UTF-8 text (byte {exc.start} cannot be read)."]}
        ) from exc


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            {"file": [f"Not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}."]}
        ) from exc
    except RecursionError as exc:
        raise ValidationError({"file": ["The JSON is nested too deeply to read."]}) from exc
    except ValueError as exc:  # e.g. a number of more than 4,300 digits
        raise ValidationError({"file": [f"The JSON cannot be read: {exc}."]}) from exc
