"""The request's session: opened on first use, closed at teardown, bookkeeping written last.

The Flask side of the database (catalog.db holds the SQLAlchemy side: types,
constructs, engines, errors), so the CLI, the bench scripts and the migrations
use the database without an app or a request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import Connection, Executable, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from catalog.db import make_engine, make_sessionmaker

logger = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    engine = make_engine(
        str(app.config["DATABASE_URL"]), int(app.config.get("DB_TIMEOUT_SECONDS", 15))
    )
    app.extensions["catalog.engine"] = engine
    app.extensions["catalog.sessionmaker"] = make_sessionmaker(engine)
    if engine.dialect.name == "postgresql":  # see get_session; same pool, same connections
        reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        app.extensions["catalog.read_sessionmaker"] = make_sessionmaker(reads)
    app.teardown_appcontext(close_session)


READ_ONLY_METHODS = frozenset({"GET", "HEAD"})


def get_session() -> Session:
    """The request's session, opened on first use.

    A GET on PostgreSQL reads in autocommit: no BEGIN and ROLLBACK around its queries,
    two of the round trips of a cached list request. Nothing a GET reads needs one
    snapshot (READ COMMITTED gives each statement its own in a transaction too), and
    a GET writes nothing but bookkeeping, one statement (`write_bookkeeping`, whose
    lock wait is then a session setting, reset after).
    """
    if "db_session" not in g:
        makers = current_app.extensions
        reads = makers.get("catalog.read_sessionmaker")
        if reads is not None and has_request_context() and request.method in READ_ONLY_METHODS:
            g.db_session = reads()
        else:
            g.db_session = makers["catalog.sessionmaker"]()
    return g.db_session


def close_session(exc: BaseException | None = None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        try:
            if exc is not None:
                session.rollback()
            write_bookkeeping(session)
        finally:
            session.close()


# Noting when a session or token was last used is not worth a longer wait for a lock.
BOOKKEEPING_WAIT_MS = 200
_BOOKKEEPING = "catalog.bookkeeping"


def defer_bookkeeping(
    session: Session,
    statement: Executable,
    what: str,
    on_written: Callable[[], None] | None = None,
) -> None:
    """Queue a bookkeeping write (when a web session or a token was last used) for the end
    of the request, where `close_session` writes it on the request's own connection.

    Bookkeeping must never cost a read its answer: written in the middle of a request
    it would need the write lock before the request's work, or a second pooled
    connection while the request holds one (twenty racing requests then wait on
    each other for the pool). Written last, it waits at most BOOKKEEPING_WAIT_MS for
    a lock, and a busy or locked database only means it is skipped, with a warning
    (the next request tries again). `on_written` runs once it is committed.
    """
    session.info.setdefault(_BOOKKEEPING, []).append((statement, what, on_written))


def write_bookkeeping(session: Session) -> None:
    pending = session.info.pop(_BOOKKEEPING, None)
    if not pending:
        return
    session.rollback()  # whatever the request left uncommitted is not kept anyway
    for statement, what, on_written in pending:
        try:
            connection = session.connection()
            with _short_lock_wait(connection):
                connection.execute(statement)
            session.commit()
        except SQLAlchemyError as exc:  # locked, busy, gone: the note waits for the next request
            session.rollback()
            logger.warning("Could not note the use of %s: %s", what, exc)
        else:
            if on_written is not None:
                on_written()


@contextmanager
def _short_lock_wait(conn: Connection) -> Iterator[None]:
    """Wait at most BOOKKEEPING_WAIT_MS for a lock on this connection, then as usual again."""
    if conn.dialect.name == "postgresql":
        wait = f"lock_timeout = '{BOOKKEEPING_WAIT_MS}ms'"
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            conn.execute(text(f"SET LOCAL {wait}"))
            yield  # SET LOCAL ends with the transaction
            return
        # A GET's connection reads in autocommit (get_session), where SET LOCAL does
        # nothing: a session setting, reset after.
        conn.execute(text(f"SET {wait}"))
        try:
            yield
        finally:
            conn.execute(text("RESET lock_timeout"))
        return
    usual = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
    conn.exec_driver_sql(f"PRAGMA busy_timeout = {BOOKKEEPING_WAIT_MS}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(usual or 0)}")
