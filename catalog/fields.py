"""One declaration per field: its type, limits, choices, label, help text and API name.

An entity's fields are written once, as a `Spec` of the small field kinds
below, and every surface derives from it:

- the domain's per-field checks (`Spec.check`: required, type, length,
  choices, time bounds), which run before the entity's cross-field rules and
  collect every message in one pass;
- the WTForms form (`Spec.form_fields`: labels, help text, choices and the
  browser's `maxlength`), which parses only and leaves every rule to the
  domain, so a form shows the same messages as the API, all at once;
- the JSON bodies the API accepts (`Spec.names`), their OpenAPI schemas
  (`Spec.json_schema`) and those of the answers (`Spec.read_properties`);
- the models' column lengths, defaults and CHECK constraints;
- and the frozen formats (backup version 1, the CSV export), which keep their
  own column lists, are held against it by tests/test_field_specs.py.

The messages are SPEC §2's, with the field's label in them: the label a form
shows next to the input is the one an API error and an import line name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from wtforms import (
    DateField,
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms import Field as FormField
from wtforms.fields import SelectChoice
from wtforms.fields.core import UnboundField
from wtforms.widgets import CheckboxInput, ListWidget

from catalog.db import utcnow
from catalog.errors import FieldErrors
from catalog.rules import (
    MARKDOWN_MAX,
    MAX_ID,
    check_text,
    check_timestamp,
    finite_number,
    parse_whole_number,
)
from catalog.web.forms import (
    DecimalTextField,
    WholeNumberField,
    options,
)
from catalog.when import read_when, show_local

Schema = dict[str, Any]
F = TypeVar("F", bound=type)
UTC_ZONE = ZoneInfo("UTC")
EMAIL_MAX = 254
MARKDOWN_HELP = "Markdown: **bold**, lists, links, `code`. HTML is not rendered."


@dataclass(frozen=True, kw_only=True)
class Field:
    """What every kind of field has. `name` is the attribute, the form field and the JSON key."""

    name: str
    label: str
    help: str = ""
    required: bool = False
    api_help: str = ""
    """What the API reference adds (the form's help speaks to someone at the form)."""
    placeholder: str = ""
    initial: Any = None
    """What a new form shows (a sensible start for a person, unlike an API default)."""
    derived_from: str = ""
    """The field a blank value is made from (a slug from the name): a create may leave it out."""

    def check(self, errors: FieldErrors, value: Any, *, now: datetime) -> Any:
        """The cleaned value, or None with a message in `errors`."""
        raise NotImplementedError

    def schema(self) -> Schema:
        """JSON Schema of the value the API accepts."""
        raise NotImplementedError

    def read_schema(self) -> Schema:
        """JSON Schema of the value the API answers with (as stored: no limits to repeat)."""
        return {"type": "string"}

    def form_field(self) -> UnboundField:
        """The WTForms field: parses what a browser sends; the rules stay in `check`."""
        raise NotImplementedError

    def absent(self) -> Any:
        """What a create that leaves the field out means (a PATCH keeps the stored value)."""
        return None

    def to_form(self, value: Any, zone: ZoneInfo) -> Any:
        """A stored value as its form field shows it."""
        return value

    def from_form(self, data: Any, zone: ZoneInfo, stored: Any) -> Any:
        """What the form field read, as the domain takes it (`stored`: the value before)."""
        return data

    def _describe(self, schema: Schema) -> Schema:
        text = self.api_help or self.help
        return {**schema, "description": text} if text else schema

    def _render_kw(self, **extra: Any) -> dict[str, Any]:
        kw = {"placeholder": self.placeholder} if self.placeholder else {}
        return {**kw, **extra}


@dataclass(frozen=True, kw_only=True)
class Text(Field):
    """One line of text: trimmed, at most `max_length` characters, no invisible characters."""

    max_length: int
    pattern: re.Pattern[str] | None = None
    pattern_message: str = ""

    def check(self, errors: FieldErrors, value: Any, *, now: datetime) -> str | None:
        if value is None and not self.required:
            value = ""
        text = check_text(
            errors,
            self.name,
            value,
            max_length=self.max_length,
            required=self.required,
            label=self.label,
        )
        if text and self.pattern is not None and not self.pattern.match(text):
            errors.add(self.name, self.pattern_message)
            return None
        return text

    def schema(self) -> Schema:
        schema: Schema = {"type": "string", "maxLength": self.max_length}
        if self.required:
            schema["minLength"] = 1
        if self.pattern is not None:
            schema["pattern"] = self.pattern.pattern
        return self._describe(schema)

    def form_field(self) -> UnboundField:
        return StringField(
            self.label,
            description=self.help,
            render_kw=self._render_kw(maxlength=self.max_length),
        )


@dataclass(frozen=True, kw_only=True)
class Markdown(Field):
    """Prose in Markdown, kept as typed (not trimmed), rendered through the sanitiser."""

    max_length: int = MARKDOWN_MAX
    rows: int = 6

    def check(self, errors: FieldErrors, value: Any, *, now: datetime) -> str | None:
        value = "" if value is None else value
        if self.required and isinstance(value, str) and not value.strip():
            errors.add(self.name, f"{self.label} is required.")
            return None
        return check_text(
            errors, self.name, value, max_length=self.max_length, label=self.label, prose=True
        )

    def schema(self) -> Schema:
        return self._describe({"type": "string", "maxLength": self.max_length})

    def from_form(self, data: Any, zone: ZoneInfo, stored: Any) -> Any:
        return data or ""

    def form_field(self) -> UnboundField:
        return TextAreaField(
            self.label, description=self.help, render_kw=self._render_kw(rows=self.rows)
        )


@dataclass(frozen=True, kw_only=True)
class Choice(Field):
    """One of a fixed list; absent (None or "") means `default` when there is one."""

    choices: tuple[tuple[str, str], ...]
    """(value, label) pairs: the value is stored and sent, the label shown."""
    default: str | None = None

    def absent(self) -> Any:
        return self.default

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(value for value, _ in self.choices)

    def check(self, errors: FieldErrors, value: Any, *, now: datetime) -> str | None:
        if (value is None or value == "") and self.default is not None:
            return self.default  # absent means the default; false, 0, [] are wrong
        if isinstance(value, str) and value in self.values:
            return value
        # Missing or wrong, the useful answer is the same: the list to pick from.
        errors.add(self.name, f"{self.label} must be one of: {', '.join(self.values)}.")
        return None

    def read_schema(self) -> Schema:
        return {"type": "string", "enum": list(self.values)}

    def schema(self) -> Schema:
        schema = self.read_schema()
        if self.default is not None:
            schema["default"] = self.default
        return self._describe(schema)

    def form_field(self) -> UnboundField:
        # validate_choice=False: a value not on the list gets the domain's message.
        return SelectField(
            self.label,
            choices=options(self.choices),
            default=self.initial if self.initial is not None else self.default,
            description=self.help,
            validate_choice=False,
        )


@dataclass(frozen=True, kw_only=True)
class Url(Text):
    """A web link: http or https, one line; empty means none (None)."""

    def check(self, errors: FieldErrors, value: Any, *, now: datetime) -> str | None:
        return super().check(errors, value, now=now) or None

    def schema(self) -> Schema:
        schema = super().schema()
        schema["type"] = ["string", "null"]
        return schema

    def read_schema(self) -> Schema:
        return {"type": ["string", "null"]}


@dataclass(frozen=True, kw_only=True)
class Email(Text):
    """An e-mail address, kept in lower case (the sign-in compares it so)."""

    def check(self, errors: FieldErrors, value: Any, *, now: datetime) -> str | None:
        text = super().check(errors, value, now=now)
        return text.lower() if text else text

    def schema(self) -> Schema:
        return {**super().schema(), "format": "email"}

    def form_field(self) -> UnboundField:
        return EmailField(
            self.label,
            description=self.help,
            render_kw=self._render_kw(maxlength=self.max_length, autocomplete="email"),
        )


@dataclass(frozen=True, kw_only=True)
class Person(Field):
    """An account, named by its e-mail (the API, backups) and chosen from a list (forms).
    Which accounts may be named is the domain's question (active ones, or the one
    already named)."""

    def check(self, errors: FieldErrors, value: Any, *, now: datetime) -> str | None:
        if value is None or value == "":
            if self.required:
                errors.add(self.name, f"{self.label} is required.")
            return None
        if not isinstance(value, str):
            errors.add(self.name, f"{self.label} must be an account's e-mail, or null.")
            return None
        email = check_text(errors, self.name, value.strip(), max_length=EMAIL_MAX, label=self.label)
        return email.lower() if email else None

    def schema(self) -> Schema:
        return self._describe(
            {"type": ["string", "null"], "format": "email", "maxLength": EMAIL_MAX}
        )

    def read_schema(self) -> Schema:
        return {"type": ["string", "null"], "description": "The account's e-mail."}

    def to_form(self, value: Any, zone: ZoneInfo) -> Any:
        return getattr(value, "email", value) or ""

    def from_form(self, data: Any, zone: ZoneInfo, stored: Any) -> Any:
        return data or None

    def form_field(self) -> UnboundField:
        # Choices are the active accounts, set by the view; an unknown e-mail is the
        # domain's to refuse, with the others, in one pass.
        return SelectField(self.label, description=self.help, validate_choice=False)


@dataclass(frozen=True, kw_only=True)
class Password(Field):
    """A password: checked for length and NUL only, never trimmed or shown again."""

    min_length: int
    max_length: int

    def check(self, errors: FieldErrors, value: Any, *, now: datetime) -> str | None:
        if not isinstance(value, str) or not value:
            errors.add(self.name, f"{self.label} is required.")
        elif len(value) < self.min_length:
            errors.add(self.name, f"{self.label} must be at least {self.min_length} characters.")
        elif len(value) > self.max_length:
            errors.add(self.name, f"{self.label} must be at most {self.max_length} characters.")
        elif "\x00" in value:
            errors.add(self.name, f"{self.label} cannot contain a NUL character.")
        else:
            return value
        return None

    def schema(self) -> Schema:
        return self._describe(
            {"type": "string", "minLength": self.min_length, "maxLength": self.max_length}
        )

    def form_field(self) -> UnboundField:
        return PasswordField(
            self.label,
            description=self.help,
            render_kw=self._render_kw(maxlength=self.max_length, autocomplete="new-password"),
        )


@dataclass(frozen=True, kw_only=True)
class Zone(Field):
    """An IANA time zone (`Europe/Berlin`); empty means the team's default (None)."""

    def check(self, errors: FieldErrors, value: Any, *, now: datetime) -> str | None:
        if value is None or value == "":
            return None
        if not isinstance(value, str) or len(value) > 64:
            errors.add(self.name, "Pick a time zone from the list.")
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            errors.add(self.name, f"{value!r} is not a known time zone.")
            return None
        return value

    def schema(self) -> Schema:
        return self._describe({"type": ["string", "null"], "maxLength": 64})

    def form_field(self) -> UnboundField:
        # The list is read when a form is made (validate_choice=False: the domain judges).
        return SelectField(
            self.label, choices=zone_choices, description=self.help, validate_choice=False
        )


def zone_choices() -> list[SelectChoice]:
    """Every IANA region zone, the team's default first."""
    zones = sorted(
        z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))
    )
    return options(
        [("", "Team default"), ("UTC", "UTC"), *((z, z.replace("_", " ")) for z in zones)]
    )


