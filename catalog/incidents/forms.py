"""Incident forms: the fields come from INCIDENT; times are typed in the display zone."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from wtforms import BooleanField, Form, SelectField, StringField
from wtforms.validators import Length, Optional

from catalog.fields import fill_form, read_form, with_fields
from catalog.incidents.milestones import REOPEN, STAMP
from catalog.incidents.models import SEVERITIES, STATUSES, Incident
from catalog.incidents.spec import INCIDENT, PEOPLE
from catalog.incidents.timeline import NOTE
from catalog.releases.models import Release
from catalog.vectors.models import Vector
from catalog.web.forms import VersionedForm, options


@with_fields(INCIDENT)
class IncidentForm(VersionedForm):
    """Every field of INCIDENT; each rule is checked by the domain, all at once."""

    def set_vector_choices(self, vectors: list[Vector]) -> None:
        self.vectors.choices = options(
            (v.slug, v.name + (" (archived)" if v.archived else "")) for v in vectors
        )

    def set_people_choices(
        self, people: list[tuple[str, str]], current: Incident | None = None
    ) -> None:
        """The active accounts, and whoever holds a role now (even if since deactivated)."""
        known = {email for email, _ in people}
        for name in PEOPLE:
            holder = getattr(current, f"{name}_email", None) if current is not None else None
            extra = [(holder, f"{holder} (deactivated)")] if holder and holder not in known else []
            getattr(self, name).choices = options(
                [("", "— nobody yet —")]
                + [(email, f"{label} ({email})" if label else email) for email, label in people]
                + extra
            )

    def set_release_choices(self, releases: list[Release]) -> None:
        """The newest releases (and the one already named), newest first."""
        self.release.choices = options(
            [("", "— none —")]
            + [(str(r.id), f"{r.label} · {r.deployed_at:%Y-%m-%d}") for r in releases]
        )

    def load(self, incident: Incident, zone: ZoneInfo) -> None:
        """Fill a GET form from a stored incident, times shown in the user's zone."""
        fill_form(self, INCIDENT, _values(incident), zone)
        self.version.data = incident.version

    def to_domain(self, zone: ZoneInfo, current: Incident | None = None) -> dict[str, Any]:
        stored = _values(current) if current is not None else {}
        return {**read_form(self, INCIDENT, zone, stored), "version": self.version.data}


def _values(incident: Incident) -> dict[str, Any]:
    return {
        **INCIDENT.values_of(incident),
        "vectors": incident.vector_slugs,
        "lead": incident.lead_email,
        "comms_lead": incident.comms_lead_email,
        "release": incident.release_id,
    }


class IncidentFilterForm(Form):
    """The GET filter bar of the incident list: no CSRF, nothing changes."""

    q = StringField("Search", validators=[Optional(), Length(max=200)])
    vector = SelectField("Vector", choices=options([("", "All vectors")]), validate_choice=False)
    severity = SelectField(
        "Severity", choices=options([("", "All")] + [(s, s) for s in SEVERITIES])
    )
    service = SelectField("Service", choices=options([("", "All services")]), validate_choice=False)
    team = SelectField("Team", choices=options([("", "All teams")]), validate_choice=False)
    lead = SelectField("Lead", choices=options([("", "Anyone")]), validate_choice=False)
    status = SelectField(
        "Status",
        choices=options(
            [("", "Any"), ("open", "Open (not recovered)")]
            + [(s, s.capitalize()) for s in STATUSES]
        ),
    )
    since = StringField(
        "Started from", validators=[Optional()], render_kw={"type": "date", "min": "2000-01-01"}
    )
    until = StringField(
        "Started to (inclusive)",
        validators=[Optional()],
        render_kw={"type": "date", "max": "2100-12-31"},
    )
    rca = SelectField(
        "Root cause",
        choices=options(
            [
                ("", "Any"),
                ("flagged", "Flagged: overdue or found late"),
                ("overdue", "Overdue (not found yet)"),
                ("late", "Found late"),
                ("pending", "Pending (inside the window)"),
                ("on_time", "Found in time"),
            ]
        ),
        validate_choice=False,
    )
    breaching = BooleanField("Only breaching", false_values=("", "0", "false"))
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


@with_fields(STAMP, exclude=("milestone",))
class MilestoneForm(VersionedForm):
    """One click stamps a milestone: the buttons carry its name, `at` corrects the time."""


@with_fields(REOPEN)
class ReopenForm(VersionedForm):
    """Reopening needs a reason, kept on the timeline."""


@with_fields(NOTE)
class NoteForm(FlaskForm):
    """A note on the timeline: no version, since a note changes nothing already written."""
