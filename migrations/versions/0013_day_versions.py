"""Day versions: a write this month makes a report read one day's incidents again, not a month's.

0008's month versions let a report keep every month but the one written to,
which is almost always the current one, and is read again in full after every
write (on PostgreSQL at 10^5 incidents: ~4,500 vector links in 15 ms, the
largest part of a dashboard after a write). Here each write also moves
`data_version_days`: the version of the UTC day(s) of the incidents it touched,
exactly as 0008 moves their months (the same sources, once per transaction on
PostgreSQL, row by row on SQLite; a TRUNCATE moves every day). The reports read
the current month a day at a time (catalog.reports.chunks) and keep each day
while its version holds; older months stay whole. Every day that holds an
incident has a row (seeded here, added by the triggers after).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 17:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

PG_DAY = (
    "(EXTRACT(YEAR FROM {0}) * 10000 + EXTRACT(MONTH FROM {0}) * 100"
    " + EXTRACT(DAY FROM {0}))::integer"
)
SQLITE_DAY = "CAST(strftime('%Y%m%d', {0}) AS INTEGER)"
SQLITE_UPSERT = (
    "INSERT INTO data_version_days (day, version) {source}"
    " ON CONFLICT (day) DO UPDATE SET version = data_version_days.version + 1;"
)

# A copy of 0008's PG_MONTH_TRIGGERS (a migration is frozen): the rows whose started_at
# each statement-level trigger moves.
_LINKED = "SELECT i.started_at FROM {0} l JOIN incidents i ON i.id = l.incident_id"
PG_DAY_TRIGGERS = {
    ("incidents_ins", "incidents", "NEW TABLE AS new_rows", "INSERT"): "new_rows",
    ("incidents_del", "incidents", "OLD TABLE AS old_rows", "DELETE"): "old_rows",
    (
        "incidents_upd",
        "incidents",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "UPDATE",
    ): "(SELECT started_at FROM old_rows UNION ALL SELECT started_at FROM new_rows) t",
    ("links_ins", "incident_vectors", "NEW TABLE AS new_rows", "INSERT"): (
        f"({_LINKED.format('new_rows')}) t"
    ),
    ("links_del", "incident_vectors", "OLD TABLE AS old_rows", "DELETE"): (
        f"({_LINKED.format('old_rows')}) t"
    ),
    (
        "links_upd",
        "incident_vectors",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "UPDATE",
    ): f"({_LINKED.format('old_rows')} UNION ALL {_LINKED.format('new_rows')}) t",
}


def upgrade() -> None:
    op.create_table(
        "data_version_days",
        sa.Column("day", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_data_version_days")),
        comment="Per UTC day (YYYYMMDD) of incidents.started_at; bumped by triggers.",
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    day = PG_DAY if postgresql else SQLITE_DAY
    op.execute(
        "INSERT INTO data_version_days (day, version)"
        f" SELECT DISTINCT {day.format('started_at')}, 1 FROM incidents"
    )
    if postgresql:
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def _postgresql_triggers() -> None:
    day = PG_DAY.format("started_at")
    for (name, table, referencing, event), source in PG_DAY_TRIGGERS.items():
        # Each day once per transaction, as 0008's months (executemany runs a statement
        # per row).
        op.execute(
            f"""
            CREATE FUNCTION catalog_days_{name}() RETURNS trigger
            LANGUAGE plpgsql AS $$
            DECLARE
                d integer;
                done text;
            BEGIN
                FOR d IN SELECT DISTINCT {day} FROM {source} ORDER BY 1 LOOP
                    done := coalesce(nullif(current_setting('catalog.days_bumped', true), ''), ',');
                    IF position(',' || d || ',' IN done) = 0 THEN
                        INSERT INTO data_version_days (day, version) VALUES (d, 1)
                        ON CONFLICT (day)
                        DO UPDATE SET version = data_version_days.version + 1;
                        PERFORM set_config('catalog.days_bumped', done || d || ',', true);
                    END IF;
                END LOOP;
                RETURN NULL;
            END $$
            """
        )
        op.execute(
            f"CREATE TRIGGER trg_{name}_days AFTER {event} ON {table}"
            f" REFERENCING {referencing}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION catalog_days_{name}()"
        )
    op.execute(
        """
        CREATE FUNCTION catalog_days_all() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE data_version_days SET version = version + 1;
            RETURN NULL;
        END $$
        """
    )
    for table in ("incidents", "incident_vectors"):
        op.execute(
            f"CREATE TRIGGER trg_{table}_truncate_days AFTER TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION catalog_days_all()"
        )


def _sqlite_triggers() -> None:
    def own(which: str) -> str:
        return SQLITE_UPSERT.format(
            source=f"VALUES ({SQLITE_DAY.format(which + '.started_at')}, 1)"
        )

    def linked(which: str) -> str:
        return SQLITE_UPSERT.format(
            source=f"SELECT {SQLITE_DAY.format('started_at')}, 1 FROM incidents"
            f" WHERE id = {which}.incident_id"
        )

    bodies = {
        ("incidents", "INSERT"): own("NEW"),
        ("incidents", "DELETE"): own("OLD"),
        ("incidents", "UPDATE"): own("OLD") + " " + own("NEW"),
        ("incident_vectors", "INSERT"): linked("NEW"),
        ("incident_vectors", "DELETE"): linked("OLD"),
        ("incident_vectors", "UPDATE"): linked("OLD") + " " + linked("NEW"),
    }
    for (table, operation), body in bodies.items():
        op.execute(
            f"CREATE TRIGGER trg_{table}_{operation.lower()}_days"
            f" AFTER {operation} ON {table} FOR EACH ROW BEGIN {body} END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, table, _, _ in PG_DAY_TRIGGERS:
            op.execute(f"DROP TRIGGER trg_{name}_days ON {table}")
            op.execute(f"DROP FUNCTION catalog_days_{name}()")
        for table in ("incidents", "incident_vectors"):
            op.execute(f"DROP TRIGGER trg_{table}_truncate_days ON {table}")
        op.execute("DROP FUNCTION catalog_days_all()")
    else:
        for table in ("incidents", "incident_vectors"):
            for operation in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER trg_{table}_{operation}_days")
    op.drop_table("data_version_days")
