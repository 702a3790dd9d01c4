"""Fault drills: the database refused, dropped, renamed, silent, locked or broken on disk.

Each drill breaks the database the way production does, then asserts what a
user and a monitor see: a page, an API call and /healthz answer 503 with
`Retry-After` and a message saying the database is unavailable, within a
bound (never a bare 500, never a hang); nothing sent meanwhile is half
written; and once the database is back, the next requests succeed by
themselves.

The PostgreSQL drills reach the server through a small TCP relay on
127.0.0.1 that can refuse, forward or swallow connections, or use a scratch
database renamed away or closed to connections. No traffic leaves the machine.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers.accounts import make_user, signed_in_client, start_web_session
from helpers.environment import PG_URL, scratch_pg_database, skip_or_fail
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from catalog import create_app
from catalog.auth.models import ApiToken
from catalog.incidents.models import Incident
from tests.factories import api_payload, form_payload

BOUND_SECONDS = 10  # "does not hang": connect and lock waits are a few seconds each
UNAVAILABLE = "database is unavailable"
BUSY = "database is busy"


# ---- helpers -------------------------------------------------------------------------


def _app(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **extra: object):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CATALOG_INSTANCE_PATH", str(tmp_path / "instance"))
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "SECRET_KEY": "test-secret",
            "WTF_CSRF_ENABLED": False,
            "SERVER_NAME": "catalog.test",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            **extra,
        }
    )


def _timed(call):  # type: ignore[no-untyped-def]
    start = time.monotonic()
    response = call()
    return response, time.monotonic() - start


def assert_unavailable(response, elapsed: float, message: str = UNAVAILABLE) -> None:  # type: ignore[no-untyped-def]
    """503, Retry-After, the message in the body the request asked for, within the bound."""
    assert elapsed < BOUND_SECONDS, f"answered after {elapsed:.1f} s"
    assert response.status_code == 503, response.get_data(as_text=True)[:500]
    assert int(response.headers["Retry-After"]) > 0
    if response.request.path.startswith("/api/"):
        error = response.get_json()["error"]
        assert error["code"] == "database_unavailable"
        assert message in error["message"]
    elif response.request.path == "/healthz":
        body = response.get_json()
        assert body["status"] == "degraded"
        assert "Database unavailable" in body["message"]
    else:
        page = response.get_data(as_text=True)
        assert response.mimetype == "text/html"
        assert "Database unavailable" in page
        assert message in page.replace("\n", " ")
        assert "Sign out" not in page  # drawn without loading the user from the database


def drill_unavailable(client, message: str = UNAVAILABLE) -> None:  # type: ignore[no-untyped-def]
    """A page, an API read, an API write and the health check, all while the database is down."""
    for call in (
        lambda: client.get("/incidents/"),
        lambda: client.get("/api/v1/incidents"),
        lambda: client.post("/api/v1/incidents", json=api_payload(title="During the outage")),
        lambda: client.get("/healthz"),
    ):
        assert_unavailable(*_timed(call), message=message)


def assert_serving(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/incidents/").status_code == 200
    assert client.get("/api/v1/incidents").status_code == 200
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.get_json() == {"status": "ok", "database": "ok"}


def count_incidents(url: str, title: str | None = None) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            query = select(func.count()).select_from(Incident)
            if title is not None:
                query = query.where(Incident.title == title)
            return conn.scalar(query) or 0
    finally:
        engine.dispose()


# ---- PostgreSQL: a relay that refuses, forwards or never answers ------------------------


class Relay:
    """A TCP relay on 127.0.0.1 to the test PostgreSQL server, with a switch.

    `forward`: a plain relay. `silent`: accepts connections and never answers
    (a blackholed host). `refuse()`: nothing listens on the port any more.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.mode = "forward"
        self.held: list[socket.socket] = []
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self.port = 0
        self.listen()

    def listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.1)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._stop.clear()
        self._thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._thread.start()

    def refuse(self) -> None:
        self._stop.set()
        self._thread.join()
        assert self._listener is not None
        self._listener.close()
        self.drop()

    def drop(self) -> None:
        for sock in self.held:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self.held.clear()

    def close(self) -> None:
        if not self._stop.is_set():
            self.refuse()

    def _accept(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            self.held.append(conn)
            if self.mode == "silent":
                continue  # accepted, never read, never answered
            upstream = socket.create_connection(self.target)
            self.held.append(upstream)
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass


@pytest.fixture
def pg_scratch() -> Iterator[str]:
    if not PG_URL:
        skip_or_fail("the PostgreSQL drills need CATALOG_TEST_DATABASE_URL")
    with scratch_pg_database("catalog_drill") as url:
        yield url


@pytest.fixture
def pg_admin() -> Iterator:  # type: ignore[type-arg]
    """A second connection to the server, for the DBA's side of a drill."""
    assert PG_URL
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


@pytest.fixture
def relay(pg_scratch: str) -> Iterator[tuple[Relay, str]]:
    server = make_url(pg_scratch)
    r = Relay((server.host or "127.0.0.1", server.port or 5432))
    try:
        yield r, server.set(port=r.port).render_as_string(hide_password=False)
    finally:
        r.close()


def test_refused_connection_answers_503_and_service_resumes(relay, tmp_path, monkeypatch):
    r, url = relay
    app = _app(url, tmp_path, monkeypatch)
    client = signed_in_client(app, "admin")
    assert_serving(client)

    r.refuse()  # the server is gone: nothing listens on its port
    drill_unavailable(client)
    # Even a 404 page names the signed-in user, who is loaded from the database.
    assert_unavailable(*_timed(lambda: client.get("/no-such-page")))

    r.listen()  # back on the same port
    assert_serving(client)
    assert count_incidents(url) == 0  # the write sent during the outage left nothing
    assert client.post("/api/v1/incidents", json=api_payload()).status_code == 201
    app.extensions["catalog.engine"].dispose()


def test_host_that_never_answers_gets_503_within_seconds(relay, tmp_path, monkeypatch):
    r, url = relay
    app = _app(url, tmp_path, monkeypatch)
    client = signed_in_client(app, "admin")
    assert_serving(client)
    app.extensions["catalog.engine"].dispose()  # the pool's connections went with the host

    r.mode = "silent"  # TCP accepts; PostgreSQL never says a word
    drill_unavailable(client)
    assert r.held, "the drill did reach the silent host"

    r.drop()
    r.mode = "forward"
    assert_serving(client)
    assert count_incidents(url) == 0
    app.extensions["catalog.engine"].dispose()


def _wait_for_backends_to_end(pg_admin, pids: list[int]) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 10
    alive = text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)")
    while pg_admin.execute(alive, {"pids": pids}).scalar():
        assert time.monotonic() < deadline, "the terminated backends did not end"
        time.sleep(0.02)


