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
RELEASE_TIMES = tuple(f.name for f in RELEASE if isinstance(f, Timestamp))
"""The moments a JSON body or file gives as text, read before the domain checks them."""

LOAD_SOURCES = ("typed", "k6", "wrk", "locust")
CANARY_MIN_SAMPLES = 20
"""Latencies a side needs before a KS test means anything."""
CANARY_MAX_SAMPLES = 500_000
MS_MAX = 3_600_000.0


def _latency(name: str, label: str, *, required: bool = True) -> Decimal:
    return Decimal(name=name, label=label, minimum=0, maximum=MS_MAX, unit="ms", required=required)


LOAD_TEST = Spec(
    "load_test",
    (
        Text(
            name="tier",
            label="Tier",
            max_length=40,
            required=True,
            placeholder="e.g. 5x",
            help="1x, 5x, 10x… of the base rate (judged against the service's bars), "
            "or a name of your own (shown, not judged).",
        ),
        Decimal(
            name="rps", label="Requests per second", minimum=0, maximum=10_000_000, required=True
        ),
        _latency("p50_ms", "p50 latency"),
        _latency("p95_ms", "p95 latency", required=False),
        _latency("p99_ms", "p99 latency"),
        Decimal(
            name="error_rate",
            label="Error rate",
            minimum=0,
            maximum=100,
            unit="%",
            required=True,
            api_help="Percent of requests that failed, e.g. 0.1.",
        ),
        WholeNumber(
            name="requests",
            label="Requests",
            minimum=1,
            maximum=2_000_000_000,  # an INTEGER column on both databases
            required=True,
            help="How many requests the tier made.",
        ),
    ),
)

DEFAULT_BARS = {"p99_1x_ms": 150, "p99_5x_ms": 300, "error_rate_10x": 0.2}
BARS = Spec(
    "readiness_bars",
    (
        WholeNumber(
            name="p99_1x_ms",
            label="p99 bar at 1×",
            minimum=1,
            maximum=600_000,
            default=DEFAULT_BARS["p99_1x_ms"],
            unit="ms",
            required=True,
        ),
        WholeNumber(
            name="p99_5x_ms",
            label="p99 bar at 5×",
            minimum=1,
            maximum=600_000,
            default=DEFAULT_BARS["p99_5x_ms"],
            unit="ms",
            required=True,
        ),
        Decimal(
            name="error_rate_10x",
            label="Error budget at 10×",
            minimum=0,
            maximum=100,
            default=DEFAULT_BARS["error_rate_10x"],
            unit="%",
            required=True,
            api_help="Percent of requests.",
        ),
    ),
)
