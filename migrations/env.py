"""Alembic environment: the one place the schema is created or changed.

Run through `catalog db upgrade` (which passes the URL from CATALOG_DATABASE_URL)
or by tests, which hand in a live connection via `config.attributes`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, create_engine, event, text

from catalog.models import Base

config = context.config
target_metadata = Base.metadata
# Any fixed number: the advisory lock that lets one deploy migrate at a time.
MIGRATION_LOCK = 0x0FA11CA7


def _skip_empty(context_, revision, directives):  # type: ignore[no-untyped-def]
    """Don't write an empty revision when autogenerate finds nothing (microblog's trick)."""
    if getattr(config.cmd_opts, "autogenerate", False):
        script = directives[0]
        if script.upgrade_ops.is_empty():
            directives[:] = []


def _configure(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        process_revision_directives=_skip_empty,
    )


def _migrate(connection) -> None:  # type: ignore[no-untyped-def]
    """Run the pending revisions, one deploy at a time.

    Every deploy runs `catalog db upgrade`; when several hosts start at once on
    one PostgreSQL database, the first takes the advisory lock and migrates, the
    others wait for it and then find nothing left to do. (SQLite's write lock
    serialises the same way on one host.)
    """
    _configure(connection)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = _engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as conn:
        _migrate(conn)
    engine.dispose()


def _engine(url: str) -> Engine:
    """On SQLite, one transaction that holds the write lock from its first statement.

    pysqlite on its own runs DDL outside any transaction, so two deploys could
    both read "not migrated yet" and both create the tables. BEGIN IMMEDIATE
    (SQLAlchemy's documented pysqlite recipe) makes the second wait for the
    first, and makes a failed migration roll back whole.
    """
    if not url.startswith("sqlite"):
        return create_engine(url)
    engine = create_engine(url, connect_args={"timeout": 120})

    @event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection, record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _take_the_write_lock(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
