"""A release's fields, declared once (see catalog.fields for what derives from them).

A release is one deployment of one version of a service. Its guardrails are what a
canary is judged against and its outcome says how it ended; the rollback is two
moments (started, finished), so the rollback time is measured, not typed.
"""

from __future__ import annotations

from catalog.fields import (
    MARKDOWN_HELP,
    Choice,
    Decimal,
    Markdown,
    Spec,
    Text,
    Timestamp,
    WholeNumber,
)
from catalog.rules import SHORT_MAX

OUTCOME = Choice(
    name="outcome",
    label="Outcome",
    default="in_progress",
    choices=(
        ("in_progress", "In progress"),
        ("promoted", "Promoted"),
        ("rolled_back", "Rolled back"),
        ("abandoned", "Abandoned"),
    ),
    help="Rolled back needs when the rollback started and when it finished.",
)

RELEASE = Spec(
    "release",
    (
        Text(
            name="service",
            label="Service",
            max_length=SHORT_MAX,
            required=True,
            placeholder="e.g. chat-api",
            help="As incidents name it, so its incidents and change metrics line up.",
        ),
        Text(
            name="tag",
            label="Version",
            max_length=SHORT_MAX,
            required=True,
            placeholder="e.g. v2.4.1 or a commit",
            api_help="The version deployed (a tag, a build or a commit). "
            "Named `tag` because `version` is every object's edit counter.",
        ),
        Text(name="team", label="Team", max_length=SHORT_MAX, placeholder="e.g. assistant"),
        Timestamp(
            name="deployed_at",
            label="Deployed",
            required=True,
            help="When the new version started taking traffic.",
        ),
        WholeNumber(
            name="canary_percent",
            label="Canary share",
            minimum=1,
            maximum=100,
            unit="% of traffic",
            help="The share of traffic the canary took. Empty if it went to all at once.",
        ),
        WholeNumber(
            name="guard_p99_ms",
            label="Guardrail: p99 latency",
            minimum=1,
            maximum=600_000,
            unit="ms",
            help="Roll back when the canary's p99 latency goes above this.",
        ),
        Decimal(
            name="guard_error_rate",
            label="Guardrail: error rate",
            minimum=0,
            maximum=100,
            unit="%",
            help="Roll back when the canary's errors go above this share of requests.",
            api_help="Percent of requests, e.g. 0.2.",
        ),
        WholeNumber(
            name="rollback_window_seconds",
            label="Rollback window",
            minimum=1,
            maximum=86_400,
            unit="seconds",
            help="How fast a rollback must finish, from its start.",
        ),
        OUTCOME,
        Timestamp(
            name="rollback_started_at",
            label="Rollback started",
            help="When the rollback was started.",
            api_help="Only for a rolled-back release; not before `deployed_at`.",
        ),
        Timestamp(
            name="rolled_back_at",
            label="Rolled back",
            help="When the previous version served all traffic again.",
            api_help="Only for a rolled-back release; not before `rollback_started_at`.",
        ),
        Markdown(
            name="notes",
            label="Notes",
            help="What changed, links to the change request. " + MARKDOWN_HELP,
            api_help="Markdown.",
            rows=4,
        ),
    ),
)

OUTCOMES = OUTCOME.values
OUTCOME_LABELS = dict(OUTCOME.choices)
