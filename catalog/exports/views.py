"""The exports page: every download the catalog offers, with its options, in one place."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, abort, render_template, request

from catalog.exports.backup import backup_response
from catalog.exports.dossier import DOSSIER_CSP, build_dossier, dossier_html, dossier_markdown
from catalog.incidents.models import SEVERITIES, STATUSES
from catalog.reports.views import filter_choices
from catalog.sessions import get_session
from catalog.settings import current_settings

bp = Blueprint("exports", __name__, url_prefix="/exports")


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    return render_template(
        "exports/index.html",
        statuses=(*STATUSES, "open"),
        severities=SEVERITIES,
        **{k: v for k, v in filter_choices(get_session()).items() if k != "severities"},
    )


@bp.get("/backup.json")
def backup():  # type: ignore[no-untyped-def]
    return backup_response()


@bp.get("/dossier")
def dossier():  # type: ignore[no-untyped-def]
    """The dossier to read (HTML, print-ready), or to download as HTML or Markdown."""
    fmt = request.args.get("format", "html")
    download = request.args.get("download", "") in ("1", "true", "yes")
    if fmt not in ("html", "md"):
        abort(404)
    built = build_dossier(get_session(), current_settings())
    if fmt == "md":
        response = Response(dossier_markdown(built), mimetype="text/markdown")
    else:
        response = Response(dossier_html(built, toolbar=not download), mimetype="text/html")
        response.headers["Content-Security-Policy"] = DOSSIER_CSP
    if download:
        stamp = datetime.now(UTC).strftime("%Y%m%d")
        response.headers["Content-Disposition"] = (
            f'attachment; filename="failure-catalog-dossier-{stamp}.{fmt}"'
        )
    return response
