"""The data versions that database triggers move on every write (migrations 0004, 0008, 0013).

Anything kept in a process (reports, list pages, who a token is) is filed under
the version of what it was made from and is right while that version holds. The
triggers catch every writer (the ORM, bulk loads, imports, psql), and every
process reads the same rows, so several gunicorn workers never disagree with
the database or with each other. Every request reads them before anything it
keeps; a GET does so on a connection its process keeps (`HeldReader`).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from weakref import WeakSet

from flask import current_app, g, has_request_context, request
from sqlalchemy import BigInteger, Column, Connection, Engine, Integer, Table, event, select
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Session
from sqlalchemy.pool import SingletonThreadPool

from catalog.db import Base, recheck
from catalog.sessions import READ_ONLY_METHODS

data_version = Table(
    "data_version",
    Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("version", BigInteger, nullable=False),
    comment="Bumped by triggers on every write to the tables the metrics read.",
)

data_version_months = Table(
    "data_version_months",
    Base.metadata,
    Column("month", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
    comment="Per UTC month (YYYYMM) of incidents.started_at; bumped by triggers.",
)

data_version_days = Table(
    "data_version_days",
    Base.metadata,
    Column("day", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
    comment="Per UTC day (YYYYMMDD) of incidents.started_at; bumped by triggers.",
)

# data_version rows: what moves each one (the triggers of 0004 and 0008).
DATA = 1  # incidents, their vector links, vectors
VECTORS = 2  # vectors
POSTMORTEMS = 3  # post-mortems
CREDENTIALS = 4  # who a token or user is: role, activity, revocation


@dataclass(frozen=True)
class Versions:
    data: int
    vectors: int
    postmortems: int
    credentials: int


_ALL = select(data_version.c.id, data_version.c.version)


def request_versions(session: Session) -> Versions:
    """`read_versions`, once per GET (or HEAD) request: who the token is and every kept
    value the request looks up share one read (on PostgreSQL a round trip each).

    Only reads: a request that writes must see the versions its own writes moved.
    A write committed by someone else meanwhile is no different from one committed
    just after the request: what the request computes is filed under the older
    version and is, if anything, newer than it, as everywhere in the caches.
    """
    if not has_request_context() or request.method not in READ_ONLY_METHODS:
        return read_versions(session)
    if "catalog_versions" not in g:
        reader = _reader()
        g.catalog_versions = reader.versions() if reader.keeps else read_versions(session)
    return g.catalog_versions  # type: ignore[no-any-return]


def read_versions(session: Session) -> Versions:
    """Every version row in one read."""
    return _versions_from(session.connection())


def _versions_from(connection: Connection) -> Versions:
    return _versions_of(dict(connection.execute(_ALL).all()))  # Core: a third cheaper than ORM


def _versions_of(rows: dict[int, int]) -> Versions:
    return Versions(
        data=int(rows[DATA]),
        vectors=int(rows[VECTORS]),
        postmortems=int(rows[POSTMORTEMS]),
        credentials=int(rows[CREDENTIALS]),
    )


class HeldReader:
    """The versions read of GET requests, on one connection a process keeps checked out.

    Every GET reads the versions first, and a request whose answers are all kept does
    nothing else with the database: taking a connection from the pool and giving it
    back (with its autocommit switched on and off, and its reset) and SQLAlchemy's
    execution around the read cost 311 µs on PostgreSQL, the read on the driver's cursor
    118 µs (in-process); the list API alone served 20 % more. The kept connection is
    checked before each read as the pool checks one it hands out (`catalog.db.recheck`:
    a dropped PostgreSQL connection, damaged SQLite files), and given up on any error,
    so the next request starts from the pool again. One thread at a time uses it; a
    thread that finds it busy reads on a pooled connection of its own. A process forked
    from this one never uses its parent's (nor closes it: the socket is shared).
    Disposing of the engine closes it, as it closes the pool's. The price: a worker
    holds one PostgreSQL connection more than before (docs/deploy.md).

    An in-memory SQLite database keeps nothing here (`keeps` is False): it is one
    connection per thread already, and the request's session is using it.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._sql = str(_ALL.compile(dialect=engine.dialect))
        self._lock = threading.Lock()
        self._held: Connection | None = None
        self.keeps = not isinstance(engine.pool, SingletonThreadPool)
        event.listen(engine, "engine_disposed", lambda _engine: self.close())
        _READERS.add(self)

    def versions(self) -> Versions:
        if not self._lock.acquire(blocking=False):
            with self._engine.connect() as connection:
                return _versions_from(connection)
        try:
            while True:
                connection, reused = self._connection()
                try:
                    return self._read(connection)
                except DBAPIError as error:
                    self._give_up()
                    # A kept connection dropped in a way its check could not see (the
                    # pool would have pinged it) gets one more try, on a new one: a new
                    # connection's error is the answer.
                    if not (reused and error.connection_invalidated):
                        raise
                except BaseException:
                    self._give_up()
                    raise
        finally:
            self._lock.release()

    def _read(self, connection: Connection) -> Versions:
        """On the driver's cursor: SQLAlchemy's execution around a four-row read of a
        fixed statement cost as much as the read. A driver error is raised as
        SQLAlchemy's (which the 503 handlers know), saying whether it was a disconnect."""
        dialect = self._engine.dialect
        dbapi_connection = connection.connection.dbapi_connection
        cursor = None
        try:
            cursor = connection.connection.cursor()
            cursor.execute(self._sql)
            rows = dict(cursor.fetchall())
        except dialect.loaded_dbapi.Error as error:
            raise DBAPIError.instance(
                self._sql,
                None,
                error,
                dialect.loaded_dbapi.Error,
                connection_invalidated=dialect.is_disconnect(error, dbapi_connection, cursor),
                dialect=dialect,
            ) from error
        finally:
            if cursor is not None:
                cursor.close()
        return _versions_of(rows)

    def close(self) -> None:
        with self._lock:
            self._give_up()

    def _connection(self) -> tuple[Connection, bool]:
        """The kept connection (and True), or a new one from the pool (and False)."""
        if self._held is not None:
            try:
                recheck(self._engine, self._held)
                return self._held, True
            except DisconnectionError:  # dropped meanwhile: a new one, as the pool does
                self._give_up()
            except BaseException:
                self._give_up()
                raise
        self._held = self._engine.connect()
        return self._held, False

    def _give_up(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            held.invalidate()  # its state is unknown after an error: not back to the pool
            held.close()

    def _forked(self) -> None:
        """In the child, right after a fork: the parent's connection stays the parent's
        (kept from the garbage collector, whose close would end it for the parent too),
        and the lock starts free whatever a thread of the parent was doing."""
        if self._held is not None:
            _INHERITED.append(self._held)
        self._held = None
        self._lock = threading.Lock()


_READERS: WeakSet[HeldReader] = WeakSet()
_INHERITED: list[Connection] = []


def _after_fork_in_child() -> None:
    for reader in list(_READERS):
        reader._forked()


os.register_at_fork(after_in_child=_after_fork_in_child)
_READER = "catalog.versions_reader"


def _reader() -> HeldReader:
    extensions = current_app.extensions
    reader = extensions.get(_READER)
    if reader is None:  # two threads may both build one; setdefault keeps the first
        reader = extensions.setdefault(_READER, HeldReader(extensions["catalog.engine"]))
    return reader  # type: ignore[no-any-return]
