"""Domain errors shared by the web views, the API and the CLI.

Domain functions raise these; `catalog.outcomes` commits and says how each is
answered (form errors, JSON envelope and status, CLI or import line), so no
surface re-implements a rule or a translation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping


class DomainError(Exception):
    """Base class: something the user asked for cannot be done as asked.

    `message` says what; `fields` (empty unless a field is to blame) says where.
    """

    code = "error"
    message = "The request cannot be done as asked."
    fields: Mapping[str, list[str]] = {}

    def field_lines(self) -> list[str]:
        """`field: message message` per field, for surfaces without a form (CLI, text, 400 pages)."""
        return [f"{field}: {' '.join(messages)}" for field, messages in self.fields.items()]


SOME_FIELDS_INVALID = "Some fields are invalid."


class ValidationError(DomainError):
    """One or more fields are wrong; `fields` maps each field to its messages."""

    code = "validation_error"

    def __init__(self, fields: dict[str, list[str]], message: str = SOME_FIELDS_INVALID) -> None:
        super().__init__(message)
        self.fields = fields
        self.message = message


class ConflictError(DomainError):
    """The object changed since the caller read it (stale `version`), or a state clash."""

    code = "conflict"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class VersionConflict(ConflictError):
    """The caller edited an older copy: optimistic locking refused the change."""


class NotFoundError(DomainError):
    code = "not_found"

    def __init__(self, message: str = "Not found.") -> None:
        super().__init__(message)
        self.message = message


class FieldErrors:
    """Collects field-level messages while a whole object is checked."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, []).append(message)

    def merge(self, fields: Mapping[str, list[str]], name: Callable[[str], str] = str) -> None:
        """Take in another check's messages (a ValidationError's `fields`), each field
        renamed by `name` to where the caller's input has it (`alerts[2].startsAt`)."""
        for field, messages in fields.items():
            for message in messages:
                self.add(name(field), message)

    def has(self, field: str) -> bool:
        return field in self.fields

    def __bool__(self) -> bool:
        return bool(self.fields)

    def raise_if_any(self) -> None:
        if self.fields:
            raise ValidationError(self.fields)


# Unique indexes a race can hit after the friendly check passed, and the field
# each names. PostgreSQL's message names the index, SQLite's the column.
_UNIQUE_CLASHES = (
    (
        ("uq_vectors_name_key", "vectors.name_key"),
        "name",
        "A vector with this name already exists.",
    ),
    (("uq_vectors_slug", "vectors.slug"), "slug", "A vector with this slug already exists."),
    (("uq_vectors_name", "vectors.name"), "name", "A vector with this name already exists."),
)


def unique_clash_fields(exc: Exception) -> dict[str, list[str]]:
    """The field a database uniqueness error is about, when it is one we know; else {}."""
    text = str(getattr(exc, "orig", exc))
    for needles, field, message in _UNIQUE_CLASHES:
        if any(_names(text, needle) for needle in needles):
            return {field: [message]}
    return {}


def _names(text: str, needle: str) -> bool:
    """`needle` in `text` as a whole name (`vectors.name` is not `vectors.name_key`)."""
    start = text.find(needle)
    while start != -1:
        end = start + len(needle)
        if end == len(text) or not (text[end].isalnum() or text[end] == "_"):
            return True
        start = text.find(needle, end)
    return False
