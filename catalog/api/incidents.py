"""/api/v1/incidents"""

from __future__ import annotations

from datetime import datetime
from operator import itemgetter

from flask import current_app, request

from catalog.api import bp
from catalog.api.common import host_is_trusted, list_envelope, paging
from catalog.api.docs import WRITE_ERRORS, body, errors, ok, operation, params, query, ref
from catalog.api.parsing import json_body, query_timestamp, read_timestamps, refuse_unknown
from catalog.api.serializers import incident_to_dict, next_clock_change
from catalog.auth import email_or_me
from catalog.db import utcnow
from catalog.errors import FieldErrors
from catalog.exports.incidents_csv import incidents_csv_response
from catalog.incidents import service
from catalog.incidents.service import small_enough
from catalog.incidents.spec import TIMESTAMP_FIELDS
from catalog.reports.cache import cached_values
from catalog.reports.shared import KEPT_PAGE
from catalog.sessions import get_session
from catalog.settings import current_settings


def filters_from_query() -> service.IncidentFilters:
    """List and metrics filters from the query string; bad values are 422 with the field."""
    errors = FieldErrors()
    since = query_timestamp(errors, "since")
    until = query_timestamp(errors, "until")
    errors.raise_if_any()
    args = request.args
    return service.IncidentFilters(
        vector=args.get("vector") or None,
        severity=args.get("severity") or None,
        service=args.get("service") or None,
        team=args.get("team") or None,
        status=args.get("status") or None,
        since=since,
        until=until,
        q=args.get("q") or None,
        lead=email_or_me(args.get("lead")),
    )


@bp.get("/incidents")
@operation(
    "incidents",
    "List incidents (filter, sort, paginate)",
    {**ok(200, "One page of incidents.", ref("IncidentList")), **errors(422)},
    parameters=[
        *params("IncidentPage", "PerPage"),
        *params("Vector", "Severity", "Service", "Team", "Status", "Since", "Until", "Q", "Lead"),
        query(
            "sort",
            {"type": "string", "enum": list(service.SORTS), "default": "-started"},
            "Sort key; `-` for descending.",
        ),
    ],
)
def list_incidents():  # type: ignore[no-untyped-def]
    """One page as JSON, kept whole under the data versions until the clock changes it.

    A page's answer depends on the data, the settings, the request (its query and,
    in `next`, its host) and the clock; the clock only through each item's
    `breaching` and `root_cause_flag`, whose next change is known
    (`next_clock_change`), so the answer is kept until the first of them.
    """
    page_no, per_page = paging()
    filters = filters_from_query()
    sort = request.args.get("sort", "-started")
    session = get_session()
    cached, s, now = cached_values(session), current_settings(), utcnow()

    def answer() -> tuple[str, datetime | None, bool]:
        result = service.list_incidents(
            session, filters, sort=sort, page=page_no, per_page=per_page, cached=cached
        )
        envelope = list_envelope(
            [incident_to_dict(i, s, now=now) for i in result.items],
            page=page_no,
            per_page=per_page,
            total=result.total,
            endpoint="api.list_incidents",
        )
        body = current_app.json.response(envelope).get_data(as_text=True)
        return body, next_clock_change(result.items, s, now=now), small_enough(result.items)

    where = (request.scheme, request.host, request.root_path, host_is_trusted())
    # The resolved filters too: `lead=me` is each caller's own list.
    name = f"api-incidents:{where}:{filters!r}:{request.query_string!r}"
    body, _, _ = cached(
        name, answer, itemgetter(2), valid_until=itemgetter(1), now=now, codec=KEPT_PAGE
    )
    return current_app.response_class(body, mimetype=current_app.json.mimetype)  # type: ignore[attr-defined]


@bp.post("/incidents")
@operation(
    "incidents",
    "Log an incident",
    {**ok(201, "Created.", ref("Incident")), **errors(*WRITE_ERRORS, 409)},
    requestBody=body("IncidentCreate"),
)
def create_incident():  # type: ignore[no-untyped-def]
    data = json_body()
    refuse_unknown(data, service.EDITABLE)
    errors = FieldErrors()
    data = read_timestamps(errors, data, TIMESTAMP_FIELDS)
    session = get_session()
    incident = service.create_incident(session, data, errors=errors)
    session.commit()
    return incident_to_dict(incident, current_settings(), now=utcnow()), 201


@bp.get("/incidents/<int:incident_id>")
@operation(
    "incidents",
    "Read an incident with its derived values",
    {**ok(200, "The incident.", ref("Incident")), **errors(404)},
)
def get_incident(incident_id: int):  # type: ignore[no-untyped-def]
    incident = service.get_incident(get_session(), incident_id)
    return incident_to_dict(incident, current_settings(), now=utcnow())


@bp.patch("/incidents/<int:incident_id>")
@operation(
    "incidents",
    "Change an incident",
    {**ok(200, "The updated incident.", ref("Incident")), **errors(*WRITE_ERRORS, 404, 409)},
    requestBody=body("IncidentPatch"),
)
def update_incident(incident_id: int):  # type: ignore[no-untyped-def]
    data = json_body()
    refuse_unknown(data, (*service.EDITABLE, "version"))
    errors = FieldErrors()
    data = read_timestamps(errors, data, TIMESTAMP_FIELDS)
    session = get_session()
    incident = service.get_incident(session, incident_id)
    service.update_incident(session, incident, data, errors=errors)
    session.commit()
    return incident_to_dict(incident, current_settings(), now=utcnow())


@bp.delete("/incidents/<int:incident_id>")
@operation(
    "incidents",
    "Delete an incident with its post-mortem and action items",
    {"204": {"description": "Deleted."}, **errors(404, 409)},
)
def delete_incident(incident_id: int):  # type: ignore[no-untyped-def]
    session = get_session()
    service.delete_incident(session, service.get_incident(session, incident_id))
    session.commit()
    return "", 204


@bp.get("/exports/incidents.csv")
@operation(
    "incidents",
    "Every incident matching the filters as CSV (streamed, not paginated)",
    {
        "200": {
            "description": "One row per incident: `vectors` joined by `;`, timestamps ISO 8601 "
            "UTC, `ttd_s`/`ttr_s` in seconds, `ttr_from`. Cells starting with = + - @ or ' "
            "get a leading `'`.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **errors(422),
    },
    parameters=params("Vector", "Severity", "Service", "Team", "Status", "Since", "Until", "Q"),
)
def export_incidents_csv():  # type: ignore[no-untyped-def]
    """Every incident matching the list filters as CSV, streamed (not paginated)."""
    return incidents_csv_response(filters_from_query())
