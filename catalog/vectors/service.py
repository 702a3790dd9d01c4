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
    ValidationError,
    VersionConflict,
)
from catalog.incidents.models import incident_vectors
from catalog.rules import (
    MARKDOWN_MAX,
    NAME_KEY_MAX,
    SHORT_MAX,
    TITLE_MAX,
    check_text,
    is_storable,
    name_key,
)
from catalog.vectors.models import CATEGORIES, Vector

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
EDITABLE = (
    "slug",
    "name",
    "category",
    "description",
    "detection",
    "mitigation",
    "mttd_target_minutes",
    "mttr_target_minutes",
    "severity",
    "occurrence",
    "detectability",
)
TARGET_MAX_MINUTES = 60 * 24 * 365


def slugify(name: str) -> str:
    """A url-safe slug from a name, for forms that leave the slug blank."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:SHORT_MAX].strip("-")


def _check_int(
    errors: FieldErrors, field: str, value: object, lo: int, hi: int, label: str, required: bool
) -> int | None:
    if value is None or value == "":
        if required:
            errors.add(field, f"{label} is required.")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(field, f"{label} must be a whole number.")
        return None
    if not lo <= value <= hi:
        errors.add(field, f"{label} must be between {lo} and {hi:,}.")
        return None
    return value


def validate_vector(
    session: Session, data: Mapping[str, Any], *, current: Vector | None = None
) -> dict[str, Any]:
    """Check a full set of vector fields; return cleaned values or raise ValidationError."""
    errors = FieldErrors()
    clean: dict[str, Any] = {}
    clean["name"] = check_text(
        errors, "name", data.get("name"), max_length=TITLE_MAX, required=True
    )
    slug = data.get("slug")
    if (slug is None or slug == "") and clean["name"]:
        slug = slugify(clean["name"])
    slug = check_text(errors, "slug", slug, max_length=SHORT_MAX, required=True)
    if slug is not None and not SLUG_RE.match(slug):
        errors.add("slug", "Slug may hold only lowercase letters, digits and single hyphens.")
        slug = None
    clean["slug"] = slug
    category = data.get("category")
    if category is None or category == "":  # absent means the default; false, 0, [] are wrong
        category = "other"
    if category not in CATEGORIES:
        errors.add("category", f"Category must be one of: {', '.join(CATEGORIES)}.")
    clean["category"] = category
    for field in ("description", "detection", "mitigation"):
        clean[field] = check_text(errors, field, data.get(field, ""), max_length=MARKDOWN_MAX) or ""
    clean["mttd_target_minutes"] = _check_int(
        errors,
        "mttd_target_minutes",
        data.get("mttd_target_minutes", 5),
        1,
        TARGET_MAX_MINUTES,
        "MTTD target",
        True,
    )
    clean["mttr_target_minutes"] = _check_int(
        errors,
        "mttr_target_minutes",
        data.get("mttr_target_minutes", 15),
        1,
        TARGET_MAX_MINUTES,
        "MTTR target",
        True,
    )
    for field in ("severity", "occurrence", "detectability"):
        clean[field] = _check_int(errors, field, data.get(field), 1, 10, f"FMEA {field}", False)
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
        raise NotFoundError(f"No failure vector with slug {slug!r}.")
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


def create_vector(session: Session, data: Mapping[str, Any]) -> Vector:
    clean = validate_vector(session, data)
    vector = Vector(**clean)
    session.add(vector)
    session.flush()
    return vector


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


def update_vector(session: Session, vector: Vector, data: Mapping[str, Any]) -> Vector:
    """Apply a partial change; unknown keys are refused, not ignored."""
    check_version(vector, data.get("version"), noun="vector")
    merged = {field: getattr(vector, field) for field in EDITABLE}
    merged.update({k: v for k, v in data.items() if k in (*EDITABLE, "archived")})
    clean = validate_vector(session, merged, current=vector)
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
