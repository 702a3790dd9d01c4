"""Incidents and their links to failure vectors."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from uuid import uuid4

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog.db import Base, UTCDateTime, one_of, utcnow
from catalog.incidents.spec import DETECTION_SOURCES, INCIDENT, SEVERITIES, TIMESTAMP_FIELDS
from catalog.vectors.models import Vector

if TYPE_CHECKING:
    from catalog.postmortems.models import Postmortem


def new_uid() -> str:
    return uuid4().hex


STATUSES = ("investigating", "mitigated", "recovered")
__all__ = ["DETECTION_SOURCES", "SEVERITIES", "STATUSES", "TIMESTAMP_FIELDS", "Incident"]


incident_vectors = Table(
    "incident_vectors",
    Base.metadata,
    Column(
        "incident_id",
        ForeignKey("incidents.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("vector_id", ForeignKey("vectors.id", ondelete="RESTRICT"), primary_key=True),
    Index("ix_incident_vectors_vector_id", "vector_id"),
)


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint(one_of("severity", SEVERITIES), name="severity"),
        CheckConstraint(one_of("detection_source", DETECTION_SOURCES), name="detection_source"),
        CheckConstraint("started_at <= detected_at", name="started_before_detected"),
        Index("ix_incidents_started_at", "started_at"),
        Index("ix_incidents_detected_at", "detected_at"),
        Index("ix_incidents_service", "service"),
        Index("ix_incidents_team", "team"),
        Index("ix_incidents_severity", "severity"),
        # Covers every column the metrics read: on SQLite, metrics over any
        # started_at range scan this index alone, never the wide rows (title,
        # summary); on PostgreSQL it allows index-only scans.
        Index(
            "ix_incidents_metrics",
            "started_at",
            "detected_at",
            "recovered_at",
            "severity",
            "service",
            "team",
        ),
        Index("ix_incidents_recovered_at", "recovered_at"),  # open incidents
        Index("uq_incidents_external", "external_source", "external_id", unique=True),
        Index("uq_incidents_uid", "uid", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The incident's identity across installations (backups); see migration 0005.
    uid: Mapped[str] = mapped_column(String(40), default=new_uid)
    title: Mapped[str] = mapped_column(String(INCIDENT.max_length("title")))
    severity: Mapped[str] = mapped_column(String(4))
    service: Mapped[str] = mapped_column(String(INCIDENT.max_length("service")))
    team: Mapped[str] = mapped_column(String(INCIDENT.max_length("team")), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    detection_source: Mapped[str] = mapped_column(String(16), default="alert")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mitigated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recovered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    external_source: Mapped[str | None] = mapped_column(String(32))
    external_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    vectors: Mapped[list[Vector]] = relationship(
        secondary=incident_vectors, order_by=Vector.name, lazy="selectin"
    )
    postmortem: Mapped[Postmortem | None] = relationship(
        back_populates="incident", uselist=False, cascade="all, delete-orphan", lazy="selectin"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def vector_slugs(self) -> list[str]:
        return [v.slug for v in self.vectors]
