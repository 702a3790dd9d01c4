"""Failure-vector rules: validation, create, update, archive, delete.

Views, API and CLI pass plain dicts of already-typed values; every rule of
SPEC §2 for vectors is checked here and nowhere else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from catalog.db import utcnow
from catalog.errors import (
    ConflictError,
    FieldErrors,
    NotFoundError,
)
from catalog.incidents.models import incident_vectors
from catalog.locking import check_version
from catalog.rules import NAME_KEY_MAX, SHORT_MAX, is_storable, name_key
from catalog.vectors.models import Vector
from catalog.vectors.spec import VECTOR

EDITABLE = VECTOR.names


def slugify(name: str) -> str:
    """A url-safe slug from a name, for forms that leave the slug blank."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:SHORT_MAX].strip("-")


def validate_vector(
    session: Session,
    data: Mapping[str, Any],
    *,
    current: Vector | None = None,
    errors: FieldErrors | None = None,
) -> dict[str, Any]:
    """Check a full set of vector fields; return cleaned values or raise ValidationError
    with every message at once: each field's own (VECTOR), then archiving and uniqueness.
    `errors` may hold what the surface could not read (see validate_incident)."""
    errors = errors if errors is not None else FieldErrors()
    clean = VECTOR.check(errors, data, only=("name",))
    rest = EDITABLE[1:]
    if data.get("slug") in (None, ""):  # a blank slug is made from the name...
        if clean["name"]:
            data = {**data, "slug": slugify(clean["name"])}
        else:  # ...so a refused name is the one thing to fix, not the slug as well
            rest = tuple(name for name in rest if name != "slug")
    clean.update(VECTOR.check(errors, data, only=rest))
    _check_archived(errors, clean, data, current)
    _check_unique(session, errors, clean, current)
    errors.raise_if_any()
    return clean


def _check_unique(
    session: Session, errors: FieldErrors, clean: dict[str, Any], current: Vector | None
) -> None:
    """Slugs are compared as typed (they are lowercase ASCII); names by `name_key`.

    This check gives the friendly message; the unique indexes decide a race.
    """
    others = select(Vector.id)
    if current is not None:
        others = others.where(Vector.id != current.id)
    if clean.get("slug") and session.scalar(others.where(Vector.slug == clean["slug"])):
        errors.add("slug", "A vector with this slug already exists.")
    if clean.get("name"):
        key = name_key(clean["name"])
        if len(key) > NAME_KEY_MAX:  # NFKC can expand one character into up to 18
            errors.add("name", "Name is too long once its characters are normalised.")
        elif session.scalar(others.where(Vector.name_key == key)):
            errors.add("name", "A vector with this name already exists.")


def get_vector(session: Session, slug: str) -> Vector:
    vector = None
    if is_storable(slug):  # a NUL byte in a query makes PostgreSQL fail; no slug holds one
        vector = session.scalar(select(Vector).where(Vector.slug == slug))
    if vector is None:
        raise NotFoundError(f"There is no failure vector called “{slug[:100]}”.")
    return vector


def list_vectors(session: Session, *, include_archived: bool = False) -> list[Vector]:
    query = select(Vector).order_by(Vector.name)
    if not include_archived:
        query = query.where(Vector.archived_at.is_(None))
    return list(session.scalars(query))


def _check_archived(
    errors: FieldErrors, clean: dict[str, Any], data: Mapping[str, Any], current: Vector | None
) -> None:
    """`archived: true/false` in the input becomes archived_at; absent leaves it alone."""
    if "archived" not in data:
        return
    archived = data["archived"]
    if not isinstance(archived, bool):
        errors.add("archived", "Archived must be true or false.")
    elif not archived:
        clean["archived_at"] = None
    else:
        clean["archived_at"] = (current.archived_at if current is not None else None) or utcnow()


def create_vector(
    session: Session, data: Mapping[str, Any], *, errors: FieldErrors | None = None
) -> Vector:
    clean = validate_vector(session, data, errors=errors)
    vector = Vector(**clean)
    session.add(vector)
    session.flush()
    return vector


def update_vector(
    session: Session,
    vector: Vector,
    data: Mapping[str, Any],
    *,
    errors: FieldErrors | None = None,
) -> Vector:
    """Apply a partial change; unknown keys are refused, not ignored."""
    check_version(vector, data.get("version"), noun="vector")
    merged = {field: getattr(vector, field) for field in EDITABLE}
    merged.update({k: v for k, v in data.items() if k in (*EDITABLE, "archived")})
    clean = validate_vector(session, merged, current=vector, errors=errors)
    for field, value in clean.items():
        setattr(vector, field, value)
    vector.updated_at = utcnow()
    session.flush()
    return vector


def set_archived(session: Session, vector: Vector, archived: bool) -> Vector:
    vector.archived_at = utcnow() if archived else None
    session.flush()
    return vector


def incident_count(session: Session, vector: Vector) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(incident_vectors)
            .where(incident_vectors.c.vector_id == vector.id)
        )
        or 0
    )


def delete_vector(session: Session, vector: Vector) -> None:
    """Delete only a vector no incident refers to: history is never dropped silently."""
    linked = session.scalar(select(exists().where(incident_vectors.c.vector_id == vector.id)))
    if linked:
        raise ConflictError(
            "This vector has incidents linked to it and cannot be deleted; archive it instead."
        )
    session.delete(vector)
    session.flush()
