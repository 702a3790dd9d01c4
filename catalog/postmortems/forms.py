"""Post-mortem editor: body, root cause, status, and rows of action items."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    Field,
    FieldList,
    Form,
    FormField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import Length, Optional
from wtforms.widgets import HiddenInput

from catalog.postmortems.models import Postmortem
from catalog.web.forms import (
    LOCAL_FORMAT,
    VersionedForm,
    WholeNumberField,
    local_to_utc,
    options,
    utc_to_local_naive,
)

BLANK_ITEM_ROWS = 3


class ActionItemForm(Form):
    id = WholeNumberField(widget=HiddenInput(), validators=[Optional()])
    title = StringField("Action", validators=[Optional(), Length(max=200)])
    owner = StringField("Owner", validators=[Optional(), Length(max=100)])
    due_on = DateField("Due", validators=[Optional()])
    done = BooleanField("Done")
    link = StringField("Link", validators=[Optional(), Length(max=2000)])
    remove = BooleanField("Remove")

    def is_blank(self) -> bool:
        """An untouched spare row: no id and nothing typed in it."""
        typed = (self.title.data, self.owner.data, self.link.data, self.due_on.data)
        return self.id.data is None and not any(
            (v.strip() if isinstance(v, str) else v) for v in typed
        )


class PostmortemForm(VersionedForm):
    status = SelectField(
        "Status",
        choices=options(
            [("draft", "Draft"), ("in_review", "In review"), ("published", "Published")]
        ),
        default="draft",
    )
    root_cause_at = DateTimeLocalField(
        "Root cause identified at",
        format=LOCAL_FORMAT,
        validators=[Optional()],
        description="Leave empty until the root cause is known; the 48-hour clock runs from detection.",
    )
    root_cause = TextAreaField(
        "Root cause", description="Markdown. The underlying fault, not the trigger."
    )
    body = TextAreaField("Post-mortem", description="Markdown. Prefilled with the team's template.")
    action_items = FieldList(FormField(ActionItemForm), min_entries=0)
    preview = SubmitField("Preview")
    save = SubmitField("Save post-mortem")

    def load(self, pm: Postmortem, zone: ZoneInfo) -> None:
        self.status.data = pm.status
        self.root_cause_at.data = utc_to_local_naive(pm.root_cause_at, zone)
        self.root_cause.data = pm.root_cause
        self.body.data = pm.body
        self.version.data = pm.version
        for item in pm.action_items:
            self.action_items.append_entry(
                {
                    "id": item.id,
                    "title": item.title,
                    "owner": item.owner,
                    "due_on": item.due_on,
                    "done": item.done_at is not None,
                    "link": item.link or "",
                }
            )

    def nested_field(self, name: str) -> Field | None:
        """The row field behind a domain error such as `action_items.2.link`."""
        parts = name.split(".")
        if len(parts) != 3 or parts[0] != "action_items" or not parts[1].isdigit():
            return None
        sent = getattr(self, "_rows_sent", [])
        position = int(parts[1])
        if position >= len(sent):
            return None
        return getattr(self.action_items[sent[position]].form, parts[2], None)

    def add_blank_rows(self) -> None:
        for _ in range(BLANK_ITEM_ROWS):
            self.action_items.append_entry()

    def to_domain(self, zone: ZoneInfo, pm: Postmortem | None, now: Any) -> dict[str, Any]:
        """Spare rows and rows ticked "remove" are dropped; `done` keeps the first time it was ticked.

        A row with something typed but no title is kept, so the domain rule
        (title required) refuses it on the page instead of losing the input.
        """
        done_before = {i.id: i.done_at for i in pm.action_items} if pm else {}
        items = []
        self._rows_sent: list[int] = []
        for index, entry in enumerate(self.action_items):
            row = entry.form
            if row.remove.data or row.is_blank():
                continue
            self._rows_sent.append(index)
            item_id = row.id.data
            done_at = None
            if row.done.data:
                done_at = done_before.get(item_id) or now
            items.append(
                {
                    "id": item_id if item_id in done_before else None,
                    "title": row.title.data or "",
                    "owner": row.owner.data or "",
                    "due_on": row.due_on.data,
                    "done_at": done_at,
                    "link": (row.link.data or "").strip() or None,
                }
            )
        return {
            "status": self.status.data,
            "root_cause_at": local_to_utc(
                self.root_cause_at.data, zone, pm.root_cause_at if pm else None
            ),
            "root_cause": self.root_cause.data or "",
            "body": self.body.data or "",
            "published_at": pm.published_at if pm and pm.status == "published" else None,
            "action_items": items,
            "version": self.version.data,
        }
