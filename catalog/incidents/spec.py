"""The incident's fields, declared once (see catalog.fields for what derives from them)."""

from __future__ import annotations

from catalog.fields import Choice, Markdown, Person, Reference, SlugList, Spec, Text, Timestamp
from catalog.rules import SHORT_MAX, TITLE_MAX

TIMESTAMP_FIELDS = ("started_at", "detected_at", "acknowledged_at", "mitigated_at", "recovered_at")

TITLE = Text(
    name="title",
    label="Title",
    max_length=TITLE_MAX,
    required=True,
    placeholder="e.g. Chat answers truncated on long conversations",
)
SEVERITY = Choice(
    name="severity",
    label="Severity",
    required=True,
    initial="SEV3",
    choices=(
        ("SEV1", "SEV1 — critical, broad user impact"),
        ("SEV2", "SEV2 — major, a key feature degraded"),
        ("SEV3", "SEV3 — minor, limited impact"),
        ("SEV4", "SEV4 — no user impact"),
    ),
)
DETECTION_SOURCE = Choice(
    name="detection_source",
    label="Detection source",
    help="How the team found out.",
    default="alert",
    choices=(
        ("alert", "Alert / monitoring"),
        ("customer", "Customer report"),
        ("internal", "Internal report"),
        ("other", "Other"),
    ),
)

INCIDENT = Spec(
    "incident",
    (
        TITLE,
        SEVERITY,
        Text(
            name="service",
            label="Service",
            max_length=SHORT_MAX,
            required=True,
            placeholder="e.g. chat-api",
        ),
        Text(name="team", label="Team", max_length=SHORT_MAX, placeholder="e.g. assistant"),
        DETECTION_SOURCE,
        SlugList(
            name="vectors",
            label="Vectors",
            noun="vector",
            help="Pick every failure vector that applies.",
            api_help="Slugs of known vectors; an archived one only if already linked.",
            required=True,
            min_items=1,
            empty_message="Link at least one failure vector.",
        ),
        Timestamp(
            name="started_at",
            label="Started",
            required=True,
            help="When impact began (best estimate).",
        ),
        Timestamp(
            name="detected_at",
            label="Detected",
            required=True,
            help="When the team knew: alert fired or report received.",
            api_help="Not before `started_at`.",
        ),
        Timestamp(
            name="acknowledged_at",
            label="Acknowledged",
            help="When a responder took it.",
            api_help="Not before `detected_at`.",
        ),
        Timestamp(
            name="mitigated_at",
            label="Mitigated",
            help="User impact contained: rollback, failover, breaker.",
            api_help="Not before `started_at`.",
        ),
        Timestamp(
            name="recovered_at",
            label="Recovered",
            help="Service fully restored. Leave empty while open.",
            api_help="Not before `mitigated_at` nor `detected_at`.",
        ),
        Markdown(
            name="summary",
            label="Summary",
            help="Markdown. What users saw, what was done.",
            api_help="Markdown.",
        ),
        Person(
            name="lead",
            label="Incident lead",
            help="Who runs the response (the commander).",
            api_help="An active account's e-mail, or null.",
        ),
        Person(
            name="comms_lead",
            label="Communications lead",
            help="Who keeps stakeholders informed. Optional.",
            api_help="An active account's e-mail, or null.",
        ),
        Reference(
            name="release",
            label="Caused by release",
            noun="release",
            help="The deployment that caused it, if one did: it counts in change failure rate.",
            api_help="A release's id (see /releases), or null.",
        ),
    ),
)
assert INCIDENT.names[6:11] == TIMESTAMP_FIELDS
PEOPLE = ("lead", "comms_lead")
"""The fields that name accounts (by e-mail; stored by id)."""

SEVERITIES = SEVERITY.values
DETECTION_SOURCES = DETECTION_SOURCE.values
