"""The incident CSV (catalog/exports/incidents_csv.py) back in: all or nothing, by line.

The columns are the export's. `title`, `severity`, `service`, `started_at` and
`detected_at` are required; the derived ones (`id`, `ttd_s`, `ttr_s`,
`ttr_from`) are read past, since the app computes them, and so are the roles
(`lead`, `comms_lead`: accounts of the installation that wrote the file, which
need not exist here; the JSON backup carries them); any other column is
refused, so a misspelt header cannot drop a field in silence. `vectors` holds
slugs separated by `;`; a row that names none gets the `--vector` default.

Identity: a row's `uid` when it has one (an exported file); otherwise one
derived from its title, service and start (`csv-` and a hash), so importing
the same hand-written file twice creates nothing either. The export's
apostrophe in front of a formula-like cell is taken off again.

Every row goes through validate_incident (history may name a vector archived
since, as in a backup); the first bad one aborts the import with its line
number (as an editor shows it, so a cell spanning lines counts them all) and
the reason.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.db import utcnow
from catalog.errors import FieldErrors, ValidationError
from catalog.exports.incidents_csv import HEADER
from catalog.exports.spreadsheet import unguard_cell
from catalog.imports import progress
from catalog.imports.backup import UID_RE
from catalog.imports.summary import ImportSummary
from catalog.incidents.models import TIMESTAMP_FIELDS, Incident
from catalog.incidents.service import validate_incident
from catalog.incidents.spec import INCIDENT
from catalog.timefmt import parse_timestamp
from catalog.vectors.models import Vector

# The incident's required fields, but `vectors`: a row that names none gets the default.
REQUIRED = tuple(name for name in INCIDENT.required if name != "vectors")
# Read past: computed by the export, or (the roles) accounts of the installation that
# wrote the file, which need not exist here.
DERIVED = ("id", "ttd_s", "ttr_s", "ttr_from", "lead", "comms_lead")
FLUSH_EVERY = 500


def import_incidents_csv(
    session: Session,
    text: str,
    *,
    default_vector: str | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> ImportSummary:
    """Create the incidents of a CSV text; flushes, never commits.

    A dry run checks every row as the real run does (the same validation,
    the same duplicate checks, kept in memory) but adds nothing to the
    session: on SQLite a flush would take the write lock and hold it until
    the end of the run, blocking every other writer meanwhile.
    """
    now = now or utcnow()
    catalog = {v.slug: v for v in session.scalars(select(Vector))}
    if default_vector is not None and default_vector not in catalog:
        raise ValidationError({"vector": [f"There is no vector {default_vector!r}."]})
    reader = csv.reader(_lines(text), strict=True)
    header = _header(reader)
    summary = ImportSummary(source="csv", dry_run=dry_run)
    uids = set(session.scalars(select(Incident.uid)))
    lines = text.count("\n") + 1
    while True:
        progress.step(min(reader.line_num, lines), lines, "lines")
        try:
            row = next(reader)
        except StopIteration:
            progress.step(lines, lines, "lines")
            break
        except csv.Error as exc:
            raise _refused(reader.line_num, {"csv": [f"Not readable as CSV: {exc}."]}) from exc
        if not any(cell.strip() for cell in row):
            continue  # blank lines, e.g. at the end of a hand-edited file
        line = reader.line_num
        if len(row) != len(header):
            raise _refused(
                line, {"row": [f"Has {len(row)} cells; the header has {len(header)} columns."]}
            )
        summary.records += 1
        values = {name: unguard_cell(cell) for name, cell in zip(header, row, strict=True)}
        uid = values.get("uid") or _derived_uid(values)
        if not UID_RE.fullmatch(uid):
            raise _refused(line, {"uid": ["A uid is 1-40 letters, digits, . _ : or -."]})
        if uid in uids:
            summary.already_imported += 1
            continue
        data = _incident_data(line, values, default_vector)
        try:
            clean = validate_incident(session, data, now=now, catalog=catalog, allow_archived=True)
        except ValidationError as exc:
            raise _refused(line, exc.fields) from exc
        if not dry_run:  # a dry run writes nothing, so it holds no lock another writer waits on
            session.add(Incident(**clean, uid=uid))
        uids.add(uid)
        summary.created += 1
        if summary.created % FLUSH_EVERY == 0:
            session.flush()
    session.flush()
    return summary


def _lines(text: str) -> Iterator[str]:
    """The text's lines, ends kept, one at a time.

    Not io.StringIO: it keeps a copy of the text at four bytes a character,
    a gigabyte for the CSV of a million incidents.
    """
    start, size = 0, len(text)
    while start < size:
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start : end + 1]
        start = end + 1


def _refused(line: int, fields: dict[str, list[str]]) -> ValidationError:
    return ValidationError(
        {f"line {line}: {k}": v for k, v in fields.items()},
        f"Line {line} is refused; nothing was imported.",
    )


def _header(reader: csv.Reader) -> list[str]:  # type: ignore[name-defined]
    try:
        header = [cell.strip().lstrip("\ufeff") for cell in next(reader)]
    except StopIteration:
        raise _refused(
            1, {"header": ["The file is empty; the first line must be the header."]}
        ) from None
    except csv.Error as exc:
        raise _refused(1, {"header": [f"Not readable as CSV: {exc}."]}) from exc
    errors = FieldErrors()
    unknown = [name for name in header if name not in HEADER]
    if unknown:
        errors.add(
            "header",
            f"Unknown columns {', '.join(repr(n[:40]) for n in unknown[:5])}; "
            f"the columns are those of the export: {', '.join(HEADER)}.",
        )
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        errors.add("header", f"Missing required columns: {', '.join(missing)}.")
    if len(set(header)) != len(header):
        errors.add("header", "A column appears twice.")
    if errors:
        raise _refused(1, errors.fields)
    return header


def _derived_uid(values: dict[str, str]) -> str:
    key = "\x1f".join(values.get(n, "").strip() for n in ("title", "service", "started_at"))
    return "csv-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _incident_data(
    line: int, values: dict[str, str], default_vector: str | None
) -> dict[str, object]:
    errors = FieldErrors()
    data: dict[str, object] = {
        name: values.get(name, "")
        for name in ("title", "severity", "service", "team", "detection_source")
    }
    data["summary"] = ""
    for name in TIMESTAMP_FIELDS:
        raw = values.get(name, "").strip()
        data[name] = parse_timestamp(errors, name, raw) if raw else None
    slugs = [s.strip() for s in values.get("vectors", "").split(";") if s.strip()]
    data["vectors"] = slugs or ([default_vector] if default_vector else [])
    if not data["vectors"]:
        errors.add("vectors", "Names no vector, and no default vector (--vector) was given.")
    if errors:
        raise _refused(line, errors.fields)
    return data