@dataclass(frozen=True, kw_only=True)
class Day(Field):
    """A calendar date (a due date), from `earliest` to `latest`."""

    earliest: date
    latest: date

    def check(self, errors: FieldErrors, value: Any, *, now: datetime) -> date | None:
        if value is None:
            if self.required:
                errors.add(self.name, f"{self.label} is required.")
            return None
        if not isinstance(value, date) or isinstance(value, datetime):
            errors.add(self.name, f"{self.label} must be a date.")
            return None
        if not self.earliest <= value <= self.latest:
            errors.add(
                self.name, f"{self.label} must be between {self.earliest} and {self.latest}."
            )
            return None
        return value

    def schema(self) -> Schema:
        return self._describe(self.read_schema())

    def read_schema(self) -> Schema:
        return {"type": "string" if self.required else ["string", "null"], "format": "date"}

    def form_field(self) -> UnboundField:
        return _DayField(self.label, description=self.help)


@dataclass(frozen=True, kw_only=True)
class WholeNumber(Field):
    """An integer from `minimum` to `maximum`; a form takes the digits 0-9 only."""

    minimum: int
    maximum: int
    default: int | None = None
    unit: str = ""
    """Shown after the label on a form ("MTTD target (minutes)"), not in messages."""

    def absent(self) -> Any:
        return self.default

    def check(self, errors: FieldErrors, value: Any, *, now: datetime) -> int | None:
        if value is None or value == "":
            if self.required:
                errors.add(self.name, f"{self.label} is required.")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            errors.add(self.name, f"{self.label} must be a whole number.")
            return None
        if not self.minimum <= value <= self.maximum:
            errors.add(
                self.name, f"{self.label} must be between {self.minimum} and {self.maximum:,}."
            )
            return None
        return value

    def schema(self) -> Schema:
        schema = {**self.read_schema(), "minimum": self.minimum, "maximum": self.maximum}
        if self.default is not None:
            schema["default"] = self.default
        return self._describe(schema)

    def read_schema(self) -> Schema:
        return {"type": "integer" if self.required else ["integer", "null"]}

    def form_field(self) -> UnboundField:
        return WholeNumberField(
            f"{self.label} ({self.unit})" if self.unit else self.label,
            default=self.default,
            description=self.help,
            render_kw=self._render_kw(min=self.minimum, max=self.maximum),
        )


