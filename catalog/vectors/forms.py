"""Vector forms: the fields come from VECTOR; every rule is checked by the domain."""

from __future__ import annotations

from typing import Any

from catalog.fields import read_form, with_fields
from catalog.vectors.spec import VECTOR
from catalog.web.forms import VersionedForm


@with_fields(VECTOR)
class VectorForm(VersionedForm):
    """Every field of VECTOR (a GET fills it from the vector: `VectorForm(obj=vector)`)."""

    def to_domain(self) -> dict[str, Any]:
        return {**read_form(self, VECTOR), "version": self.version.data}
