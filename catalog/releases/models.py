"""The release table: one deployment of one version of a service, and how it ended."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from catalog.db import Base, UTCDateTime, one_of, utcnow
from catalog.incidents.models import new_uid
from catalog.releases.spec import OUTCOME_LABELS, OUTCOMES, RELEASE

__all__ = ["OUTCOMES", "Release"]


class Release(Base):
    __tablename__ = "releases"
    __table_args__ = (
        CheckConstraint(one_of("outcome", OUTCOMES), name="release_outcome"),
        CheckConstraint("canary_percent BETWEEN 1 AND 100", name="release_canary_percent"),
        CheckConstraint(
            "(outcome = 'rolled_back') = (rolled_back_at IS NOT NULL)",
            name="release_rolled_back_at",
        ),
        Index("uq_releases_uid", "uid", unique=True),
        # A service's releases newest first (its page, the Alertmanager `release` label,
        # change metrics per service) and every release in a period (change metrics).
        Index("ix_releases_service_deployed", "service", "deployed_at"),
        Index("ix_releases_deployed_at", "deployed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The release's identity across installations (backups), as an incident's uid.
    uid: Mapped[str] = mapped_column(String(40), default=new_uid)
    service: Mapped[str] = mapped_column(String(RELEASE.max_length("service")))
    tag: Mapped[str] = mapped_column(String(RELEASE.max_length("tag")))
    team: Mapped[str] = mapped_column(String(RELEASE.max_length("team")), default="")
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    canary_percent: Mapped[int | None] = mapped_column(Integer)
    guard_p99_ms: Mapped[int | None] = mapped_column(Integer)
    guard_error_rate: Mapped[float | None] = mapped_column(Float)
    rollback_window_seconds: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16), default="in_progress")
    rollback_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rolled_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    @property
    def outcome_label(self) -> str:
        return OUTCOME_LABELS.get(self.outcome, self.outcome)

    @property
    def label(self) -> str:
        """How pages, lists and the audit trail name it: service and version."""
        return f"{self.service} {self.tag}"

    @property
    def rollback_seconds(self) -> float | None:
        """The measured rollback time: from its start to the old version serving again."""
        if self.rollback_started_at is None or self.rolled_back_at is None:
            return None
        return (self.rolled_back_at - self.rollback_started_at).total_seconds()

    @property
    def rollback_within_window(self) -> bool | None:
        seconds = self.rollback_seconds
        if seconds is None or self.rollback_window_seconds is None:
            return None
        return seconds <= self.rollback_window_seconds
