"""Optimistic locking, the same for every record a person edits (vectors, incidents, post-mortems).

Each such table has a `version` column that SQLAlchemy moves on every UPDATE
(`version_id_col`); an edit names the version it started from, and an edit of
an older copy is refused with a conflict instead of silently overwriting.
"""

from __future__ import annotations

from typing import Any

from catalog.errors import ValidationError, VersionConflict


def check_version(obj: Any, version: object, *, noun: str) -> None:
    """Optimistic locking: refuse an edit made against an older copy."""
    if version is None:
        raise ValidationError(
            {"version": ["Version is required when changing an existing object."]}
        )
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValidationError({"version": ["Version must be a whole number."]})
    if version != obj.version:
        raise VersionConflict(
            f"This {noun} was changed by someone else (you edited version {version}, "
            f"it is now at version {obj.version}). Reload it and apply your change again."
        )
