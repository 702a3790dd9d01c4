"""/api/v1/exports and /api/v1/imports: the backup, the dossier and file imports."""

from __future__ import annotations

from flask import Response, current_app, request

from catalog.api import bp
from catalog.errors import FieldErrors, ValidationError
from catalog.exports.backup import backup_response
from catalog.exports.dossier import build_dossier, dossier_markdown
from catalog.imports.formats import FORMATS, run_import
from catalog.imports.statuspage import parse_rules
from catalog.sessions import get_session

TRUE, FALSE = ("1", "true", "yes"), ("", "0", "false", "no")


@bp.get("/exports/backup.json")
def export_backup():  # type: ignore[no-untyped-def]
    """The whole catalog as the versioned JSON backup, streamed."""
    return backup_response()


@bp.get("/exports/dossier.md")
def export_dossier():  # type: ignore[no-untyped-def]
    dossier = build_dossier(get_session(), current_app.extensions["catalog.settings"])
    return Response(dossier_markdown(dossier), mimetype="text/markdown")


@bp.post("/imports")
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
