"""An incident's timeline: notes, milestones and status updates, each at its own time.

One row per entry (catalog.incidents.models.IncidentUpdate). Deleting an
incident deletes its timeline in the database (ON DELETE CASCADE); a user who
wrote entries is never deleted (deactivated instead), and if one ever were, the
entries keep the author's label.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 03:20:00
"""

import sqlalchemy as sa
from alembic import op

import catalog.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("at", catalog.db.UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_label", sa.String(length=254), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", catalog.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('note','milestone','reopened','severity','vectors','roles','status')",
            name=op.f("ck_incident_updates_kind"),
        ),
        sa.CheckConstraint(
            "source IN ('web','api','cli','alertmanager','import')",
            name=op.f("ck_incident_updates_source"),
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_incident_updates_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_updates_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_updates")),
    )
    op.create_index("ix_incident_updates_author_id", "incident_updates", ["author_id"])
    op.create_index("ix_incident_updates_incident_id_at", "incident_updates", ["incident_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_incident_updates_incident_id_at", table_name="incident_updates")
    op.drop_index("ix_incident_updates_author_id", table_name="incident_updates")
    op.drop_table("incident_updates")
