"""Vector forms: field-local checks only; the rules come from vectors.service."""

from __future__ import annotations

from typing import Any

from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from catalog.vectors.models import CATEGORIES, CATEGORY_LABELS
from catalog.web.forms import VersionedForm, WholeNumberField, options

MARKDOWN_HELP = "Markdown: **bold**, lists, links, `code`. HTML is not rendered."


class VectorForm(VersionedForm):
    name = StringField("Name", validators=[InputRequired(), Length(max=200)])
    slug = StringField(
        "Slug",
        validators=[Optional(), Length(max=100)],
        description="Lowercase letters, digits and hyphens; used in URLs and the API. "
        "Left blank, it is made from the name.",
    )
    category = SelectField("Category", choices=options((c, CATEGORY_LABELS[c]) for c in CATEGORIES))
    description = TextAreaField("Description", description=MARKDOWN_HELP)
    detection = TextAreaField(
        "Detection signals", description="The alerts and signals that reveal it. " + MARKDOWN_HELP
    )
    mitigation = TextAreaField(
        "Mitigation playbook", description="Steps a responder follows. " + MARKDOWN_HELP
    )
    mttd_target_minutes = WholeNumberField(
        "MTTD target (minutes)", default=5, validators=[InputRequired(), NumberRange(min=1)]
    )
    mttr_target_minutes = WholeNumberField(
        "MTTR target (minutes)", default=15, validators=[InputRequired(), NumberRange(min=1)]
    )
    severity = WholeNumberField("FMEA severity (1–10)", validators=[Optional(), NumberRange(1, 10)])
    occurrence = WholeNumberField(
        "FMEA occurrence (1–10)", validators=[Optional(), NumberRange(1, 10)]
    )
    detectability = WholeNumberField(
        "FMEA detectability (1–10)",
        validators=[Optional(), NumberRange(1, 10)],
        description="10 = hardest to detect. RPN = severity × occurrence × detectability.",
    )

    def to_domain(self) -> dict[str, Any]:
        return {
            "name": self.name.data,
            "slug": self.slug.data or "",
            "category": self.category.data,
            "description": self.description.data or "",
            "detection": self.detection.data or "",
            "mitigation": self.mitigation.data or "",
            "mttd_target_minutes": self.mttd_target_minutes.data,
            "mttr_target_minutes": self.mttr_target_minutes.data,
            "severity": self.severity.data,
            "occurrence": self.occurrence.data,
            "detectability": self.detectability.data,
            "version": self.version.data,
        }