@dataclass(frozen=True, kw_only=True)
class Decimal(Field):
    """A number with a fraction (a percentage: 0.2), from `minimum` to `maximum`.

    JSON gives a number; a form gives text, read with a dot or a comma as the
    decimal mark (what people type in either locale). NaN and infinities are refused.
    """

    minimum: float
    maximum: float
    default: float | None = None
    unit: str = ""

    def absent(self) -> Any:
        return self.default

    def check(self, errors: FieldErrors, value: Any, *, now: datetime) -> float | None:
        if value is None or value == "":
            if self.required:
                errors.add(self.name, f"{self.label} is required.")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            errors.add(self.name, f"{self.label} must be a number.")
            return None
        if not finite_number(value) or not self.minimum <= value <= self.maximum:
            errors.add(
                self.name, f"{self.label} must be between {self.minimum:g} and {self.maximum:g}."
            )
            return None
        return float(value)

    def schema(self) -> Schema:
        schema = {**self.read_schema(), "minimum": self.minimum, "maximum": self.maximum}
        if self.default is not None:
            schema["default"] = self.default
        return self._describe(schema)

    def read_schema(self) -> Schema:
        return {"type": "number" if self.required else ["number", "null"]}

    def to_form(self, value: Any, zone: ZoneInfo) -> Any:
        return "" if value is None else f"{value:g}"

    def form_field(self) -> UnboundField:
        return DecimalTextField(
            f"{self.label} ({self.unit})" if self.unit else self.label,
            default=self.default,
            description=self.help,
            render_kw=self._render_kw(inputmode="decimal", maxlength=20),
        )