def test_a_pooled_connection_is_checked_without_a_round_trip_until_the_server_ends_it(
    pg_scratch, pg_admin
):
    from catalog.db import make_engine

    engine = make_engine(pg_scratch)
    try:
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
            conn.commit()  # the last statement the server saw on it
        last_statement = text("SELECT query FROM pg_stat_activity WHERE pid = :pid")
        with engine.connect() as conn:  # the same pooled connection, checked out again
            assert pg_admin.execute(last_statement, {"pid": pid}).scalar() == "COMMIT"  # no ping
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() == pid

        pg_admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        _wait_for_backends_to_end(pg_admin, [pid])
        with engine.connect() as conn:  # the dead one is noticed and replaced
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != pid
    finally:
        engine.dispose()


def test_dropped_connections_are_replaced_and_a_closed_database_answers_503(
    pg_scratch, pg_admin, tmp_path, monkeypatch
):
    name = make_url(pg_scratch).database
    app = _app(pg_scratch, tmp_path, monkeypatch)
    client = signed_in_client(app, "admin")
    assert_serving(client)
    terminate = text(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = :name AND pid <> pg_backend_pid()"
    )

    # The server drops every connection: the pool must not hand out a dead one. Each
    # pooled connection is checked without a round trip (its socket has hung up), so
    # the drill waits for the server to have ended them, as a restart has by the time
    # anyone asks: a connection ended mid-request fails that request however it is
    # checked, which is what the 503 drills below are for.
    others = "SELECT pid FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()"
    pids = pg_admin.execute(text(others), {"name": name}).scalars().all()
    assert pg_admin.execute(terminate, {"name": name}).scalar() >= 1
    _wait_for_backends_to_end(pg_admin, pids)
    assert_serving(client)
    assert_serving(client)  # and again, with the pool holding only new connections

    # Dropped and not let back in (a restart, a failover): 503 until it is over.
    pg_admin.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
    try:
        pg_admin.execute(terminate, {"name": name})
        drill_unavailable(client)
    finally:
        pg_admin.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
    assert_serving(client)
    assert count_incidents(pg_scratch) == 0
    app.extensions["catalog.engine"].dispose()


