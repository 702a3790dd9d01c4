"""Releases: deployments of a service, their guardrails and outcome; an incident's cause.

A new table, and a nullable `incidents.release_id` added with a plain ADD COLUMN and no
foreign key, as 0010 did: a batch rebuild of `incidents` on SQLite would drop the
data-version triggers. A release that incidents name cannot be deleted (the domain's rule).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 09:30:00
"""

import sqlalchemy as sa
from alembic import op

from catalog.db import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(40), nullable=False),
        sa.Column("service", sa.String(100), nullable=False),
        sa.Column("tag", sa.String(100), nullable=False),
        sa.Column("team", sa.String(100), nullable=False),
        sa.Column("deployed_at", UTCDateTime(), nullable=False),
        sa.Column("canary_percent", sa.Integer(), nullable=True),
        sa.Column("guard_p99_ms", sa.Integer(), nullable=True),
        sa.Column("guard_error_rate", sa.Float(), nullable=True),
        sa.Column("rollback_window_seconds", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("rollback_started_at", UTCDateTime(), nullable=True),
        sa.Column("rolled_back_at", UTCDateTime(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('in_progress','promoted','rolled_back','abandoned')",
            name=op.f("ck_releases_release_outcome"),
        ),
        sa.CheckConstraint(
            "canary_percent BETWEEN 1 AND 100", name=op.f("ck_releases_release_canary_percent")
        ),
        sa.CheckConstraint(
            "(outcome = 'rolled_back') = (rolled_back_at IS NOT NULL)",
            name=op.f("ck_releases_release_rolled_back_at"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_releases")),
    )
    op.create_index("uq_releases_uid", "releases", ["uid"], unique=True)
    op.create_index("ix_releases_service_deployed", "releases", ["service", "deployed_at"])
    op.create_index("ix_releases_deployed_at", "releases", ["deployed_at"])
    op.add_column("incidents", sa.Column("release_id", sa.Integer(), nullable=True))
    op.create_index("ix_incidents_release_id", "incidents", ["release_id"])


def downgrade() -> None:
    op.drop_index("ix_incidents_release_id", table_name="incidents")
    # Plain DROP COLUMN on SQLite too (3.35+): a batch rebuild would drop 0004's triggers.
    op.drop_column("incidents", "release_id")
    op.drop_table("releases")
