"""The failure-vector table: a named way the system fails, with its targets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, validates

from catalog.db import Base, UTCDateTime, one_of, utcnow
from catalog.fields import WholeNumber
from catalog.rules import NAME_KEY_MAX, name_key
from catalog.vectors.spec import CATEGORIES, CATEGORY_LABELS, VECTOR

__all__ = ["CATEGORIES", "CATEGORY_LABELS", "TargetsInSeconds", "Vector"]


def _number(name: str) -> WholeNumber:
    number = VECTOR[name]
    assert isinstance(number, WholeNumber)
    return number


def _score_range(name: str) -> CheckConstraint:
    score = _number(name)
    return CheckConstraint(
        f"{name} BETWEEN {score.minimum} AND {score.maximum}", name=f"{name}_range"
    )


def _positive_target(name: str) -> CheckConstraint:
    """The database keeps the lower bound (as migration 0001 wrote it); the forms and the API
    keep the upper one too."""
    return CheckConstraint(
        f"{name} > {_number(name).minimum - 1}", name=f"{name.removesuffix('_minutes')}_positive"
    )


class TargetsInSeconds:
    """Targets are typed in minutes and measured in seconds: the one conversion, for the
    vector and for the lighter copy of it an incident list carries."""

    __slots__ = ()
    mttd_target_minutes: Any
    mttr_target_minutes: Any

    @property
    def mttd_target_seconds(self) -> int:
        return int(self.mttd_target_minutes) * 60

    @property
    def mttr_target_seconds(self) -> int:
        return int(self.mttr_target_minutes) * 60


class Vector(TargetsInSeconds, Base):
    __tablename__ = "vectors"
    __table_args__ = (
        CheckConstraint(one_of("category", CATEGORIES), name="category"),
        _positive_target("mttd_target_minutes"),
        _positive_target("mttr_target_minutes"),
        _score_range("severity"),
        _score_range("occurrence"),
        _score_range("detectability"),
        # Names that only look different ("Cache Miss", "cache  miss") share a key:
        # the database refuses the second even when two requests race (migration 0007).
        Index("uq_vectors_name_key", "name_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(VECTOR.max_length("slug")), unique=True)
    name: Mapped[str] = mapped_column(String(VECTOR.max_length("name")), unique=True)
    # Nullable only because SQLite cannot add a NOT NULL column without a table
    # rebuild (which would drop 0004's triggers); every write fills it, below.
    name_key: Mapped[str | None] = mapped_column(String(NAME_KEY_MAX))
    category: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    detection: Mapped[str] = mapped_column(Text, default="")
    mitigation: Mapped[str] = mapped_column(Text, default="")
    mttd_target_minutes: Mapped[int] = mapped_column(
        Integer, default=_number("mttd_target_minutes").default
    )
    mttr_target_minutes: Mapped[int] = mapped_column(
        Integer, default=_number("mttr_target_minutes").default
    )
    severity: Mapped[int | None] = mapped_column(Integer)
    occurrence: Mapped[int | None] = mapped_column(Integer)
    detectability: Mapped[int | None] = mapped_column(Integer)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    @validates("name")
    def _keep_name_key(self, _key: str, value: str) -> str:
        """Every path that sets a name (service, restore, a test factory) sets its key too."""
        self.name_key = name_key(value) if isinstance(value, str) else None
        return value

    @property
    def rpn(self) -> int | None:
        """FMEA risk priority number; only meaningful when all three scores are set."""
        if None in (self.severity, self.occurrence, self.detectability):
            return None
        return self.severity * self.occurrence * self.detectability  # type: ignore[operator]

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS.get(self.category, self.category)
