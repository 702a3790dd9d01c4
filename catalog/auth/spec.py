"""The fields of a user, a profile and an API token, declared once (see catalog.fields)."""

from __future__ import annotations

import re

from catalog.fields import Choice, Email, Password, Spec, Text, Zone
from catalog.rules import SHORT_MAX

EMAIL_MAX = 254  # RFC 5321's longest path
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")

EMAIL = Email(
    name="email",
    label="E-mail",
    max_length=EMAIL_MAX,
    required=True,
    pattern=EMAIL_RE,
    pattern_message="Enter an e-mail address like name@example.com.",
)
NAME = Text(name="name", label="Name", max_length=SHORT_MAX)
ROLE = Choice(
    name="role",
    label="Role",
    required=True,
    initial="viewer",
    choices=(("viewer", "Viewer"), ("editor", "Editor"), ("admin", "Admin")),
    help="viewer: reads everything · editor: logs and edits incidents, vectors, post-mortems "
    "· admin: also users, deletes and archiving",
)
TIMEZONE = Zone(
    name="timezone",
    label="Time zone",
    help="Times on every page and in every form are shown in this zone.",
)
PASSWORD = Password(
    name="password",
    label="Password",
    min_length=10,
    max_length=200,
    help="At least 10 characters.",
)

USER = Spec("user", (EMAIL, NAME, ROLE))
"""An invitation (the password is generated, or set by `catalog users create`)."""
PROFILE = Spec("profile", (NAME, TIMEZONE))
"""What a person changes on their own account page."""
TOKEN = Spec(
    "token",
    (
        Text(
            name="name",
            label="Token name",
            max_length=SHORT_MAX,
            help="What uses it, e.g. “alertmanager” or “ci export”.",
        ),
    ),
)

ROLES = ROLE.values
