"""The failure vector's fields, declared once (see catalog.fields for what derives from them)."""

from __future__ import annotations

import re

from catalog.fields import MARKDOWN_HELP, Choice, Markdown, Spec, Text, WholeNumber
from catalog.rules import SHORT_MAX, TITLE_MAX

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
TARGET_MAX_MINUTES = 60 * 24 * 365

CATEGORY = Choice(
    name="category",
    label="Category",
    default="other",
    choices=(
        ("drift", "Data drift"),
        ("token_overflow", "Token-limit overflow"),
        ("throttling", "Hardware throttling"),
        ("dependency_latency", "Dependency latency"),
        ("poisoning", "Model poisoning"),
        ("other", "Other"),
    ),
)
NAME = Text(
    name="name",
    label="Name",
    max_length=TITLE_MAX,
    required=True,
    api_help="Unique, case-insensitively.",
)
SLUG = Text(
    name="slug",
    label="Slug",
    max_length=SHORT_MAX,
    required=True,
    pattern=SLUG_RE,
    pattern_message="Slug may hold only lowercase letters, digits and single hyphens.",
    derived_from="name",
    help="Lowercase letters, digits and hyphens; used in URLs and the API. "
    "Left blank, it is made from the name.",
    api_help="URL key; derived from `name` when left out.",
    placeholder="e.g. data-drift",
)


def _target(name: str, label: str, default: int) -> WholeNumber:
    return WholeNumber(
        name=name,
        label=label,
        required=True,
        minimum=1,
        maximum=TARGET_MAX_MINUTES,
        default=default,
        unit="minutes",
    )


def _fmea(name: str, help_text: str = "") -> WholeNumber:
    return WholeNumber(
        name=name,
        label=f"FMEA {name}",
        minimum=1,
        maximum=10,
        unit="1–10",
        help=help_text,
        api_help=f"FMEA {name} score 1-10.",
    )


VECTOR = Spec(
    "vector",
    (
        NAME,
        SLUG,
        CATEGORY,
        Markdown(
            name="description",
            label="Description",
            help=MARKDOWN_HELP,
            api_help="Markdown.",
            rows=5,
        ),
        Markdown(
            name="detection",
            label="Detection",
            help="The alerts and signals that reveal it. " + MARKDOWN_HELP,
            api_help="Markdown: how this failure is noticed.",
        ),
        Markdown(
            name="mitigation",
            label="Mitigation",
            help="The playbook: steps a responder follows. " + MARKDOWN_HELP,
            api_help="Markdown: how it is stopped.",
        ),
        _target("mttd_target_minutes", "MTTD target", 5),
        _target("mttr_target_minutes", "MTTR target", 15),
        _fmea("severity"),
        _fmea("occurrence"),
        _fmea(
            "detectability",
            "10 = hardest to detect. RPN = severity × occurrence × detectability.",
        ),
    ),
)

CATEGORIES = CATEGORY.values
CATEGORY_LABELS = dict(CATEGORY.choices)
