"""The post-mortem's and the action item's fields, declared once (see catalog.fields)."""

from __future__ import annotations

import re
from datetime import date

from catalog.fields import Choice, Day, Markdown, Spec, Text, Timestamp, Url
from catalog.rules import SHORT_MAX, TITLE_MAX, URL_MAX

# Written without inline flags so that the OpenAPI document can carry it as it is.
LINK_RE = re.compile(r"^[hH][tT][tT][pP][sS]?://\S+$")

STATUS = Choice(
    name="status",
    label="Status",
    default="draft",
    choices=(("draft", "Draft"), ("in_review", "In review"), ("published", "Published")),
)

POSTMORTEM = Spec(
    "post-mortem",
    (
        STATUS,
        Timestamp(
            name="root_cause_at",
            label="Root cause identified",
            help="Leave empty until the root cause is known; "
            "the 48-hour clock runs from detection.",
            api_help="Not before the incident was detected; null until it is known.",
        ),
        Markdown(
            name="root_cause",
            label="Root cause",
            help="Markdown. The underlying fault, not the trigger.",
            api_help="Markdown.",
            rows=4,
        ),
        Markdown(
            name="body",
            label="Body",
            help="Markdown. A new one is drafted from the incident's record. Add what only "
            "the team knows, e.g. ## Contributing factors, ## What went well, "
            "## What went wrong.",
            api_help="Markdown.",
            rows=24,
        ),
        Timestamp(
            name="published_at",
            label="Published",
            api_help="Set to now when publishing without one; cleared unless published.",
        ),
    ),
)
FORM_FIELDS = ("status", "root_cause_at", "root_cause", "body")
"""What the editor shows; `published_at` follows the status."""

ACTION_ITEM = Spec(
    "action item",
    (
        Text(name="title", label="Title", max_length=TITLE_MAX, required=True),
        Text(name="owner", label="Owner", max_length=SHORT_MAX),
        Day(
            name="due_on",
            label="Due date",
            earliest=date(2000, 1, 1),
            latest=date(2100, 12, 31),
            api_help="YYYY-MM-DD, between 2000-01-01 and 2100-12-31.",
        ),
        Timestamp(name="done_at", label="Done"),
        Url(
            name="link",
            label="Link",
            max_length=URL_MAX,
            pattern=LINK_RE,
            pattern_message="Link must be an http:// or https:// URL.",
            placeholder="https://…",
        ),
    ),
)
ITEM_FORM_FIELDS = ("title", "owner", "due_on", "link")
"""What a row of the editor shows; `done_at` is a tick box there."""

PM_STATUSES = STATUS.values
