"""Post-mortem editor: body, root cause, status, and rows of action items."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from wtforms import BooleanField, Field, FieldList, Form, FormField, SubmitField
from wtforms.validators import Optional
from wtforms.widgets import HiddenInput

from catalog.errors import FieldErrors
from catalog.fields import fill_form, read_form, unreadable, with_fields
from catalog.postmortems.models import Postmortem
from catalog.postmortems.spec import ACTION_ITEM, POSTMORTEM
from catalog.web.forms import VersionedForm, WholeNumberField

BLANK_ITEM_ROWS = 3


@with_fields(ACTION_ITEM, exclude=("done_at",))
class ActionItemForm(Form):
    """A row of the editor: ACTION_ITEM's fields, its id, a "done" and a "remove" box."""

    id = WholeNumberField(widget=HiddenInput(), validators=[Optional()])
    done = BooleanField("Done")
    remove = BooleanField("Remove")

    def is_blank(self) -> bool:
        """An untouched spare row: no id and nothing typed in it."""
        typed = (self.title.data, self.owner.data, self.link.data, self.due_on.data)
        return self.id.data is None and not any(
            (v.strip() if isinstance(v, str) else v) for v in typed
        )


@with_fields(POSTMORTEM, exclude=("published_at",))
class PostmortemForm(VersionedForm):
    """POSTMORTEM's fields and rows of action items; every rule is the domain's."""

    action_items = FieldList(FormField(ActionItemForm), label="Action item", min_entries=0)
    preview = SubmitField("Preview")
    save = SubmitField("Save post-mortem")
    publish = SubmitField("Save and publish")

    def load(self, pm: Postmortem, zone: ZoneInfo) -> None:
        fill_form(self, POSTMORTEM, POSTMORTEM.values_of(pm), zone)
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

    def rows_sent(self) -> list[int]:
        """The rows the domain is given, by index: not spare, not ticked "remove". Their
        positions in this list are the positions the domain's messages name."""
        return [
            index
            for index, entry in enumerate(self.action_items)
            if not (entry.form.remove.data or entry.form.is_blank())
        ]

    def nested_field(self, name: str) -> Field | None:
        """The row field behind a domain error such as `action_items.2.link`."""
        parts = name.split(".")
        if len(parts) != 3 or parts[0] != "action_items" or not parts[1].isdigit():
            return None
        sent = self.rows_sent()
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
        for index in self.rows_sent():
            row = self.action_items[index].form
            item_id = row.id.data
            done_at = None
            if row.done.data:
                done_at = done_before.get(item_id) or now
            items.append(
                {
                    **read_form(row, ACTION_ITEM),
                    "id": item_id if item_id in done_before else None,
                    "done_at": done_at,
                }
            )
        stored = POSTMORTEM.values_of(pm) if pm is not None else {}
        typed = read_form(self, POSTMORTEM, zone, stored)
        if self.publish.data:  # one click instead of choosing the status, then saving
            typed["status"] = "published"
        return {
            **typed,
            "published_at": pm.published_at if pm and pm.status == "published" else None,
            "action_items": items,
            "version": self.version.data,
        }

    def with_unreadable_rows(self, errors: FieldErrors) -> FieldErrors:
        """`errors` (what the form's own fields could not read) and what the rows could not,
        named as the domain names them: `action_items.<position among the rows sent>.due_on`."""
        for position, index in enumerate(self.rows_sent()):
            errors.merge(
                unreadable(self.action_items[index].form, ACTION_ITEM).fields,
                lambda field, at=position: f"action_items.{at}.{field}",
            )
        return errors
