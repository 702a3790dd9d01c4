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
from catalog.db import utcnow
from catalog.errors import FieldErrors, ValidationError
from catalog.reports.cache import metrics_cache
from catalog.reports.changes import CHANGE_GROUPS, ChangeGroup, compute_changes
from catalog.reports.metrics import GROUP_BYS
from catalog.reports.query import RANGES, parse_report_query
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


@bp.get("/metrics/changes")
@operation(
    "metrics",
    "Change metrics per group: deployment frequency, change failure rate, time to restore, "
    "rollback time",
    {
        **ok(200, "Change metrics per group, overall, and the range before.", ref("ChangeMetrics")),
        **errors(422),
    },
    parameters=[
        query(
            "group_by",
            {"type": "string", "enum": list(CHANGE_GROUPS), "default": "service"},
            "How releases (and the incidents they caused) are grouped.",
        ),
        query("range", {"type": "string", "enum": list(RANGES)}, "A preset range ending today."),
        query("since", {"type": "string", "format": "date"}, "First day (in CATALOG_TIMEZONE)."),
        query("until", {"type": "string", "format": "date"}, "Last day, included."),
        *params("Service", "Team"),
    ],
)
def change_metrics():  # type: ignore[no-untyped-def]
    s = current_settings()
    group_by = request.args.get("group_by") or "service"
    errors_ = FieldErrors()
    if group_by not in CHANGE_GROUPS:
        errors_.add("group_by", f"Group by must be one of: {', '.join(CHANGE_GROUPS)}.")
    try:
        view = parse_report_query(request.args, s, today=utcnow().astimezone(s.zone).date())
    except ValidationError as exc:
        errors_.merge(exc.fields)
    errors_.raise_if_any()
    report = compute_changes(get_session(), s, view, group_by)
    return {
        "definition": {
            "since": view.first_day.isoformat(),
            "until": view.last_day.isoformat(),
            "timezone": s.timezone,
            "change_failure_rate": "releases rolled back or named by an incident as its "
            "cause, over releases deployed",
            "time_to_restore": f"TTR (recovered_at - {s.mttr_from}_at) of incidents naming "
            "a release",
            "rollback_seconds": "rolled_back_at - rollback_started_at",
        },
        "groups": [change_to_dict(g) for g in report.groups],
        "overall": change_to_dict(report.overall),
        "previous": change_to_dict(report.previous),
    }


def change_to_dict(group: ChangeGroup) -> dict[str, object]:
    return {
        "key": group.key,
        "deployments": group.deployments,
        "deployments_per_week": group.per_week,
        "failed_changes": group.failed,
        "rolled_back": group.rolled_back,
        "change_failure_rate": group.change_failure_rate,
        "time_to_restore": {
            "median": group.restore.median,
            "p90": group.restore.p90,
            "samples": group.restore.samples,
        },
        "rollback_seconds_median": group.rollback_median,
    }


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
    count = {"type": "integer", "minimum": 0}
    change_group = obj(
        {
            "key": {"type": "string"},
            "deployments": count,
            "deployments_per_week": {"type": "number"},
            "failed_changes": count,
            "rolled_back": count,
            "change_failure_rate": stat,
            "time_to_restore": obj(
                {"median": stat, "p90": stat, "samples": count}, ["median", "p90", "samples"]
            ),
            "rollback_seconds_median": stat,
        },
        [
            "key",
            "deployments",
            "deployments_per_week",
            "failed_changes",
            "rolled_back",
            "change_failure_rate",
            "time_to_restore",
            "rollback_seconds_median",
        ],
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
        "ChangeGroup": change_group,
        "ChangeMetrics": obj(
            {
                "definition": {"type": "object"},
                "groups": {"type": "array", "items": ref("ChangeGroup")},
                "overall": ref("ChangeGroup"),
                "previous": ref("ChangeGroup"),
            },
            ["definition", "groups", "overall", "previous"],
        ),
    }