def test_renamed_database_answers_503_until_renamed_back(
    pg_scratch, pg_admin, tmp_path, monkeypatch
):
    name = make_url(pg_scratch).database
    app = _app(pg_scratch, tmp_path, monkeypatch)
    client = signed_in_client(app, "admin")
    assert_serving(client)

    pg_admin.execute(  # a database with sessions cannot be renamed: the DBA ends them
        text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
        {"name": name},
    )
    pg_admin.execute(text(f'ALTER DATABASE "{name}" RENAME TO "{name}_away"'))
    try:
        drill_unavailable(client)
    finally:
        pg_admin.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :away"),
            {"away": f"{name}_away"},
        )
        pg_admin.execute(text(f'ALTER DATABASE "{name}_away" RENAME TO "{name}"'))
    assert_serving(client)
    assert count_incidents(pg_scratch) == 0
    app.extensions["catalog.engine"].dispose()


def test_statement_stuck_behind_a_lock_is_cut_off_by_the_statement_timeout(
    pg_scratch, tmp_path, monkeypatch
):
    """A query that waits (here: on a DBA's table lock) ends at the timeout with 503."""
    app = _app(pg_scratch, tmp_path, monkeypatch, DB_TIMEOUT_SECONDS=2)
    client = signed_in_client(app, "admin")
    assert_serving(client)
    locker = create_engine(pg_scratch)
    try:
        with locker.connect() as conn:
            conn.execute(text("LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE"))
            # A list page read before the lock is kept under the data version and still
            # served (exactly: nothing can change while the table is locked); a new one
            # has to read the table.
            assert client.get("/incidents/").status_code == 200
            for call in (
                lambda: client.get("/incidents/?q=behind-a-lock"),
                lambda: client.get("/api/v1/incidents?q=behind-a-lock"),
            ):
                assert_unavailable(*_timed(call), message=BUSY)
            conn.rollback()
        assert_serving(client)
    finally:
        locker.dispose()
        app.extensions["catalog.engine"].dispose()


# ---- SQLite: a writer holding the lock --------------------------------------------------


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    import shutil

    path = tmp_path / "catalog.sqlite"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@contextmanager
