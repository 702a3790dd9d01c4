"""Database plumbing: declarative base, UTC-aware timestamps, engine and sessions.

Plain SQLAlchemy rather than Flask-SQLAlchemy: the CLI, the bench scripts and
the web app share one `sessionmaker` without needing an app context, and the
typed 2.0 API is used directly.
"""

from __future__ import annotations

import logging
import os
import select
import sqlite3
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    Executable,
    Float,
    MetaData,
    create_engine,
    event,
    make_url,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Store naive UTC, hand back aware UTC, on every backend.

    SQLite has no time zone type and PostgreSQL's `timestamptz` would hand back
    the server zone; storing UTC without zone keeps both identical and makes a
    naive value passed in by mistake an error instead of a silent shift.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


class seconds_between(FunctionElement[float]):  # noqa: N801 - reads like SQL
    """`end - start` in seconds as a float, compiled per dialect."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element: seconds_between, compiler: object, **kw: object) -> str:
    start, end = list(element.clauses)
    return (
        f"((julianday({compiler.process(end, **kw)}) - "  # type: ignore[attr-defined]
        f"julianday({compiler.process(start, **kw)})) * 86400.0)"  # type: ignore[attr-defined]
    )


@compiles(seconds_between, "postgresql")
def _seconds_between_pg(element: seconds_between, compiler: object, **kw: object) -> str:
    # date_part returns double precision itself; EXTRACT returns numeric (PostgreSQL 14+),
    # whose arithmetic and cast cost a metrics read over 50,000 incidents 12 % of its time.
    start, end = list(element.clauses)
    return (
        f"date_part('epoch', {compiler.process(end, **kw)} - "  # type: ignore[attr-defined]
        f"{compiler.process(start, **kw)})"  # type: ignore[attr-defined]
    )


def one_of(column: str, values: tuple[str, ...]) -> str:
    """A CHECK constraint's text: `column` holds one of `values` (a declared choice)."""
    return f"{column} IN ({','.join(repr(v) for v in values)})"


CONNECT_TIMEOUT_SECONDS = 3
"""Longest wait for a PostgreSQL server to accept a connection (refused, or never answering)."""
SQLITE_BUSY_SECONDS = 5
"""Longest wait of a SQLite writer for another one; then the request is answered 503."""
POOL_TIMEOUT_SECONDS = 5
"""Longest wait for a free connection in the pool."""


def make_engine(url: str, timeout_seconds: int = 15) -> Engine:
    """Create the engine, with SQLite tuned for a small multi-user web app.

    Every wait on the database is bounded, so a dead, locked or silent
    database turns into a quick 503 instead of a hung request:
    `timeout_seconds` (CATALOG_DB_TIMEOUT_SECONDS) caps a PostgreSQL
    statement; connecting, the pool and a SQLite writer's wait for the lock
    give up after a few seconds (or `timeout_seconds`, if smaller).
    """
    busy = min(SQLITE_BUSY_SECONDS, timeout_seconds)
    if url.startswith("sqlite"):
        database = make_url(url).database
        on_disk = bool(database) and database != ":memory:"
        # An in-memory database gets SQLAlchemy's one-connection-per-thread pool, which
        # never waits for a free connection (and takes no pool_timeout).
        pool = {"pool_timeout": min(POOL_TIMEOUT_SECONDS, busy)} if on_disk else {}
        engine = create_engine(url, connect_args={"timeout": busy}, **pool)
        event.listen(engine, "connect", partial(_sqlite_pragmas, busy_ms=busy * 1000))
        if on_disk:
            event.listen(engine, "checkout", partial(_check_sqlite_files, database))
        return engine
    connect_args: dict[str, object] = {
        "connect_timeout": min(CONNECT_TIMEOUT_SECONDS, timeout_seconds),
        "options": f"-c statement_timeout={timeout_seconds * 1000}",
    }
    query = make_url(url).query
    for name in ("connect_timeout", "options"):  # the URL's own choice wins (e.g. PgBouncer)
        if name in query:
            connect_args.pop(name)
    engine = create_engine(
        url,
        pool_timeout=min(POOL_TIMEOUT_SECONDS, timeout_seconds),
        connect_args=connect_args,
    )
    # A connection the server dropped is replaced, not used (SQLAlchemy's pool_pre_ping,
    # but a round trip only when the socket says something happened).
    event.listen(engine, "checkout", partial(_replace_if_dropped, engine.dialect))
    return engine


_HUNG_UP = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP | select.POLLRDHUP


def _replace_if_dropped(
    dialect: Dialect, dbapi_connection: Any, connection_record: object, proxy: object
) -> None:
    """pool_pre_ping without its round trip on every checkout.

    A pooled connection is idle, so the server has nothing to say on it: its
    socket turns readable only when the server ends it (a restart, a failover,
    pg_terminate_backend, an idle timeout: an error message and end of file).
    Then, and only then, a real ping decides (a late TLS message reads too);
    `DisconnectionError` makes the pool drop the connection and open another.
    The ping on every checkout was a sixth of a cached list request's cost.
    A server that vanishes without a word is caught by the statement's own error,
    as it would be after a ping.
    """
    if dbapi_connection.closed or getattr(dbapi_connection, "broken", False):
        raise DisconnectionError("the connection is closed")
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), _HUNG_UP)
    if not poller.poll(0):
        return
    try:
        dialect.do_ping(dbapi_connection)
    except Exception as error:  # noqa: BLE001 - any failure of the ping: not usable
        raise DisconnectionError("the server ended this connection") from error


