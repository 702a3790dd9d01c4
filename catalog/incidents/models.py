"""Incidents and their links to failure vectors."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from uuid import uuid4

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship

from catalog.db import Base, UTCDateTime, one_of, utcnow
from catalog.incidents.spec import DETECTION_SOURCES, INCIDENT, SEVERITIES, TIMESTAMP_FIELDS
from catalog.vectors.models import Vector

if TYPE_CHECKING:
    from catalog.auth.models import User
    from catalog.postmortems.models import Postmortem
    from catalog.releases.models import Release


def new_uid() -> str:
    return uuid4().hex


STATUSES = ("investigating", "mitigated", "recovered")
__all__ = [
    "DETECTION_SOURCES",
    "SEVERITIES",
    "STATUSES",
    "TIMESTAMP_FIELDS",
    "UPDATE_KINDS",
    "UPDATE_SOURCES",
    "Incident",
    "IncidentUpdate",
]

# What a timeline entry records: a responder's note, a milestone stamped (or an
# incident reopened), a change that matters (severity, vectors), a status another
# system reported (an Alertmanager delivery, a Statuspage update on import).
UPDATE_KINDS = ("note", "milestone", "reopened", "severity", "vectors", "roles", "status")
# Where it came from: a page, the API, the CLI, a webhook, an import.
UPDATE_SOURCES = ("web", "api", "cli", "alertmanager", "import")


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
        Index("ix_incidents_lead_id", "lead_id"),  # the list's lead filter, My incidents
        Index("ix_incidents_release_id", "release_id"),  # a release's incidents
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
    # Who runs the response and who keeps stakeholders informed: accounts, by id. No
    # foreign key: accounts are deactivated, never deleted, and a column added to this
    # table must not rebuild it on SQLite (the data-version triggers live on it).
    lead_id: Mapped[int | None] = mapped_column(Integer)
    comms_lead_id: Mapped[int | None] = mapped_column(Integer)
    # The release that caused it, if one did (change metrics). No foreign key, as above;
    # a release that incidents name cannot be deleted (catalog.releases.service).
    release_id: Mapped[int | None] = mapped_column(Integer)
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

    # The database deletes an incident's timeline with it (ON DELETE CASCADE): a
    # long one is not loaded into the session only to be deleted row by row.
    lead: Mapped[User | None] = relationship(
        primaryjoin="foreign(Incident.lead_id) == User.id", lazy="selectin", viewonly=False
    )
    comms_lead: Mapped[User | None] = relationship(
        primaryjoin="foreign(Incident.comms_lead_id) == User.id", lazy="selectin", viewonly=False
    )
    release: Mapped[Release | None] = relationship(
        primaryjoin="foreign(Incident.release_id) == Release.id", lazy="select", viewonly=False
    )
    # Write-only: entries are added without loading the timeline, and read with a query
    # (catalog.incidents.timeline.timeline_of), never as an attribute.
    updates: WriteOnlyMapped[IncidentUpdate] = relationship(
        back_populates="incident", passive_deletes=True
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def vector_slugs(self) -> list[str]:
        return [v.slug for v in self.vectors]

    @property
    def lead_email(self) -> str | None:
        return self.lead.email if self.lead is not None else None

    @property
    def comms_lead_email(self) -> str | None:
        return self.comms_lead.email if self.comms_lead is not None else None


class IncidentUpdate(Base):
    """One entry of an incident's timeline, at its own time (a Statuspage update keeps
    the time it was posted), by a person (`author_id`) or a system (`author_label`)."""

    __tablename__ = "incident_updates"
    __table_args__ = (
        CheckConstraint(one_of("kind", UPDATE_KINDS), name="kind"),
        CheckConstraint(one_of("source", UPDATE_SOURCES), name="source"),
        Index("ix_incident_updates_incident_id_at", "incident_id", "at"),
        Index("ix_incident_updates_author_id", "author_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_label: Mapped[str] = mapped_column(String(254))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    incident: Mapped[Incident] = relationship(back_populates="updates", lazy="raise")
