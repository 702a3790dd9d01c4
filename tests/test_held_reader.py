"""The versions read of GET requests on a connection each process keeps (catalog.data_versions).

What keeping it must not cost: a write made elsewhere is seen by the very next
read; a connection the server dropped, or one that fails, is replaced without
the user seeing an error; a second thread, a forked child or a disposed engine
never shares or leaks it.
"""

from __future__ import annotations

import os
import threading
import time

import pytest
from factories import api_payload
from helpers.accounts import make_user
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from catalog import create_app
from catalog.data_versions import _INHERITED, HeldReader, read_versions


def _list(app, token):  # type: ignore[no-untyped-def]
    response = app.test_client().get(
        "/api/v1/incidents", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()


def _reader(app) -> HeldReader:  # type: ignore[no-untyped-def]
    return app.extensions["catalog.versions_reader"]  # type: ignore[no-any-return]


def _checkins(app) -> list[object]:  # type: ignore[no-untyped-def]
    """Connections given back to the pool: every one a request takes from it is, by the
    request's end; the kept one never is."""
    seen: list[object] = []
    event.listen(app.extensions["catalog.engine"], "checkin", lambda *args: seen.append(1))
    return seen


@pytest.fixture
def other_worker(app_config):  # type: ignore[no-untyped-def]
    application = create_app(dict(app_config))
    yield application
    application.extensions["catalog.engine"].dispose()


def test_a_kept_answer_costs_no_checkout_and_a_write_elsewhere_shows_at_once(app, other_worker):
    _, _, token = make_user(app, "editor")
    _list(app, token)
    _list(app, token)  # kept now: who the token is, and the answer
    checkins = _checkins(app)
    assert _list(app, token)["total"] == 0
    assert checkins == []  # the versions were read on the kept connection, nothing else

    created = other_worker.test_client().post(
        "/api/v1/incidents",
        json=api_payload(title="Written by the other worker"),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    assert [i["title"] for i in _list(app, token)["items"]] == ["Written by the other worker"]


def test_a_connection_the_server_dropped_is_replaced_without_an_error(app):
    _, _, token = make_user(app, "viewer")
    _list(app, token)
    held = _reader(app)._held
    assert held is not None
    if app.extensions["catalog.engine"].dialect.name == "postgresql":
        # A restart, a failover. In autocommit: within one transaction pg_stat_activity
        # keeps showing what it showed first.
        autocommit = app.extensions["catalog.engine"].execution_options(
            isolation_level="AUTOCOMMIT"
        )
        with autocommit.connect() as conn:
            ended = (
                conn.execute(
                    text(
                        # In the select list, so only the rows the WHERE keeps are ended.
                        "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
                .scalars()
                .all()
            )
            deadline = time.monotonic() + 10
            alive = text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)")
            while conn.execute(alive, {"pids": ended}).scalar():
                assert time.monotonic() < deadline, "the terminated backends did not end"
                time.sleep(0.02)
    else:  # what a dead socket is to SQLite: a closed handle
        held.connection.dbapi_connection.close()  # type: ignore[union-attr]
    assert _list(app, token)["total"] == 0
    assert _reader(app)._held is not held


def test_a_drop_its_check_cannot_see_gets_one_more_try_on_a_new_connection(app, monkeypatch):
    """The check before each read is a poll; a connection can still fail on the read."""
    _, _, token = make_user(app, "viewer")
    _list(app, token)
    held = _reader(app)._held
    assert held is not None
    monkeypatch.setattr("catalog.data_versions.recheck", lambda engine, connection: None)
    dbapi = held.connection.dbapi_connection
    dbapi.close()  # type: ignore[union-attr]
    assert _list(app, token)["total"] == 0
    assert _reader(app)._held is not held


def test_an_error_on_a_new_connection_is_the_answer_and_the_connection_is_given_up(app):
    reader = HeldReader(app.extensions["catalog.engine"])
    with app.app_context():
        versions = reader.versions()
    held = reader._held
    assert held is not None
    with app.extensions["catalog.engine"].begin() as conn:
        conn.execute(text("ALTER TABLE data_version RENAME TO data_version_away"))
    try:
        reader._give_up()  # a new connection: the error is the database's answer
        with pytest.raises(DBAPIError, match="data_version"):
            reader.versions()
        assert reader._held is None
    finally:
        with app.extensions["catalog.engine"].begin() as conn:
            conn.execute(text("ALTER TABLE data_version_away RENAME TO data_version"))
    assert reader.versions() == versions


def test_a_thread_that_finds_it_busy_reads_on_a_connection_of_its_own(app):
    reader = HeldReader(app.extensions["catalog.engine"])
    session = app.extensions["catalog.sessionmaker"]()
    try:
        expected = read_versions(session)
    finally:
        session.close()
    reader._lock.acquire()
    try:
        answers: list[object] = []
        thread = threading.Thread(target=lambda: answers.append(reader.versions()))
        thread.start()
        thread.join(timeout=10)
        assert answers == [expected]
        assert reader._held is None  # it did not take the busy one's place
    finally:
        reader._lock.release()


def test_a_forked_child_neither_uses_nor_closes_its_parents_connection(app):
    engine = app.extensions["catalog.engine"]
    reader = HeldReader(engine)
    parents = reader.versions()
    held = reader._held
    assert held is not None
    reader._lock.acquire()  # as if a thread of the parent were reading at the fork
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through its exit status
        code = 1
        try:
            engine.dispose(close=False)  # SQLAlchemy's advice for a pool after a fork
            fresh = reader.versions()
            code = (
                0 if (fresh == parents and reader._held is not held and held in _INHERITED) else 3
            )
        finally:
            os._exit(code)
    reader._lock.release()
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert reader.versions() == parents and reader._held is held  # still the parent's own
    reader.close()


def test_disposing_of_the_engine_closes_it(app):
    _, _, token = make_user(app, "viewer")
    _list(app, token)
    held = _reader(app)._held
    assert held is not None and not held.closed
    app.extensions["catalog.engine"].dispose()
    assert held.closed
    assert _reader(app)._held is None
    assert _list(app, token)["total"] == 0  # and the next request takes a new one


def test_an_in_memory_database_reads_on_the_requests_own_connection():
    """An in-memory SQLite database lives in one connection per thread (SQLAlchemy's
    SingletonThreadPool), which the request's session is using: nothing to keep, and the
    read must not switch that connection to autocommit under the session."""
    from catalog.data_versions import data_version, request_versions
    from catalog.sessions import get_session

    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "k" * 40})
    engine = app.extensions["catalog.engine"]
    data_version.create(engine)
    with engine.begin() as conn:
        conn.execute(data_version.insert(), [{"id": i, "version": 10 + i} for i in (1, 2, 3, 4)])
    with app.test_request_context("/"):
        session = get_session()
        session.execute(data_version.update().where(data_version.c.id == 1).values(version=99))
        assert request_versions(session).data == 99  # the session's own, uncommitted
        session.rollback()
        assert read_versions(session).data == 11  # and the rollback still undid it
        assert app.extensions["catalog.versions_reader"].keeps is False
    engine.dispose()
