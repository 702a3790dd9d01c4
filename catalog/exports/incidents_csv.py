"""The incident list as CSV: one row per incident, durations in seconds.

Streams: rows are read from the database in batches and written as they
come, so exporting 10^6 incidents holds one batch in memory, not the table.
The durations are the metrics module's SQL definitions (ttd_sql, ttr_sql), so
a spreadsheet or pandas working from this file gets the app's own numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby
from operator import itemgetter
from typing import Any

from flask import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from catalog.auth.models import User
from catalog.exports.spreadsheet import csv_rows
from catalog.exports.streaming import streamed_download
from catalog.incidents.models import TIMESTAMP_FIELDS, Incident, incident_vectors
from catalog.incidents.service import IncidentFilters, apply_filters, check_filters
from catalog.reports.metrics import exact_seconds, ttd_sql, ttr_sql
from catalog.settings import Settings, current_settings
from catalog.timefmt import iso_utc
from catalog.vectors.models import Vector

HEADER = [
    "id",
    "uid",
    "title",
    "severity",
    "service",
    "team",
    "vectors",
    "detection_source",
    "started_at",
    "detected_at",
    "acknowledged_at",
    "mitigated_at",
    "recovered_at",
    "ttd_s",
    "ttr_s",
    "ttr_from",
    "lead",
    "comms_lead",
]
BATCH = 5000
_LEAD, _COMMS_LEAD = aliased(User), aliased(User)


def incident_csv_chunks(
    session: Session, settings: Settings, filters: IncidentFilters | None = None
) -> Iterator[str]:
    """The CSV text in pieces: the header, then a batch of rows at a time."""
    filters = filters or IncidentFilters()
    check_filters(filters)
    dialect = session.get_bind().dialect.name
    columns: list[Any] = [
        Incident.id,
        Incident.uid,
        Incident.title,
        Incident.severity,
        Incident.service,
        Incident.team,
        Vector.slug,
        Incident.detection_source,
        *(getattr(Incident, name) for name in TIMESTAMP_FIELDS),
        exact_seconds(ttd_sql(), dialect),
        exact_seconds(ttr_sql(settings.mttr_from), dialect),
        _LEAD.email,
        _COMMS_LEAD.email,
    ]
    query = apply_filters(
        select(*columns)
        .select_from(Incident)
        .outerjoin(_LEAD, _LEAD.id == Incident.lead_id)
        .outerjoin(_COMMS_LEAD, _COMMS_LEAD.id == Incident.comms_lead_id)
        .outerjoin(incident_vectors, incident_vectors.c.incident_id == Incident.id)
        .outerjoin(Vector, Vector.id == incident_vectors.c.vector_id)
        .order_by(Incident.id, Vector.slug),
        filters,
    )
    result = session.connection().execution_options(yield_per=BATCH).execute(query)
    try:
        yield csv_rows([HEADER])
        batch: list[list[object]] = []
        # One row per incident and vector, in incident order: fold each run into one line.
        for _, run in groupby(result, key=itemgetter(0)):
            rows = list(run)
            first = rows[0]
            batch.append(
                [
                    *first[:6],
                    ";".join(r[6] for r in rows if r[6]),
                    first[7],
                    *(iso_utc(v) or "" for v in first[8:13]),
                    first[13],
                    "" if first[14] is None else first[14],
                    settings.mttr_from,
                    first[15] or "",
                    first[16] or "",
                ]
            )
            if len(batch) >= BATCH:
                yield csv_rows(batch)
                batch = []
        if batch:
            yield csv_rows(batch)
    finally:
        result.close()  # a download cut off half way leaves no server-side cursor open


def incidents_csv_response(filters: IncidentFilters) -> Response:
    """The export as a streamed download, for the web page and the API.

    The filters are checked first, so a bad one is an error response, not a
    broken file.
    """
    check_filters(filters)
    settings: Settings = current_settings()
    return streamed_download(
        lambda session: incident_csv_chunks(session, settings, filters),
        mimetype="text/csv",
        name="incidents",
        extension="csv",
    )
