"""The release table: one deployment of one version of a service, and how it ended."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog.db import Base, UTCDateTime, one_of, utcnow
from catalog.incidents.models import new_uid
from catalog.releases.spec import LOAD_SOURCES, LOAD_TEST, OUTCOME_LABELS, OUTCOMES, RELEASE

__all__ = ["OUTCOMES", "CanaryAnalysis", "LoadTest", "ReadinessBars", "Release"]


def rollback_seconds(started: datetime | None, done: datetime | None) -> float | None:
    """The measured rollback time: from its start to the old version serving again (the one
    definition, for a release and for the change metrics' rows)."""
    if started is None or done is None:
        return None
    return (done - started).total_seconds()


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

    # Tiers by multiple, then named ones by name (what the matrix shows left to right).
    load_tests: Mapped[list[LoadTest]] = relationship(
        back_populates="release",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
        order_by="(LoadTest.multiplier.is_(None), LoadTest.multiplier, LoadTest.tier)",
    )
    canary: Mapped[CanaryAnalysis | None] = relationship(
        back_populates="release",
        cascade="all, delete-orphan",
        passive_deletes=True,
        uselist=False,
        lazy="selectin",
    )

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
        return rollback_seconds(self.rollback_started_at, self.rolled_back_at)

    @property
    def rollback_within_window(self) -> bool | None:
        seconds = self.rollback_seconds
        if seconds is None or self.rollback_window_seconds is None:
            return None
        return seconds <= self.rollback_window_seconds


class LoadTest(Base):
    """One tier of a release's load test: 1×, 5×, 10× a base rate, or a named tier."""

    __tablename__ = "load_tests"
    __table_args__ = (
        Index("uq_load_tests_release_tier", "release_id", "tier", unique=True),
        CheckConstraint(one_of("source", LOAD_SOURCES), name="load_test_source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"))
    tier: Mapped[str] = mapped_column(String(LOAD_TEST.max_length("tier")))
    multiplier: Mapped[int | None] = mapped_column(Integer)
    """1, 5, 10… for a tier named as a multiple of the base rate; None for a named tier."""
    rps: Mapped[float] = mapped_column(Float)
    p50_ms: Mapped[float] = mapped_column(Float)
    p95_ms: Mapped[float | None] = mapped_column(Float)
    p99_ms: Mapped[float] = mapped_column(Float)
    error_rate: Mapped[float] = mapped_column(Float)
    """Percent of requests that failed."""
    requests: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    release: Mapped[Release] = relationship(back_populates="load_tests")


class ReadinessBars(Base):
    """The bars a service's load tiers are judged against (defaults when it has no row)."""

    __tablename__ = "readiness_bars"

    service: Mapped[str] = mapped_column(String(RELEASE.max_length("service")), primary_key=True)
    p99_1x_ms: Mapped[int] = mapped_column(Integer)
    p99_5x_ms: Mapped[int] = mapped_column(Integer)
    error_rate_10x: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class CanaryAnalysis(Base):
    """A canary's latency against its baseline's: the two-sample KS test, the p99s, the
    verdict against the release's guardrails, and each side's quantiles for the plot."""

    __tablename__ = "canary_analyses"

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(
        ForeignKey("releases.id", ondelete="CASCADE"), unique=True
    )
    baseline_count: Mapped[int] = mapped_column(Integer)
    canary_count: Mapped[int] = mapped_column(Integer)
    ks_statistic: Mapped[float] = mapped_column(Float)
    p_value: Mapped[float] = mapped_column(Float)
    baseline_p99_ms: Mapped[float] = mapped_column(Float)
    canary_p99_ms: Mapped[float] = mapped_column(Float)
    baseline_error_rate: Mapped[float | None] = mapped_column(Float)
    canary_error_rate: Mapped[float | None] = mapped_column(Float)
    verdict: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[str] = mapped_column(Text, default="")
    baseline_quantiles: Mapped[str] = mapped_column(Text)
    """JSON: the 0th to 100th percentiles (101 numbers, ms), enough to draw the ECDF."""
    canary_quantiles: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    release: Mapped[Release] = relationship(back_populates="canary")