@dataclass(frozen=True, kw_only=True)
class Reference(Field):
    """Another record, named by its id (the API) and chosen from a list (forms).
    Which records may be named is the domain's question; `noun` is in the messages."""

    noun: str

    def check(self, errors: FieldErrors, value: Any, *, now: datetime) -> int | None:
        if value is None or value == "":
            if self.required:
                errors.add(self.name, f"{self.label} is required.")
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
            errors.add(self.name, f"{self.label} must be a {self.noun}'s id, or null.")
            return None
        return value

    def schema(self) -> Schema:
        return self._describe({"type": ["integer", "null"], "minimum": 1, "maximum": MAX_ID})

    def read_schema(self) -> Schema:
        return {"type": ["integer", "null"], "description": f"The {self.noun}'s id."}

    def to_form(self, value: Any, zone: ZoneInfo) -> Any:
        return "" if value is None else str(getattr(value, "id", value))

    def from_form(self, data: Any, zone: ZoneInfo, stored: Any) -> Any:
        if not data:
            return None
        number = parse_whole_number(str(data))
        return number if number is not None else str(data)  # the domain names a bad one

    def form_field(self) -> UnboundField:
        # Choices are set by the view; an unknown id is the domain's to refuse.
        return SelectField(self.label, description=self.help, validate_choice=False)


