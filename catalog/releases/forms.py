"""Release form: the fields come from RELEASE; every rule is checked by the domain."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, StringField

from catalog.fields import fill_form, read_form, with_fields
from catalog.releases.models import Release
from catalog.releases.spec import BARS, LOAD_TEST, RELEASE
from catalog.web.forms import VersionedForm, options


@with_fields(RELEASE)
class ReleaseForm(VersionedForm):
    """Every field of RELEASE, times in the user's zone."""

    def load(self, release: Release, zone: ZoneInfo) -> None:
        """Fill a GET form from a stored release."""
        fill_form(self, RELEASE, RELEASE.values_of(release), zone)
        self.version.data = release.version

    def to_domain(self, zone: ZoneInfo, current: Release | None = None) -> dict[str, Any]:
        stored = RELEASE.values_of(current) if current is not None else {}
        return {**read_form(self, RELEASE, zone, stored), "version": self.version.data}


class LoadImportForm(FlaskForm):
    """A result file of k6, wrk or Locust for one tier."""

    tier = StringField(
        "Tier",
        description="1x, 5x, 10x… or a name.",
        render_kw={"maxlength": 40, "placeholder": "e.g. 5x"},
    )
    format = SelectField(
        "Tool",
        choices=options(
            [
                ("k6", "k6 (--summary-export JSON)"),
                ("wrk", "wrk (--latency output)"),
                ("locust", "Locust (*_stats.csv of --csv)"),
            ]
        ),
        validate_choice=False,
    )
    file = FileField("Result file")


@with_fields(LOAD_TEST)
class LoadTypedForm(FlaskForm):
    """A tier's figures typed in, from any tool."""

    def to_domain(self) -> dict[str, Any]:
        return read_form(self, LOAD_TEST)


class CanaryForm(FlaskForm):
    baseline = FileField(
        "Baseline latencies", description="CSV: one latency in ms per line, or a latency_ms column."
    )
    canary = FileField("Canary latencies", description="The same shape, from the canary.")


@with_fields(BARS)
class BarsForm(VersionedForm):
    """A service's readiness bars."""

    def to_domain(self) -> dict[str, Any]:
        return {**read_form(self, BARS), "version": self.version.data}