def _sqlite_pragmas(dbapi_connection: object, connection_record: object, busy_ms: int) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class DatabaseFilesDamaged(OperationalError):
    """The SQLite file, its -wal or its -shm is not a writable regular file."""

    def __init__(self, problem: str) -> None:
        super().__init__(None, None, sqlite3.OperationalError(problem))


WAL_INDEX_REGION = 32768  # SQLite maps the -shm file in regions of this size
_WAL_HEADER, _WAL_FRAME_HEADER = 32, 24


def sqlite_files_problem(path: str) -> str | None:
    """What is wrong with a SQLite database's files, or None; mends a truncated -shm.

    SQLite maps the -shm file (the WAL index) into every process using the
    database; if something truncates it, the next read of the mapping kills
    the process with SIGBUS, no log line, no answer. Checked before every
    checkout of a connection: a -shm shorter than the index the -wal needs
    is grown back (zeros, which SQLite takes as "rebuild the index from the
    WAL"), and a file that is not a writable regular file makes the request
    a 503 instead of an error deep inside SQLite.
    """
    for suffix in ("", "-wal", "-shm"):
        name = os.path.basename(path) + suffix
        try:
            mode = os.stat(path + suffix).st_mode
        except FileNotFoundError:
            continue  # SQLite creates the -wal and -shm as needed
        if not stat.S_ISREG(mode):
            return f"{name} is not a regular file"
        if not os.access(path + suffix, os.R_OK | os.W_OK):
            return f"{name} is not writable"
    _mend_wal_index(path)
    return None


def _mend_wal_index(path: str) -> None:
    try:
        size = os.path.getsize(path + "-shm")
        wal = os.path.getsize(path + "-wal")
        with open(path + "-wal", "rb") as f:
            header = f.read(_WAL_HEADER)
    except FileNotFoundError:
        return
    page_size = int.from_bytes(header[8:12], "big") if len(header) == _WAL_HEADER else 0
    frames = (wal - _WAL_HEADER) // (page_size + _WAL_FRAME_HEADER) if page_size else 0
    # The index of 4062 frames fits the first region, of 4096 each further one.
    needed = WAL_INDEX_REGION * (1 + max(0, frames - 4062 + 4095) // 4096)
    if size < needed:
        os.truncate(path + "-shm", needed)
        logging.getLogger(__name__).warning(
            "%s-shm was cut to %d bytes (a SIGBUS in waiting); grown back to %d.",
            os.path.basename(path),
            size,
            needed,
        )


def _check_sqlite_files(
    path: str, dbapi_connection: object, connection_record: object, proxy: object
) -> None:
    problem = sqlite_files_problem(path)
    if problem is not None:
        raise DatabaseFilesDamaged(problem)


DATABASE_ERRORS = (DBAPIError, SQLAlchemyTimeoutError)
"""What the database being out of reach raises (unavailable_kind tells it from a bug)."""

# SQLite's primary result codes that mean "the database cannot serve this now"
# (busy, locked, out of memory, read-only, interrupted, I/O error, full, cannot
# open, lock protocol); SQLITE_ERROR (1) is a bad statement or a missing table.
_SQLITE_BUSY = frozenset({5, 6})
_SQLITE_UNAVAILABLE = frozenset({7, 8, 9, 10, 13, 14, 15})


def unavailable_kind(exc: BaseException) -> str | None:
    """`"busy"`, `"unavailable"` or None: is this error the database being out of reach?

    Busy: a SQLite writer waited past the busy timeout, a PostgreSQL statement
    hit its timeout. Unavailable: refused, dropped, renamed, a server that
    never answers, no free connection, a disk fault. None: a real bug, or a
    constraint, which the callers report as they always did.
    """
    if isinstance(exc, SQLAlchemyTimeoutError):
        return "busy"
    if isinstance(exc, DatabaseFilesDamaged):
        return "unavailable"
    if not isinstance(exc, DBAPIError):
        return None
    orig = exc.orig
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        primary = code & 0xFF
        if primary in _SQLITE_BUSY:
            return "busy"
        return "unavailable" if primary in _SQLITE_UNAVAILABLE else None
    if getattr(orig, "sqlstate", None) == "57014":  # query_canceled: statement_timeout
        return "busy"
    if exc.connection_invalidated or isinstance(exc, OperationalError):
        return "unavailable"
    return None


class CatalogSession(Session):
    """The app's session class; the audit trail hooks onto it (see catalog.audit.service).

    `info["actor"]` holds the user making the change, `info["actor_label"]` a
    name for changes with no user (the CLI, migrations, imports).
    """


def make_sessionmaker(engine: Engine) -> sessionmaker[CatalogSession]:
    return sessionmaker(engine, class_=CatalogSession, expire_on_commit=False)


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
            logging.getLogger(__name__).warning("Could not note the use of %s: %s", what, exc)
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


def ping(engine: Engine) -> str | None:
    """None when a trivial query answers, else what went wrong (for /healthz).

    Bounded by the engine's connect and statement timeouts.
    """
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return _reason(exc)


def _reason(exc: BaseException) -> str:
    """The driver's first line, without the URL or password it may quote."""
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [orig.__class__.__name__])[0]
    return first[:200]
