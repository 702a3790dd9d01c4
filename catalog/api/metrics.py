"""/api/v1/metrics"""

from __future__ import annotations

from flask import request

from catalog.api import bp
from catalog.api.common import settings
from catalog.api.incidents import filters_from_query
from catalog.reports.cache import metrics_cache
from catalog.sessions import get_session


@bp.get("/metrics")
def metrics():  # type: ignore[no-untyped-def]
    report = metrics_cache().metrics(
        get_session(),
        settings(),
        group_by=request.args.get("group_by", "overall"),
        filters=filters_from_query(),
    )
    return {"definition": report.definition(), "groups": [g.to_dict() for g in report.groups]}