def write_lock(url: str) -> Iterator[sqlite3.Connection]:
    """Another process's writer: holds SQLite's write lock until the block ends."""
    conn = sqlite3.connect(make_url(url).database, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("BEGIN IMMEDIATE")
        yield conn
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def test_writer_blocked_by_another_gets_503_then_succeeds(sqlite_url, tmp_path, monkeypatch):
    app = _app(sqlite_url, tmp_path, monkeypatch, DB_TIMEOUT_SECONDS=2)
    client = signed_in_client(app, "editor")
    with write_lock(sqlite_url):
        response, elapsed = _timed(
            lambda: client.post("/incidents/new", data=form_payload(title="From the form"))
        )
        assert_unavailable(response, elapsed, message=BUSY)
        response, elapsed = _timed(
            lambda: client.post("/api/v1/incidents", json=api_payload(title="From the API"))
        )
        assert_unavailable(response, elapsed, message=BUSY)
    assert count_incidents(sqlite_url) == 0  # nothing half-written

    assert (
        client.post("/incidents/new", data=form_payload(title="From the form")).status_code == 302
    )
    assert (
        client.post("/api/v1/incidents", json=api_payload(title="From the API")).status_code == 201
    )
    assert count_incidents(sqlite_url, "From the form") == 1
    assert count_incidents(sqlite_url, "From the API") == 1
    app.extensions["catalog.engine"].dispose()


def test_reads_succeed_while_another_process_holds_the_write_lock(
    sqlite_url, tmp_path, monkeypatch
):
    """A token's last-use note is bookkeeping: it is skipped, the read is answered."""
    app = _app(sqlite_url, tmp_path, monkeypatch)
    client = signed_in_client(app, "viewer")
    engine = app.extensions["catalog.engine"]
    old = datetime.now(UTC) - timedelta(days=3)
    with engine.begin() as conn:
        conn.execute(ApiToken.__table__.update().values(last_used_at=old))

    with write_lock(sqlite_url):
        for path in ("/api/v1/incidents", "/incidents/", "/api/v1/vectors"):
            response, elapsed = _timed(lambda path=path: client.get(path))
            assert response.status_code == 200, response.get_data(as_text=True)[:300]
            assert elapsed < BOUND_SECONDS
    with engine.connect() as conn:
        assert conn.scalar(select(ApiToken.last_used_at)) == old  # not recorded, not a failure

    assert client.get("/api/v1/incidents").status_code == 200
    with engine.connect() as conn:
        assert conn.scalar(select(ApiToken.last_used_at)) > old  # recorded once it could be
    engine.dispose()


def test_a_get_on_postgresql_skips_its_note_when_a_writer_holds_the_row(
    pg_scratch, tmp_path, monkeypatch
):
    """GETs read in autocommit on PostgreSQL (db.get_session): the token's last-use note
    still waits at most 200 ms for a lock, is skipped, and leaves the pooled connection's
    lock timeout as it was."""
    app = _app(pg_scratch, tmp_path, monkeypatch)
    client = signed_in_client(app, "viewer")
    engine = app.extensions["catalog.engine"]
    old = datetime.now(UTC) - timedelta(days=3)
    with engine.begin() as conn:
        conn.execute(ApiToken.__table__.update().values(last_used_at=old))
    with engine.connect() as holder:
        holder.execute(text("SELECT id FROM api_tokens FOR UPDATE"))  # a writer elsewhere
        response, elapsed = _timed(lambda: client.get("/api/v1/incidents"))
        assert response.status_code == 200 and elapsed < BOUND_SECONDS
        holder.rollback()
    with engine.connect() as conn:
        assert conn.scalar(select(ApiToken.last_used_at)) == old  # skipped, not waited for
        assert conn.scalar(text("SHOW lock_timeout")) == "0"
    assert client.get("/api/v1/incidents").status_code == 200
    with engine.connect() as conn:
        assert conn.scalar(select(ApiToken.last_used_at)) > old  # recorded once it could be
    engine.dispose()


def _csv(rows: int) -> bytes:
    lines = ["title,severity,service,started_at,detected_at,recovered_at,vectors"]
    lines += [
        f"Drill {i},SEV3,svc-{i % 7},2026-01-01T00:{i % 60:02d}:00Z,"
        "2026-01-01T01:00:00Z,2026-01-01T02:00:00Z,data-drift"
        for i in range(rows)
    ]
    return "\n".join(lines).encode()


def test_dry_run_import_lets_other_writers_through(sqlite_url, tmp_path, monkeypatch):
    """A long dry run holds no write lock: a create meanwhile succeeds at once."""
    app = _app(sqlite_url, tmp_path, monkeypatch, DB_TIMEOUT_SECONDS=2)
    editor = signed_in_client(app, "editor")
    importer = signed_in_client(app, "editor", "importer@example.com")
    outcome: dict[str, object] = {}
    started = threading.Event()

    def dry_run() -> None:
        started.set()
        outcome["response"] = importer.post(
            "/api/v1/imports?format=csv&dry_run=true", data=_csv(30_000)
        )

    worker = threading.Thread(target=dry_run)
    worker.start()
    started.wait()
    created = editor.post("/api/v1/incidents", json=api_payload(title="Meanwhile"))
    created_during_run = worker.is_alive()
    probes = []  # another process's writer: may it take the lock while the dry run goes on?
    probe = sqlite3.connect(make_url(sqlite_url).database, isolation_level=None, timeout=0.1)
    try:
        while worker.is_alive():
            try:
                probe.execute("BEGIN IMMEDIATE")
                probe.execute("ROLLBACK")
                probes.append("ok")
            except sqlite3.OperationalError as exc:
                probes.append(str(exc))
            time.sleep(0.05)
    finally:
        probe.close()
        worker.join()

    assert created.status_code == 201, created.get_data(as_text=True)[:300]
    assert created_during_run, "the dry run ended before the create: make the file longer"
    assert probes and set(probes) == {"ok"}, probes
    response = outcome["response"]
    assert response.status_code == 200
    assert response.get_json()["created"] == 30_000
    assert count_incidents(sqlite_url) == 1  # the one created meanwhile; the dry run wrote none
    app.extensions["catalog.engine"].dispose()


# ---- SQLite: a damaged -shm file, in a server process of its own -------------------------

SERVER = """
import sys
from werkzeug.serving import make_server
from catalog import create_app

app = create_app({"DATABASE_URL": sys.argv[1], "SECRET_KEY": sys.argv[2]})
server = make_server("127.0.0.1", 0, app, threaded=True)
print(server.server_port, flush=True)
server.serve_forever()
"""


@pytest.fixture
def live_sqlite(sqlite_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """The app served by a process of its own (a SIGBUS there must not kill pytest)."""
    import subprocess
    import sys

    secret = "s" * 64  # long enough for a production start
    app = _app(sqlite_url, tmp_path, monkeypatch, SECRET_KEY=secret)
    user_id, _, token = make_user(app, "editor")
    cookie = app.session_interface.get_signing_serializer(app).dumps(  # type: ignore[attr-defined]
        {"_user_id": start_web_session(app, user_id), "_fresh": True}
    )
    app.extensions["catalog.engine"].dispose()
    log = open(tmp_path / "server.log", "w+")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, sqlite_url, secret],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env={**os.environ, "CATALOG_INSTANCE_PATH": str(tmp_path / "instance")},
    )
    try:
        port = int(process.stdout.readline())  # type: ignore[union-attr]
        yield Live(process, port, token, cookie, log)
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()  # type: ignore[union-attr]
        log.close()


