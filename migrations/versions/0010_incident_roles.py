"""Roles on an incident: its lead (commander) and its communications lead.

Two nullable columns naming accounts by id, and an index for "incidents I lead".
Plain ADD COLUMN on SQLite too: a batch rebuild of `incidents` would drop the
data-version triggers (see 0005). No foreign key, for the same reason: SQLite
cannot add one without a rebuild, and accounts are deactivated, never deleted.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 03:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("incidents", sa.Column("lead_id", sa.Integer(), nullable=True))
    op.add_column("incidents", sa.Column("comms_lead_id", sa.Integer(), nullable=True))
    op.create_index("ix_incidents_lead_id", "incidents", ["lead_id"])


def downgrade() -> None:
    op.drop_index("ix_incidents_lead_id", table_name="incidents")
    # Plain DROP COLUMN on SQLite too (3.35+): a batch rebuild would drop 0004's triggers.
    op.drop_column("incidents", "comms_lead_id")
    op.drop_column("incidents", "lead_id")