@dataclass(frozen=True, kw_only=True)
class Timestamp(Field):
    """An aware moment, not before 2000 nor more than 5 minutes ahead; typed in the user's zone."""

    def check(self, errors: FieldErrors, value: Any, *, now: datetime) -> datetime | None:
        if value is not None and not isinstance(value, datetime):
            errors.add(self.name, f"{self.label} must be a date and time.")
            return None
        if value is None:
            if self.required:
                errors.add(self.name, f"{self.label} is required.")
            return None
        check_timestamp(errors, self.name, value, now=now, label=self.label)
        return None if errors.has(self.name) else value

    def schema(self) -> Schema:
        schema: Schema = {
            "type": "string" if self.required else ["string", "null"],
            "format": "date-time",
            "maxLength": 64,
        }
        text = (
            "ISO 8601 with a UTC offset or `Z`; naive times are refused. "
            "Not before 2000-01-01, not more than 5 minutes in the future."
        )
        extra = self.api_help
        return {**schema, "description": f"{text} {extra}" if extra else text}

    def to_form(self, value: Any, zone: ZoneInfo) -> Any:
        return show_local(value, zone)

    def from_form(self, data: Any, zone: ZoneInfo, stored: Any) -> Any:
        """The typed text read in the user's zone; an unchanged time keeps the stored one
        (with its seconds, which the input does not show)."""
        if data is None:
            return None
        if stored is not None and data == show_local(stored, zone):
            return stored
        return read_when(data, now=utcnow(), zone=zone, label=self.label, empty_is_now=False)

    def read_schema(self) -> Schema:
        return {
            "type": "string" if self.required else ["string", "null"],
            "format": "date-time",
            "description": "ISO 8601 in UTC with `Z`, e.g. `2026-03-01T12:00:00Z`.",
        }

    def form_field(self) -> UnboundField:
        return _WhenField(
            self.label,
            description=self.help,
            render_kw={
                "data-when": "",
                "autocomplete": "off",
                "spellcheck": "false",
                "placeholder": "e.g. 14:05 or -12m" if not self.placeholder else self.placeholder,
                "maxlength": 40,
            },
        )


class _WhenField(StringField):
    """A time typed as a person says it (catalog.when): `-12m`, `14:05`, `2026-11-30 14:05`.

    Reading needs the user's zone, which `Timestamp.from_form` has; here the text is only
    checked to be a time at all, so an unreadable one is named with every other problem.
    """

    def process_formdata(self, valuelist: list[str]) -> None:
        text = (valuelist[0] if valuelist else "").strip()
        self.data = text or None
        if text:
            label = self.label.text if self.label else "Time"
            read_when(text, now=utcnow(), zone=UTC_ZONE, label=label, empty_is_now=False)

    def _value(self) -> str:
        return self.data or ""


class _EmptyIsNone(FormField):
    """An input left empty holds no value (None), which the domain judges (required or
    not); WTForms would call it unreadable."""

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist or not "".join(valuelist).strip():
            self.data = None
            return
        super().process_formdata(valuelist)


class _DayField(_EmptyIsNone, DateField):
    """A date input."""


class _Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


@dataclass(frozen=True, kw_only=True)
class SlugList(Field):
    """Keys of other records (an incident's vectors); which exist is the domain's question."""

    noun: str
    """What each key names, for the message ("a list of vector slugs")."""
    min_items: int = 0
    empty_message: str = ""

    def check(self, errors: FieldErrors, value: Any, *, now: datetime) -> list[str] | None:
        if not isinstance(value, list | tuple) or not all(isinstance(s, str) for s in value):
            errors.add(self.name, f"{self.label} must be a list of {self.noun} slugs.")
            return None
        wanted = list(dict.fromkeys(value))
        if len(wanted) < self.min_items:
            errors.add(self.name, self.empty_message or f"{self.label} is required.")
            return None
        return wanted

    def schema(self) -> Schema:
        schema: Schema = {"type": "array", "items": {"type": "string"}}
        if self.min_items:
            schema["minItems"] = self.min_items
        return self._describe(schema)

    def from_form(self, data: Any, zone: ZoneInfo, stored: Any) -> Any:
        return list(data or [])

    def read_schema(self) -> Schema:
        return {
            "type": "array",
            "items": {"type": "string"},
            "description": f"{self.noun.capitalize()} slugs.",
        }

    def form_field(self) -> UnboundField:
        return _Checkboxes(self.label, description=self.help, validate_choice=False)


