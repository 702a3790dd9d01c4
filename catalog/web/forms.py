"""Form helpers shared by every feature: domain errors onto fields, local times."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from flask_wtf import FlaskForm
from wtforms import Field, FieldList, FormField, IntegerField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import Optional
from wtforms.widgets import HiddenInput

from catalog.rules import parse_whole_number

_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+")  # ASCII digits, as for whole numbers


def options(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms 3.3+ wants select choices."""
    return [SelectChoice(value, label) for value, label in pairs]


class WholeNumberField(IntegerField):
    """An integer typed with the digits 0-9 (WTForms' int() also reads "١٢" and "1_2")."""

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist:
            return
        if not valuelist[0].strip():  # left empty: no number, which the domain judges
            self.data = None
            return
        self.data = parse_whole_number(valuelist[0].strip())
        if self.data is None:
            raise ValueError(
                self.gettext("Not a valid integer value. Write it with the digits 0-9.")
            )


class DecimalTextField(StringField):
    """A number with a fraction, typed with a dot or a comma; the range is the domain's."""

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist:
            return
        text = valuelist[0].strip().replace(",", ".")
        if not text:
            self.data = None
            return
        if len(text) > 20 or not _DECIMAL.fullmatch(text):
            self.data = None
            raise ValueError(self.gettext("Not a number. Write it like 0.2 or 12.5."))
        self.data = float(text)

    def _value(self) -> str:
        if self.raw_data:  # what was typed, shown again as typed (refused or not)
            return str(self.raw_data[0])
        if isinstance(self.data, float):
            return f"{self.data:g}"
        return self.data or ""


class EmptyForm(FlaskForm):
    """CSRF only: for archive, delete and other one-button POSTs."""


class VersionedForm(FlaskForm):
    """Carries the version the user started editing from, for optimistic locking."""

    version = WholeNumberField(widget=HiddenInput(), validators=[Optional()])


@dataclass(frozen=True)
class SummaryLine:
    """One line of a form's error summary: which input, and what is wrong with it."""

    target: str  # the input's id, for the link
    label: str
    message: str


def error_summary(form: FlaskForm) -> list[SummaryLine]:
    """Every message on the form, in the order of its inputs, nested rows included.

    A person who cannot see the whole page (a phone, a screen reader) learns
    from the top of it how many things to fix and jumps to each.
    """
    lines: list[SummaryLine] = []
    for field in form:
        lines.extend(_field_lines(field))
    return lines


def _field_lines(field: Field, row: str = "") -> list[SummaryLine]:
    if isinstance(field.widget, HiddenInput) or field.type == "CSRFTokenField":
        return []
    if isinstance(field, FieldList):
        lines = []
        for number, entry in enumerate(field.entries, start=1):
            lines.extend(_field_lines(entry, f"{field.label.text} {number}"))
        return lines
    if isinstance(field, FormField):
        return [line for sub in field.form for line in _field_lines(sub, row or field.label.text)]
    errors = field.errors if isinstance(field.errors, list | tuple) else []
    label = f"{row} — {field.label.text}" if row else field.label.text
    return [SummaryLine(field.id, label, str(m)) for m in errors if isinstance(m, str)]


def apply_domain_errors(form: FlaskForm, fields: Mapping[str, list[str]]) -> list[str]:
    """Put each domain message on its form field; return those with no field of their own."""
    leftover: list[str] = []
    nested = getattr(form, "nested_field", None)
    for name, messages in fields.items():
        if "." in name:
            field = nested(name) if nested else None
        else:
            field = getattr(form, name, None)
        if isinstance(field, Field) and not isinstance(field.widget, HiddenInput):
            if not isinstance(field.errors, list):
                field.errors = list(field.errors)
            field.errors.extend(m for m in messages if m not in field.errors)
        elif isinstance(field, Field):  # hidden (the version): nothing on the page to mark
            leftover.extend(messages)
        else:
            leftover.extend(f"{name}: {m}" for m in messages)
    return leftover
