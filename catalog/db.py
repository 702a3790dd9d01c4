"""Database plumbing: declarative base, UTC-aware timestamps, constructs, engines, errors.

Plain SQLAlchemy rather than Flask-SQLAlchemy: the CLI, the bench scripts and
the web app share one `sessionmaker` without needing an app context, and the
typed 2.0 API is used directly. Nothing here knows Flask: the request's session
is catalog.sessions.
"""

from __future__ import annotations

import logging
import os
import select
import sqlite3
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    Float,
    MetaData,
    create_engine,
    event,
    make_url,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import Pool
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
            _on_checkout(engine, partial(_check_sqlite_files, database))
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
    _on_checkout(engine, partial(_replace_if_dropped, engine.dialect))
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


_CheckoutCheck = Callable[[Any, Any, Any], None]
_checks: WeakKeyDictionary[Pool, list[_CheckoutCheck]] = WeakKeyDictionary()


def _on_checkout(engine: Engine, check: _CheckoutCheck) -> None:
    """Run `check` on every connection the engine's pool hands out, and on `recheck`."""
    event.listen(engine, "checkout", check)
    _checks.setdefault(engine.pool, []).append(check)


def recheck(engine: Engine, connection: Connection) -> None:
    """Check a connection kept checked out as the pool checks one it hands out: the same
    checks (below: a dropped PostgreSQL connection, damaged SQLite files), raising as they
    would there. Called directly rather than through the pool's checkout event: no other
    listener of that event expects a checkout that is not one."""
    for check in _checks.get(engine.pool, ()):
        check(connection.connection.dbapi_connection, None, None)


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
    a 503 instead of an error deep inside SQLite. One `stat` and one `access`
    a file: this runs on every request.
    """
    found: dict[str, os.stat_result] = {}
    for suffix in ("", "-wal", "-shm"):
        name = os.path.basename(path) + suffix
        try:
            status = os.stat(path + suffix)
        except FileNotFoundError:
            continue  # SQLite creates the -wal and -shm as needed
        if not stat.S_ISREG(status.st_mode):
            return f"{name} is not a regular file"
        if not os.access(path + suffix, os.R_OK | os.W_OK):
            return f"{name} is not writable"
        found[suffix] = status
    if "-wal" in found and "-shm" in found:
        database = found.get("")
        _mend_wal_index(
            (path, database.st_dev, database.st_ino) if database else (path, 0, 0),
            wal=found["-wal"].st_size,
            shm=found["-shm"].st_size,
        )
    return None


# A WAL of at most this many bytes holds at most 4062 frames whatever its page size
# (512 bytes at the least), so its index fits the first region.
_ONE_REGION_WAL = _WAL_HEADER + 4062 * (512 + _WAL_FRAME_HEADER)
# Page size by database (path, device, inode), from its WAL header: fixed for good once a
# database is in WAL mode (SQLite refuses to change it there), so read once a process; a
# database file put in its place is another inode.
_page_sizes: dict[tuple[str, int, int], int] = {}
_PAGE_SIZES = frozenset(2**n for n in range(9, 17))


def _mend_wal_index(database: tuple[str, int, int], *, wal: int, shm: int) -> None:
    if shm >= WAL_INDEX_REGION and wal <= _ONE_REGION_WAL:
        return  # the usual case, decided without reading the WAL
    path = database[0]
    page_size = _page_sizes.get(database, 0)
    if not page_size:
        try:
            with open(path + "-wal", "rb") as f:
                header = f.read(_WAL_HEADER)
        except FileNotFoundError:
            return
        read = int.from_bytes(header[8:12], "big") if len(header) == _WAL_HEADER else 0
        if read in _PAGE_SIZES:  # a WAL being created may not have its header yet
            page_size = _page_sizes[database] = read
    frames = (wal - _WAL_HEADER) // (page_size + _WAL_FRAME_HEADER) if page_size else 0
    # The index of 4062 frames fits the first region, of 4096 each further one.
    needed = WAL_INDEX_REGION * (1 + max(0, frames - 4062 + 4095) // 4096)
    if shm < needed:
        os.truncate(path + "-shm", needed)
        logging.getLogger(__name__).warning(
            "%s-shm was cut to %d bytes (a SIGBUS in waiting); grown back to %d.",
            os.path.basename(path),
            shm,
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
