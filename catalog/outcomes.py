"""One place that commits a domain action and says how each refusal is answered.

Every surface (HTML views, the API, the CLI, the importers) runs its writes
through `commit`, so a refusal always arrives as a `DomainError`, whether the
domain raised it or the database did (a stale version, a unique clash two
requests raced past the friendly check). Each surface then only chooses the
shape: a form error or flash, a JSON envelope with `status_of`, a CLI line or an
import refusal with `one_line`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from catalog.errors import (
    SOME_FIELDS_INVALID,
    ConflictError,
    DomainError,
    NotFoundError,
    ValidationError,
    VersionConflict,
    unique_clash_fields,
)

T = TypeVar("T")
log = logging.getLogger(__name__)

STALE = "This object was changed by someone else meanwhile; reload it and try again."
CLASH = "The change clashes with data saved meanwhile (a duplicate?); reload and try again."

# The HTTP status of each kind of refusal; the most specific class listed first wins.
_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (ValidationError, 422),
    (ConflictError, 409),
    (NotFoundError, 404),
)


class Clash(ConflictError):
    """The database refused a write another request got in first; `fields` names
    the field when the clash is on a unique name we know (a 409 that says which)."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__(CLASH)
        self.fields = fields


def as_domain_error(exc: Exception) -> DomainError | None:
    """The refusal an exception means to a user, or None when it is not a refusal."""
    if isinstance(exc, DomainError):
        return exc
    if isinstance(exc, StaleDataError):
        return VersionConflict(STALE)
    if isinstance(exc, IntegrityError):
        # A race past the friendly check, or a rule only the database knew: worth a line
        # in the log either way, since the user only hears "clashes with data saved".
        log.warning("Integrity error answered as a clash: %s", exc.orig)
        return Clash(unique_clash_fields(exc))
    return None


def commit(session: Session, action: Callable[[], T]) -> T:
    """Run `action` and commit; on any refusal roll back and raise it as a DomainError."""
    try:
        result = action()
        session.commit()
        return result
    except (DomainError, StaleDataError, IntegrityError) as exc:
        session.rollback()
        refusal = as_domain_error(exc)
        if refusal is exc:
            raise
        raise refusal from exc  # type: ignore[misc]


def status_of(refusal: DomainError) -> int:
    for kind, status in _STATUS:
        if isinstance(refusal, kind):
            return status
    return 400


def one_line(refusal: DomainError) -> str:
    """The refusal as one line for the CLI, a flash message or a text page.

    A validation error lists `field: message` pairs (an import names the line in
    its field: `line 7: detected_at: …`); anything else is its message.
    """
    lines = "; ".join(refusal.field_lines())
    if not lines:
        return refusal.message
    return lines if refusal.message == SOME_FIELDS_INVALID else f"{refusal.message} {lines}"