class Live:
    def __init__(self, process, port: int, token: str, cookie: str, log) -> None:  # type: ignore[no-untyped-def]
        self.process, self.port, self.token, self.cookie, self.log = (
            process,
            port,
            token,
            cookie,
            log,
        )

    def request(self, method: str, path: str, body: dict | None = None):  # type: ignore[no-untyped-def,type-arg]
        """(status, headers, text) from the live server, within the bound."""
        import http.client
        import json

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=BOUND_SECONDS)
        headers = {"Cookie": f"session={self.cookie}"}
        if path.startswith("/api/"):
            headers = {"Authorization": f"Bearer {self.token}"}
        payload = None
        if body is not None:
            payload = json.dumps(body)
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            return response.status, response.headers, response.read().decode()
        finally:
            conn.close()

    def alive(self) -> bool:
        return self.process.poll() is None

    def logged(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()


def test_truncated_shm_file_is_mended_instead_of_killing_the_server(live_sqlite, sqlite_url):
    shm = make_url(sqlite_url).database + "-shm"
    for path in ("/healthz", "/api/v1/incidents", "/incidents/"):
        assert live_sqlite.request("GET", path)[0] == 200
    assert os.path.getsize(shm) > 0  # the server has the WAL index mapped

    os.truncate(shm, 0)  # what a stray `> catalog.sqlite-shm` or a bad cleanup script does
    for path in ("/healthz", "/api/v1/incidents", "/incidents/"):
        status, _, body = live_sqlite.request("GET", path)
        assert status == 200, body[:300]
    assert live_sqlite.request("POST", "/api/v1/incidents", api_payload())[0] == 201
    assert live_sqlite.alive(), f"server died: {live_sqlite.process.returncode}"
    assert "-shm was cut to 0 bytes" in live_sqlite.logged()
    assert count_incidents(sqlite_url) == 1


@pytest.mark.parametrize(
    ("page_size", "wal_bytes", "shm_bytes", "grown_to"),
    [
        (4096, 4 << 20, 0, 32768),  # a usual WAL: its index fits the first region
        (512, 3 << 20, 0, 65536),  # 5,868 frames of 512 bytes: two regions
        (512, 3 << 20, 32768, 65536),  # one region left of the two it needs
        (512, 2 << 20, 32768, 32768),  # small enough not to read the WAL at all
    ],
)
def test_a_cut_shm_is_grown_to_the_index_its_wal_needs(
    tmp_path, caplog, page_size, wal_bytes, shm_bytes, grown_to
):
    from catalog.db import sqlite_files_problem

    database = tmp_path / "catalog.sqlite"
    database.write_bytes(b"")
    wal_header = (
        (0x377F0682).to_bytes(4, "big")  # the WAL's magic number
        + (3007000).to_bytes(4, "big")  # its format version
        + page_size.to_bytes(4, "big")
        + bytes(20)
    )
    with open(f"{database}-wal", "wb") as wal:
        wal.write(wal_header)
        wal.truncate(wal_bytes)
    with open(f"{database}-shm", "wb") as shm:
        shm.truncate(shm_bytes)
    assert sqlite_files_problem(str(database)) is None
    assert os.path.getsize(f"{database}-shm") == grown_to
    assert ("grown back" in caplog.text) == (grown_to != shm_bytes)
    assert sqlite_files_problem(str(database)) is None  # and a second look leaves it be
    assert os.path.getsize(f"{database}-shm") == grown_to


def test_shm_that_is_not_a_file_answers_503_until_repaired(live_sqlite, sqlite_url):
    shm = make_url(sqlite_url).database + "-shm"
    for path in ("/healthz", "/api/v1/incidents"):  # the API's read keeps its connection
        assert live_sqlite.request("GET", path)[0] == 200
    os.remove(shm)
    os.mkdir(shm)  # nothing can share a WAL index with this process now
    try:
        for method, path, body in (
            ("GET", "/incidents/", None),
            ("GET", "/api/v1/incidents", None),
            ("POST", "/api/v1/incidents", api_payload(title="While broken")),
            ("GET", "/healthz", None),
        ):
            (status, headers, text_), elapsed = _timed(
                lambda m=method, p=path, b=body: live_sqlite.request(m, p, b)
            )
            assert elapsed < BOUND_SECONDS
            assert status == 503, text_[:300]
            assert int(headers["Retry-After"]) > 0
            assert "navailable" in text_
    finally:
        os.rmdir(shm)
    assert live_sqlite.alive()
    assert "catalog.sqlite-shm is not a regular file" in live_sqlite.logged()
    for path in ("/healthz", "/api/v1/incidents", "/incidents/"):
        assert live_sqlite.request("GET", path)[0] == 200
    assert count_incidents(sqlite_url, "While broken") == 0
