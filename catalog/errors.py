"""Domain errors shared by the web views, the API and the CLI.

Domain functions raise these; each surface translates them once (form errors,
JSON envelope, CLI message), so no surface re-implements a rule.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base class: something the user asked for cannot be done as asked."""

    code = "error"


class ValidationError(DomainError):
    """One or more fields are wrong; `fields` maps each field to its messages."""

    code = "validation_error"

    def __init__(
        self, fields: dict[str, list[str]], message: str = "Some fields are invalid."
    ) -> None:
        super().__init__(message)
        self.fields = fields
        self.message = message

    def field_lines(self) -> list[str]:
        """`field: message message` per field, for surfaces without a form (CLI, text, 400 pages)."""
        return [f"{field}: {' '.join(messages)}" for field, messages in self.fields.items()]


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

    def has(self, field: str) -> bool:
        return field in self.fields

    def __bool__(self) -> bool:
        return bool(self.fields)

    def raise_if_any(self) -> None:
        if self.fields:
            raise ValidationError(self.fields)
