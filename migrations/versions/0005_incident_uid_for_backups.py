"""A stable, global id per incident: the identity of a backup record.

Database ids differ between installations, so a JSON backup names each
incident by `uid` (32 hex characters, random for incidents made here). An
import keeps the uid, so importing the same backup again, or a backup into the
database it came from, finds the incident already there and creates nothing.

SQLite's ADD COLUMN cannot add a NOT NULL column without a default, and a
batch migration would recreate the table and drop the data-version triggers of
0004; so the column is added with a throw-away default, filled, then indexed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 08:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("incidents", sa.Column("uid", sa.String(40), nullable=True))
        op.execute("UPDATE incidents SET uid = replace(gen_random_uuid()::text, '-', '')")
        op.alter_column("incidents", "uid", nullable=False)
    else:
        op.add_column(
            "incidents",
            sa.Column("uid", sa.String(40), nullable=False, server_default=""),
        )
        op.execute("UPDATE incidents SET uid = lower(hex(randomblob(16)))")
    op.create_index("uq_incidents_uid", "incidents", ["uid"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_incidents_uid", table_name="incidents")
    # Plain DROP COLUMN on SQLite too (3.35+): a batch rebuild would drop 0004's triggers.
    op.execute("ALTER TABLE incidents DROP COLUMN uid")
