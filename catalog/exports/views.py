"""The exports page: every download the catalog offers, with its options, in one place."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, abort, render_template, request

from catalog.errors import ValidationError
from catalog.exports.backup import backup_response
from catalog.exports.dossier import (
    DOSSIER_CSP,
    DossierOptions,
    build_dossier,
    dossier_html,
    dossier_markdown,
)
from catalog.exports.pdf import PdfUnavailable, html_to_pdf
from catalog.incidents.models import SEVERITIES, STATUSES
from catalog.reports.views import filter_choices
from catalog.sessions import get_session
from catalog.settings import current_settings
from catalog.web.errors import plain_text_400

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
    """The dossier to read (HTML, print-ready), or to download as PDF, HTML or Markdown,
    with the candidate's name, role and context and, on request, names redacted."""
    fmt = request.args.get("format", "html")
    # A PDF or Markdown file is saved; the page is read (download=0 shows a PDF inline).
    saved = "1" if fmt in ("pdf", "md") else ""
    download = request.args.get("download", saved) in ("1", "true", "yes")
    if fmt not in ("html", "md", "pdf"):
        abort(404)
    try:
        options = DossierOptions.read(request.args)
    except ValidationError as exc:
        return plain_text_400(exc)
    built = build_dossier(get_session(), current_settings(), options=options)
    if fmt == "md":
        response = Response(dossier_markdown(built), mimetype="text/markdown")
    elif fmt == "pdf":
        try:
            response = Response(html_to_pdf(dossier_html(built)), mimetype="application/pdf")
        except PdfUnavailable as exc:
            return Response(str(exc), 503, mimetype="text/plain")
    else:
        response = Response(dossier_html(built, toolbar=not download), mimetype="text/html")
        response.headers["Content-Security-Policy"] = DOSSIER_CSP
    if download or fmt == "pdf":
        stamp = datetime.now(UTC).strftime("%Y%m%d")
        kind = "attachment" if download else "inline"  # a PDF keeps its name either way
        response.headers["Content-Disposition"] = (
            f'{kind}; filename="failure-catalog-dossier-{stamp}.{fmt}"'
        )
    return response
