"""Finer data versions: per month of incidents, and for vectors, post-mortems and sign-ins.

0004's single version moves on every write, so one new incident made every
cached report read all of its incidents again (a year by month: 80-110 ms at
10^5 incidents, on every write). Here each write also moves:

- `data_version_months`: the version of the UTC month(s) of the incidents it
  touched (both months when an update moves `started_at`; the incident's month
  when its vector links change). A report then reads again only the months
  whose version moved, and keeps the rest (catalog.reports.chunks). Every month
  that holds an incident has a row (seeded here, added by the triggers after),
  so the table alone says which months there are to read;
- `data_version` row 2, vectors: renaming or retargeting a vector may change
  every month's rows (filters by vector, vector groups);
- row 3, post-mortems: root-cause times and "has a post-mortem" on lists;
- row 4, credentials: what decides who a bearer token is (catalog.auth.tokens):
  a user's role, activity, e-mail or password, a token's revocation. A token's
  `last_used_at` or a sign-in's `last_login_at` move nothing.

PostgreSQL: statement-level triggers with transition tables for the months,
each month and row moved once per transaction (as 0004's row 1: executemany
runs a statement per row, and one row updated 10^5 times in a transaction gets
slower each time). Every trigger takes row 1's lock first, as incident writers
do, so two writers never wait on each other in opposite orders. A TRUNCATE
moves every month. SQLite: row-level triggers, as 0004.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 22:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# data_version rows besides 0004's row 1, and the tables (and, for updates, the columns)
# whose writes move each one.
ROWS = {
    2: {"vectors": None},
    3: {"postmortems": None},
    4: {
        "users": (
            "email",
            "name",
            "password_hash",
            "role",
            "active",
            "must_change_password",
            "timezone",
            "session_epoch",
        ),
        "api_tokens": ("user_id", "token_hash", "revoked_at"),
    },
}

PG_MONTH = "(EXTRACT(YEAR FROM {0}) * 100 + EXTRACT(MONTH FROM {0}))::integer"
SQLITE_MONTH = "CAST(strftime('%Y%m', {0}) AS INTEGER)"
SQLITE_UPSERT = (
    "INSERT INTO data_version_months (month, version) {source}"
    " ON CONFLICT (month) DO UPDATE SET version = data_version_months.version + 1;"
)


_LINKED = "SELECT i.started_at FROM {0} l JOIN incidents i ON i.id = l.incident_id"
# PostgreSQL month triggers: (function and trigger name, table, REFERENCING clause, event)
# -> the rows whose started_at they move.
PG_MONTH_TRIGGERS = {
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
        "data_version_months",
        sa.Column("month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_data_version_months")),
        comment="Per UTC month (YYYYMM) of incidents.started_at; bumped by triggers.",
    )
    for row in ROWS:
        op.execute(f"INSERT INTO data_version (id, version) VALUES ({row}, 1)")
    # Every month that holds an incident has a row from now on (the triggers add the
    # rest): the kept months are found from this table alone.
    month = PG_MONTH if op.get_bind().dialect.name == "postgresql" else SQLITE_MONTH
    op.execute(
        "INSERT INTO data_version_months (month, version)"
        f" SELECT DISTINCT {month.format('started_at')}, 1 FROM incidents"
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def _postgresql_triggers() -> None:
    op.execute(
        """
        CREATE FUNCTION catalog_bump_version_row() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            flag text := 'catalog.version_bumped_' || TG_ARGV[0];
        BEGIN
            IF current_setting(flag, true) IS DISTINCT FROM 'on' THEN
                -- Row 1 first, as every incident writer takes it: two transactions
                -- writing post-mortems and incidents in opposite orders never deadlock.
                PERFORM 1 FROM data_version WHERE id = 1 FOR UPDATE;
                UPDATE data_version SET version = version + 1 WHERE id = TG_ARGV[0]::integer;
                PERFORM set_config(flag, 'on', true);
            END IF;
            RETURN NULL;
        END $$
        """
    )
    for row, tables in ROWS.items():
        for table, columns in tables.items():
            update = f"UPDATE OF {', '.join(columns)}" if columns else "UPDATE"
            truncate = " OR TRUNCATE" if columns is None else ""
            op.execute(
                f"CREATE TRIGGER trg_{table}_version_{row}"
                f" AFTER INSERT OR {update} OR DELETE{truncate} ON {table}"
                f" FOR EACH STATEMENT EXECUTE FUNCTION catalog_bump_version_row('{row}')"
            )
    month = PG_MONTH.format("started_at")
    for (name, table, referencing, event), source in PG_MONTH_TRIGGERS.items():
        # Each month once per transaction, like row 1: a bulk insert through executemany
        # runs one statement (and so this trigger) per row, and updating one row 10^5
        # times in a transaction took 125 s for the demo's 10^5 incidents.
        op.execute(
            f"""
            CREATE FUNCTION catalog_months_{name}() RETURNS trigger
            LANGUAGE plpgsql AS $$
            DECLARE
                m integer;
                done text;
            BEGIN
                FOR m IN SELECT DISTINCT {month} FROM {source} ORDER BY 1 LOOP
                    done := coalesce(nullif(current_setting('catalog.months_bumped', true), ''), ',');
                    IF position(',' || m || ',' IN done) = 0 THEN
                        INSERT INTO data_version_months (month, version) VALUES (m, 1)
                        ON CONFLICT (month)
                        DO UPDATE SET version = data_version_months.version + 1;
                        PERFORM set_config('catalog.months_bumped', done || m || ',', true);
                    END IF;
                END LOOP;
                RETURN NULL;
            END $$
            """
        )
        op.execute(
            f"CREATE TRIGGER trg_{name}_months AFTER {event} ON {table}"
            f" REFERENCING {referencing}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION catalog_months_{name}()"
        )
    op.execute(
        """
        CREATE FUNCTION catalog_months_all() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE data_version_months SET version = version + 1;
            RETURN NULL;
        END $$
        """
    )
    for table in ("incidents", "incident_vectors"):
        op.execute(
            f"CREATE TRIGGER trg_{table}_truncate_months AFTER TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION catalog_months_all()"
        )


def _sqlite_triggers() -> None:
    for row, tables in ROWS.items():
        for table, columns in tables.items():
            for operation in ("INSERT", "UPDATE", "DELETE"):
                event = operation
                if operation == "UPDATE" and columns:
                    event = f"UPDATE OF {', '.join(columns)}"
                op.execute(
                    f"CREATE TRIGGER trg_{table}_{operation.lower()}_version_{row}"
                    f" AFTER {event} ON {table} FOR EACH ROW BEGIN"
                    f" UPDATE data_version SET version = version + 1 WHERE id = {row}; END"
                )

    def own(which: str) -> str:
        return SQLITE_UPSERT.format(
            source=f"VALUES ({SQLITE_MONTH.format(which + '.started_at')}, 1)"
        )

    def linked(which: str) -> str:
        return SQLITE_UPSERT.format(
            source=f"SELECT {SQLITE_MONTH.format('started_at')}, 1 FROM incidents"
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
            f"CREATE TRIGGER trg_{table}_{operation.lower()}_months"
            f" AFTER {operation} ON {table} FOR EACH ROW BEGIN {body} END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for row, tables in ROWS.items():
            for table in tables:
                op.execute(f"DROP TRIGGER trg_{table}_version_{row} ON {table}")
        for name, table, _, _ in PG_MONTH_TRIGGERS:
            op.execute(f"DROP TRIGGER trg_{name}_months ON {table}")
            op.execute(f"DROP FUNCTION catalog_months_{name}()")
        for table in ("incidents", "incident_vectors"):
            op.execute(f"DROP TRIGGER trg_{table}_truncate_months ON {table}")
        op.execute("DROP FUNCTION catalog_months_all()")
        op.execute("DROP FUNCTION catalog_bump_version_row()")
    else:
        for row, tables in ROWS.items():
            for table in tables:
                for operation in ("insert", "update", "delete"):
                    op.execute(f"DROP TRIGGER trg_{table}_{operation}_version_{row}")
        for table in ("incidents", "incident_vectors"):
            for operation in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER trg_{table}_{operation}_months")
    op.execute(f"DELETE FROM data_version WHERE id IN ({', '.join(map(str, ROWS))})")
    op.drop_table("data_version_months")
