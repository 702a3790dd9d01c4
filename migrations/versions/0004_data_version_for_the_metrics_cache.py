"""The data version the metrics cache is keyed by, bumped by triggers on every write.

See catalog/reports/cache.py for why. One row; triggers on the tables the
metrics read (incidents, incident_vectors, vectors) add one to it inside the
writing transaction. PostgreSQL gets one statement-level trigger per table that
bumps at most once per transaction (a transaction-local setting remembers it);
SQLite only has row-level triggers, one per table and operation.

A later batch migration that recreates one of these tables on SQLite drops its
triggers: it must create them again (test_migrations checks they fire at head).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 05:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("incidents", "incident_vectors", "vectors")
OPERATIONS = ("INSERT", "UPDATE", "DELETE")


def upgrade() -> None:
    op.create_table(
        "data_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_version")),
        comment="Bumped by triggers on every write to the tables the metrics read.",
    )
    op.execute("INSERT INTO data_version (id, version) VALUES (1, 1)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION catalog_bump_data_version() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                -- Once per transaction: the version only has to differ after commit,
                -- and updating one row 10^5 times in a transaction gets slower each time.
                IF current_setting('catalog.data_version_bumped', true) IS DISTINCT FROM 'on' THEN
                    UPDATE data_version SET version = version + 1 WHERE id = 1;
                    PERFORM set_config('catalog.data_version_bumped', 'on', true);
                END IF;
                RETURN NULL;
            END $$
            """
        )
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER trg_{table}_data_version"
                f" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}"
                " FOR EACH STATEMENT EXECUTE FUNCTION catalog_bump_data_version()"
            )
    else:
        for table in TABLES:
            for operation in OPERATIONS:
                op.execute(
                    f"CREATE TRIGGER trg_{table}_{operation.lower()}_data_version"
                    f" AFTER {operation} ON {table} FOR EACH ROW BEGIN"
                    " UPDATE data_version SET version = version + 1 WHERE id = 1; END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER trg_{table}_data_version ON {table}")
        op.execute("DROP FUNCTION catalog_bump_data_version()")
    else:
        for table in TABLES:
            for operation in OPERATIONS:
                op.execute(f"DROP TRIGGER trg_{table}_{operation.lower()}_data_version")
    op.drop_table("data_version")
