"""Database plumbing: declarative base, UTC-aware timestamps, engine and sessions.

Plain SQLAlchemy rather than Flask-SQLAlchemy: the CLI, the bench scripts and
the web app share one `sessionmaker` without needing an app context, and the
typed 2.0 API is used directly.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask, current_app, g
from sqlalchemy import DateTime, Engine, Float, MetaData, create_engine, event, text
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
    start, end = list(element.clauses)
    return (
        f"CAST(EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - "  # type: ignore[attr-defined]
        f"{compiler.process(start, **kw)})) AS DOUBLE PRECISION)"  # type: ignore[attr-defined]
    )


def make_engine(url: str) -> Engine:
    """Create the engine, with SQLite tuned for a small multi-user web app."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 15})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: object, connection_record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class CatalogSession(Session):
    """The app's session class; the audit trail hooks onto it (see catalog.audit.service).

    `info["actor"]` holds the user making the change, `info["actor_label"]` a
    name for changes with no user (the CLI, migrations, imports).
    """


def make_sessionmaker(engine: Engine) -> sessionmaker[CatalogSession]:
    return sessionmaker(engine, class_=CatalogSession, expire_on_commit=False)


def init_app(app: Flask) -> None:
    engine = make_engine(str(app.config["DATABASE_URL"]))
    app.extensions["catalog.engine"] = engine
    app.extensions["catalog.sessionmaker"] = make_sessionmaker(engine)
    app.teardown_appcontext(close_session)


def get_session() -> Session:
    """The request's session, opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["catalog.sessionmaker"]()
    return g.db_session


def close_session(exc: BaseException | None = None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        if exc is not None:
            session.rollback()
        session.close()


def ping(engine: Engine) -> bool:
    """True when a trivial query answers; used by /healthz."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False
