"""Post-mortems (one per incident) and their action items."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog.db import Base, UTCDateTime, one_of, utcnow
from catalog.postmortems.spec import ACTION_ITEM, PM_STATUSES

if TYPE_CHECKING:
    from catalog.incidents.models import Incident

__all__ = ["PM_STATUSES", "ActionItem", "Postmortem"]


class Postmortem(Base):
    __tablename__ = "postmortems"
    __table_args__ = (CheckConstraint(one_of("status", PM_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[str] = mapped_column(String(16), default="draft")
    root_cause_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    root_cause: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    incident: Mapped[Incident] = relationship(back_populates="postmortem")
    action_items: Mapped[list[ActionItem]] = relationship(
        back_populates="postmortem",
        cascade="all, delete-orphan",
        order_by="ActionItem.id",
        lazy="selectin",
    )

    __mapper_args__ = {"version_id_col": version}


class ActionItem(Base):
    __tablename__ = "action_items"
    __table_args__ = (Index("ix_action_items_due_on", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    postmortem_id: Mapped[int] = mapped_column(
        ForeignKey("postmortems.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(ACTION_ITEM.max_length("title")))
    owner: Mapped[str] = mapped_column(String(ACTION_ITEM.max_length("owner")), default="")
    due_on: Mapped[date | None] = mapped_column(Date)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    link: Mapped[str | None] = mapped_column(String(ACTION_ITEM.max_length("link")))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    postmortem: Mapped[Postmortem] = relationship(back_populates="action_items")
