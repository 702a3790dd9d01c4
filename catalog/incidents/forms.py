"""Incident forms: times typed in the display zone, vectors as checkboxes."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from wtforms import (
    DateTimeLocalField,
    Form,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from catalog.incidents.models import (
    DETECTION_SOURCES,
    SEVERITIES,
    STATUSES,
    TIMESTAMP_FIELDS,
    Incident,
)
from catalog.vectors.models import Vector
from catalog.web.forms import (
    LOCAL_FORMAT,
    VersionedForm,
    local_to_utc,
    options,
    utc_to_local_naive,
)

SEVERITY_CHOICES = [
    ("SEV1", "SEV1 — critical, broad user impact"),
    ("SEV2", "SEV2 — major, a key feature degraded"),
    ("SEV3", "SEV3 — minor, limited impact"),
    ("SEV4", "SEV4 — no user impact"),
]
SOURCE_CHOICES = [
    ("alert", "Alert / monitoring"),
    ("customer", "Customer report"),
    ("internal", "Internal report"),
    ("other", "Other"),
]
assert [c for c, _ in SEVERITY_CHOICES] == list(SEVERITIES)
assert [c for c, _ in SOURCE_CHOICES] == list(DETECTION_SOURCES)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _time(label: str, required: bool, help_text: str) -> DateTimeLocalField:
    return DateTimeLocalField(
        label,
        format=LOCAL_FORMAT,
        validators=[InputRequired()] if required else [Optional()],
        description=help_text,
    )


class IncidentForm(VersionedForm):
    title = StringField("Title", validators=[InputRequired(), Length(max=200)])
    severity = SelectField("Severity", choices=options(SEVERITY_CHOICES), default="SEV3")
    service = StringField("Service", validators=[InputRequired(), Length(max=100)])
    team = StringField("Team", validators=[Optional(), Length(max=100)])
    vectors = MultiCheckboxField("Failure vectors", description="Pick every vector that applies.")
    detection_source = SelectField("Detected by", choices=options(SOURCE_CHOICES), default="alert")
    started_at = _time("Started", True, "When impact began (best estimate).")
    detected_at = _time("Detected", True, "When the team knew: alert fired or report received.")
    acknowledged_at = _time("Acknowledged", False, "When a responder took it.")
    mitigated_at = _time("Mitigated", False, "User impact contained: rollback, failover, breaker.")
    recovered_at = _time("Recovered", False, "Service fully restored. Leave empty while open.")
    summary = TextAreaField("Summary", description="Markdown. What users saw, what was done.")

    def set_vector_choices(self, vectors: list[Vector]) -> None:
        self.vectors.choices = options(
            (v.slug, v.name + (" (archived)" if v.archived else "")) for v in vectors
        )

    def load(self, incident: Incident, zone: ZoneInfo) -> None:
        """Fill a GET form from a stored incident, times shown in the user's zone."""
        self.title.data = incident.title
        self.severity.data = incident.severity
        self.service.data = incident.service
        self.team.data = incident.team
        self.vectors.data = incident.vector_slugs
        self.detection_source.data = incident.detection_source
        self.summary.data = incident.summary
        self.version.data = incident.version
        for name in TIMESTAMP_FIELDS:
            getattr(self, name).data = utc_to_local_naive(getattr(incident, name), zone)

    def to_domain(self, zone: ZoneInfo, current: Incident | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "title": self.title.data,
            "severity": self.severity.data,
            "service": self.service.data,
            "team": self.team.data or "",
            "vectors": list(self.vectors.data or []),
            "detection_source": self.detection_source.data,
            "summary": self.summary.data or "",
            "version": self.version.data,
        }
        for name in TIMESTAMP_FIELDS:
            stored = getattr(current, name) if current is not None else None
            data[name] = local_to_utc(getattr(self, name).data, zone, stored)
        return data


class IncidentFilterForm(Form):
    """The GET filter bar of the incident list: no CSRF, nothing changes."""

    q = StringField("Search", validators=[Optional(), Length(max=200)])
    vector = SelectField("Vector", choices=options([("", "All vectors")]), validate_choice=False)
    severity = SelectField(
        "Severity", choices=options([("", "All")] + [(s, s) for s in SEVERITIES])
    )
    service = SelectField("Service", choices=options([("", "All services")]), validate_choice=False)
    team = SelectField("Team", choices=options([("", "All teams")]), validate_choice=False)
    status = SelectField(
        "Status",
        choices=options(
            [("", "Any"), ("open", "Open (not recovered)")]
            + [(s, s.capitalize()) for s in STATUSES]
        ),
    )
    sort = SelectField(
        "Sort",
        choices=options(
            [
                ("-started", "Newest first"),
                ("started", "Oldest first"),
                ("-ttd", "Slowest detection"),
                ("ttd", "Fastest detection"),
                ("severity", "Severity (SEV1 first)"),
                ("title", "Title"),
            ]
        ),
        default="-started",
    )
