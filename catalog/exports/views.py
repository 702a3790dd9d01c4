"""The exports page: every download the catalog offers, with its options, in one place."""

from __future__ import annotations

from flask import Blueprint, render_template

from catalog.db import get_session
from catalog.incidents.models import SEVERITIES, STATUSES
from catalog.reports.views import filter_choices

bp = Blueprint("exports", __name__, url_prefix="/exports")


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    return render_template(
        "exports/index.html",
        statuses=(*STATUSES, "open"),
        severities=SEVERITIES,
        **{k: v for k, v in filter_choices(get_session()).items() if k != "severities"},
    )
