"""Release form: the fields come from RELEASE; every rule is checked by the domain."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from catalog.fields import fill_form, read_form, with_fields
from catalog.releases.models import Release
from catalog.releases.spec import RELEASE
from catalog.web.forms import VersionedForm


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