@dataclass(frozen=True)
class Spec:
    """An entity's fields, in the order a form shows them."""

    entity: str
    fields: tuple[Field, ...]
    _by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {f.name: f for f in self.fields})

    def __getitem__(self, name: str) -> Field:
        return self._by_name[name]

    def __iter__(self) -> Iterator[Field]:
        return iter(self.fields)

    @property
    def names(self) -> tuple[str, ...]:
        """The fields a create or a change may send (the API refuses any other)."""
        return tuple(f.name for f in self.fields)

    @property
    def required(self) -> tuple[str, ...]:
        """The fields a create must send: required, with no default and not derived."""
        return tuple(
            f.name for f in self.fields if f.required and f.absent() is None and not f.derived_from
        )

    def check(
        self,
        errors: FieldErrors,
        data: Mapping[str, Any],
        *,
        now: datetime | None = None,
        only: Iterable[str] | None = None,
        unread: Collection[str] = (),
    ) -> dict[str, Any]:
        """Every field's own checks in one pass. A field whose input could not be read (a
        form's unparseable time) already has its message, in `errors` or, for a nested
        row, where `unread` says; it is left as it is and reads as None."""
        now = now or utcnow()
        names = set(only) if only is not None else None
        clean: dict[str, Any] = {}
        for f in self.fields:
            if names is not None and f.name not in names:
                continue
            if errors.has(f.name) or f.name in unread:
                clean[f.name] = None
                continue
            value = data[f.name] if f.name in data else f.absent()
            clean[f.name] = f.check(errors, value, now=now)
        return clean

    def json_schema(self, *, required: Sequence[str] = ()) -> Schema:
        """The object the API accepts: these fields, no others."""
        schema: Schema = {
            "type": "object",
            "properties": {f.name: f.schema() for f in self.fields},
            "additionalProperties": False,
        }
        if required:
            schema["required"] = list(required)
        return schema

    def read_properties(self) -> dict[str, Schema]:
        """The fields as the API answers with them (the derived ones are the serializer's)."""
        return {f.name: f.read_schema() for f in self.fields}

    def form_fields(self, exclude: Iterable[str] = ()) -> dict[str, UnboundField]:
        """The WTForms fields, to set on a form class (see `with_fields`)."""
        skip = set(exclude)
        return {f.name: f.form_field() for f in self.fields if f.name not in skip}

    def values_of(self, record: object) -> dict[str, Any]:
        """A stored record's values of these fields."""
        return {f.name: getattr(record, f.name) for f in self.fields}

    def max_length(self, name: str) -> int:
        """A text field's limit, for the column that stores it."""
        f = self[name]
        if not isinstance(f, Text | Markdown):  # Url is a Text
            raise TypeError(f"{self.entity}.{name} is not a text field")
        return f.max_length

    def labels(self) -> dict[str, str]:
        return {f.name: f.label for f in self.fields}


def with_fields(spec: Spec, exclude: Iterable[str] = ()) -> Callable[[F], F]:
    """Class decorator: put `spec`'s form fields on a form class (after its own)."""

    def decorate(cls: F) -> F:
        for name, unbound in spec.form_fields(exclude).items():
            setattr(cls, name, unbound)  # WTForms' FormMeta picks them up
        return cls

    return decorate


def _on_form(form: Any, spec: Spec) -> Iterator[tuple[Field, FormField]]:
    """Each declared field the form shows, with its bound form field."""
    for f in spec:
        bound = getattr(form, f.name, None)
        if isinstance(bound, FormField):
            yield f, bound


def fill_form(form: Any, spec: Spec, values: Mapping[str, Any], zone: ZoneInfo = UTC_ZONE) -> None:
    """Show stored values in a form (a GET of an edit page)."""
    for f, bound in _on_form(form, spec):
        bound.data = f.to_form(values.get(f.name), zone)


def read_form(
    form: Any, spec: Spec, zone: ZoneInfo = UTC_ZONE, stored: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """What a posted form holds, as the domain takes it; unreadable fields read as None."""
    stored = stored or {}
    values = {}
    for f, bound in _on_form(form, spec):
        value = f.from_form(None if bound.process_errors else bound.data, zone, stored.get(f.name))
        if isinstance(f, Timestamp) and value is not None:
            # Shown again as the moment it was read as: "-7m" in a refused form would
            # otherwise mean another moment when the form is sent again.
            bound.data = show_local(value, zone)
        values[f.name] = value
    return values


def unreadable(form: Any, spec: Spec) -> FieldErrors:
    """The fields whose input could not be read (a malformed time), with WTForms' message.

    The domain then leaves those fields alone and checks everything else, so the
    page shows every problem at once.
    """
    errors = FieldErrors()
    for f, bound in _on_form(form, spec):
        for message in bound.process_errors:
            errors.add(f.name, message)
    return errors
