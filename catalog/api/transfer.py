"""/api/v1/exports and /api/v1/imports: the backup, the dossier and file imports."""

from __future__ import annotations

from flask import Response, request

from catalog.api import bp
from catalog.api.docs import JSON, Schema, errors, obj, ok, operation, query, ref
from catalog.errors import FieldErrors, ValidationError
from catalog.exports.backup import READABLE_VERSIONS, backup_response
from catalog.exports.backup import VERSION as BACKUP_VERSION
from catalog.exports.dossier import build_dossier, dossier_markdown
from catalog.imports.formats import FORMATS, run_import
from catalog.imports.statuspage import parse_rules
from catalog.rules import SHORT_MAX
from catalog.sessions import get_session
from catalog.settings import current_settings

TRUE, FALSE = ("1", "true", "yes"), ("", "0", "false", "no")


@bp.get("/exports/backup.json")
@operation(
    "transfer",
    "The whole catalog as the JSON backup (streamed)",
    {
        "200": {
            "description": f"Format `failure-catalog-backup`, version {BACKUP_VERSION} (see the "
            "README): vectors by slug, incidents by id with their vector slugs, post-mortem, "
            "action items and timeline inline; no database ids, so export → import into an "
            "empty catalog → export gives the same document. Imports read versions "
            f"{', '.join(str(v) for v in READABLE_VERSIONS)}.",
            "content": {JSON: {"schema": ref("Backup")}},
        },
        **errors(),
    },
)
def export_backup():  # type: ignore[no-untyped-def]
    """The whole catalog as the versioned JSON backup, streamed."""
    return backup_response()


@bp.get("/exports/dossier.md")
@operation(
    "transfer",
    "The dossier in Markdown: catalog, MTTD/MTTR vs targets, post-mortems, trend",
    {
        "200": {
            "description": "Markdown; the last 12 months.",
            "content": {"text/markdown": {"schema": {"type": "string"}}},
        },
        **errors(),
    },
)
def export_dossier():  # type: ignore[no-untyped-def]
    dossier = build_dossier(get_session(), current_settings())
    return Response(dossier_markdown(dossier), mimetype="text/markdown")


@bp.post("/imports")
@operation(
    "transfer",
    "Import a file: the JSON backup, the incident CSV or a Statuspage history",
    {
        **ok(200, "What was (or, in a dry run, would be) created.", ref("ImportSummary")),
        **errors(400, 413, 422),
    },
    parameters=[
        {
            **query(
                "format",
                {"type": "string", "enum": ["json", "csv", "statuspage"]},
                "`json` (this app's backup), `csv` (the incident CSV export's columns) or "
                "`statuspage` (Statuspage v2 incidents.json).",
            ),
            "required": True,
        },
        query(
            "dry_run",
            {"type": "string", "enum": ["true", "false", "1", "0", "yes", "no"]},
            "Check everything and report; write nothing.",
        ),
        query(
            "vector",
            {"type": "string", "maxLength": SHORT_MAX},
            "Vector slug for records that name none (CSV) or that no rule matches (Statuspage).",
        ),
        query(
            "vector_rule",
            {"type": "string", "maxLength": 500},
            "Statuspage: `PATTERN=slug`, repeatable; the first whose regex matches the incident "
            "name wins.",
        ),
    ],
    requestBody={
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        "description": "The file itself, UTF-8. Any content type is read as bytes.",
    },
    description="All or nothing: the first bad record is a 422 naming its place (`line 12: "
    "severity`, `incidents[3].started_at`) and nothing is written. Records already present (by "
    "uid, source id or, for a CSV row without uid, its title, service and start) are skipped, "
    "so a repeat creates nothing.",
)
def import_file():  # type: ignore[no-untyped-def]
    """The request body is the file; the options are query parameters."""
    errors = FieldErrors()
    fmt = request.args.get("format", "")
    if fmt not in FORMATS:
        errors.add("format", f"Format must be one of: {', '.join(FORMATS)}.")
    dry = request.args.get("dry_run", "").lower()
    if dry not in TRUE + FALSE:
        errors.add("dry_run", "dry_run must be true or false.")
    vector = request.args.get("vector") or None
    rules = []
    try:
        rules = parse_rules(request.args.getlist("vector_rule"))
    except ValidationError as exc:
        errors.merge(exc.fields)
    errors.raise_if_any()
    summary = run_import(
        get_session(), fmt, request.get_data(), vector=vector, rules=rules, dry_run=dry in TRUE
    )
    return summary.to_dict()


def transfer_schemas() -> dict[str, Schema]:
    """The schemas this route's body and answer refer to, for the OpenAPI document."""
    count = {"type": "integer", "minimum": 0}
    return {
        "ImportSummary": obj(
            {
                "source": {"type": "string", "enum": ["backup", "csv", "statuspage"]},
                "records": count,
                "created": count,
                "already_imported": count,
                "skipped_maintenance": count,
                "postmortems_created": count,
                "vectors_created": count,
                "vectors_updated": count,
                "releases_created": count,
                "releases_linked": count,
                "dry_run": {"type": "boolean"},
                "message": {"type": "string"},
            },
            ["source", "records", "created", "already_imported", "dry_run", "message"],
        ),
        "Backup": {
            "type": "object",
            "required": ["format", "version", "vectors", "releases", "incidents"],
            "properties": {
                "format": {"const": "failure-catalog-backup"},
                "version": {"const": BACKUP_VERSION},
                "vectors": {"type": "array", "items": {"type": "object"}},
                "releases": {"type": "array", "items": {"type": "object"}},
                "incidents": {"type": "array", "items": {"type": "object"}},
            },
        },
    }
