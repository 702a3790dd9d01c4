"""/api/v1/metrics"""

from __future__ import annotations

from flask import request

from catalog.api import bp
from catalog.api.docs import (
    TIMESTAMP,
    Schema,
    errors,
    nullable,
    obj,
    ok,
    operation,
    params,
    query,
    ref,
)
from catalog.api.incidents import filters_from_query
from catalog.config import MTTR_FROM_CHOICES
from catalog.reports.cache import metrics_cache
from catalog.reports.metrics import GROUP_BYS
from catalog.sessions import get_session
from catalog.settings import current_settings


@bp.get("/metrics")
@operation(
    "metrics",
    "MTTD/MTTR statistics per group (SPEC §3)",
    {**ok(200, "Statistics per group.", ref("Metrics")), **errors(422)},
    parameters=[
        query(
            "group_by",
            {"type": "string", "enum": list(GROUP_BYS), "default": "overall"},
            "How incidents are grouped.",
        ),
        *params("Since", "Until", "Vector", "Severity", "Service", "Team", "Status", "Q"),
    ],
)
def metrics():  # type: ignore[no-untyped-def]
    report = metrics_cache().metrics(
        get_session(),
        current_settings(),
        group_by=request.args.get("group_by", "overall"),
        filters=filters_from_query(),
    )
    return {"definition": report.definition(), "groups": [g.to_dict() for g in report.groups]}


def metrics_schemas() -> dict[str, Schema]:
    """The schemas this route's body and answer refer to, for the OpenAPI document."""
    stat = {"type": ["number", "null"]}
    stats = obj(
        {
            "mean": stat,
            "median": stat,
            "p90": stat,
            "max": stat,
            "target": {"type": "integer", "description": "Target in seconds."},
            "attainment": {
                "type": ["number", "null"],
                "minimum": 0,
                "maximum": 1,
                "description": "Share of incidents at or under target; null without incidents.",
            },
            "breaches": {"type": "integer", "minimum": 0},
        },
        ["mean", "median", "p90", "max", "target", "attainment", "breaches"],
        description="Seconds; null statistics when the group has no values.",
    )
    group = obj(
        {
            "key": {
                "type": "string",
                "description": "Vector slug, severity, service, team, `overall`, or the "
                "period's first day (YYYY-MM-DD).",
            },
            "label": {"type": "string"},
            "count": {"type": "integer", "minimum": 0},
            "open": {"type": "integer", "minimum": 0},
            "breaching": {"type": "integer", "minimum": 0},
            "ttd": ref("DurationStats"),
            "ttr": ref("DurationStats"),
            **{
                f"{part}_rolling_median": {
                    "type": ["number", "null"],
                    "description": "Week and month groupings: the median "
                    f"{part} in seconds of every incident in this period and the two before "
                    "it (within the range); null for other groupings or without values.",
                }
                for part in ("ttd", "ttr")
            },
        },
        [
            "key",
            "label",
            "count",
            "open",
            "breaching",
            "ttd",
            "ttr",
            "ttd_rolling_median",
            "ttr_rolling_median",
        ],
    )
    text = {"type": "string"}
    definition = obj(
        {
            "ttd": text,
            "ttr": text,
            "mttr_from": {"type": "string", "enum": list(MTTR_FROM_CHOICES)},
            "units": text,
            "percentile": text,
            "attainment": text,
            "breaching": text,
            "group_by": {"type": "string", "enum": list(GROUP_BYS)},
            "period_field": text,
            "period_zone": text,
            "default_targets": obj(
                {"ttd": {"type": "integer"}, "ttr": {"type": "integer"}}, ["ttd", "ttr"]
            ),
            "since": nullable(TIMESTAMP),
            "until": nullable(TIMESTAMP),
            "generated_at": TIMESTAMP,
        },
        [
            "ttd",
            "ttr",
            "mttr_from",
            "units",
            "percentile",
            "attainment",
            "breaching",
            "group_by",
            "period_field",
            "period_zone",
            "default_targets",
            "since",
            "until",
            "generated_at",
        ],
        description="How every number below was computed.",
    )
    return {
        "DurationStats": stats,
        "MetricsGroup": group,
        "MetricsDefinition": definition,
        "Metrics": obj(
            {
                "definition": ref("MetricsDefinition"),
                "groups": {"type": "array", "items": ref("MetricsGroup")},
            },
            ["definition", "groups"],
        ),
    }
