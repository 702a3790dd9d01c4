"""The failure-vector table: a named way the system fails, with its targets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, validates

from catalog.db import Base, UTCDateTime, utcnow
from catalog.rules import NAME_KEY_MAX, name_key

CATEGORIES = ("drift", "token_overflow", "throttling", "dependency_latency", "poisoning", "other")
CATEGORY_LABELS = {
    "drift": "Data drift",
    "token_overflow": "Token-limit overflow",
    "throttling": "Hardware throttling",
    "dependency_latency": "Dependency latency",
    "poisoning": "Model poisoning",
    "other": "Other",
}


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
        CheckConstraint(
            "category IN ('drift','token_overflow','throttling','dependency_latency',"
            "'poisoning','other')",
            name="category",
        ),
        CheckConstraint("mttd_target_minutes > 0", name="mttd_target_positive"),
        CheckConstraint("mttr_target_minutes > 0", name="mttr_target_positive"),
        CheckConstraint("severity BETWEEN 1 AND 10", name="severity_range"),
        CheckConstraint("occurrence BETWEEN 1 AND 10", name="occurrence_range"),
        CheckConstraint("detectability BETWEEN 1 AND 10", name="detectability_range"),
        # Names that only look different ("Cache Miss", "cache  miss") share a key:
        # the database refuses the second even when two requests race (migration 0007).
        Index("uq_vectors_name_key", "name_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # Nullable only because SQLite cannot add a NOT NULL column without a table
    # rebuild (which would drop 0004's triggers); every write fills it, below.
    name_key: Mapped[str | None] = mapped_column(String(NAME_KEY_MAX))
    category: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    detection: Mapped[str] = mapped_column(Text, default="")
    mitigation: Mapped[str] = mapped_column(Text, default="")
    mttd_target_minutes: Mapped[int] = mapped_column(Integer, default=5)
    mttr_target_minutes: Mapped[int] = mapped_column(Integer, default=15)
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
