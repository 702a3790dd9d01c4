"""The data versions that database triggers move on every write (migrations 0004, 0008).

Anything kept in a process (reports, list pages, who a token is) is filed under
the version of what it was made from and is right while that version holds. The
triggers catch every writer (the ORM, bulk loads, imports, psql), and every
process reads the same rows, so several gunicorn workers never disagree with
the database or with each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, has_request_context, request
from sqlalchemy import BigInteger, Column, Integer, Table, select
from sqlalchemy.orm import Session

from catalog.db import Base
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
        g.catalog_versions = read_versions(session)
    return g.catalog_versions  # type: ignore[no-any-return]


def read_versions(session: Session) -> Versions:
    """Every version row in one read."""
    rows = dict(session.connection().execute(_ALL).all())  # Core: a third cheaper than ORM
    return Versions(
        data=int(rows[DATA]),
        vectors=int(rows[VECTORS]),
        postmortems=int(rows[POSTMORTEMS]),
        credentials=int(rows[CREDENTIALS]),
    )
