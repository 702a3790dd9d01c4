"""Production serving: gunicorn, secrets, reverse proxies, trusted hosts, deploy-time migrations.

Written as the requests an attacker would send to a server on the internet:
forged X-Forwarded-* headers, a forged Host, a guessable secret.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from helpers.accounts import make_user
from helpers.environment import BACKENDS, REPO, scratch_pg_database
from sqlalchemy import create_engine, func, select, text

from catalog import create_app
from catalog.auth.models import LoginAttempt
from catalog.config import ConfigError

STRONG = "k" * 32


def _wrong_sign_in(client, **environ):  # type: ignore[no-untyped-def]
    return client.post(
        "/login",
        data={"email": "vera@example.com", "password": "not the password"},
        environ_base=environ,
    )


# ---- the secret key ------------------------------------------------------------------


@pytest.mark.parametrize("key", ["x", "changeme", "a" * 31, "é" * 15])
def test_production_refuses_a_short_secret(tmp_path, monkeypatch, key):
    monkeypatch.setenv("CATALOG_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("CATALOG_SECRET_KEY", key)
    with pytest.raises(ConfigError, match="at least 32 random bytes"):
        create_app()


def test_development_and_tests_may_use_a_short_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("CATALOG_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("CATALOG_SECRET_KEY", "dev")
    monkeypatch.setenv("CATALOG_ENV", "development")
    app = create_app()
    assert app.config["SECRET_KEY"] == "dev"
    app.extensions["catalog.engine"].dispose()


def test_the_secret_can_come_from_a_file(tmp_path, monkeypatch):
    secret = tmp_path / "secret_key"
    secret.write_text(STRONG + "\n")
    monkeypatch.setenv("CATALOG_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("CATALOG_SECRET_KEY_FILE", str(secret))
    app = create_app()
    assert app.config["SECRET_KEY"] == STRONG
    app.extensions["catalog.engine"].dispose()


def test_an_unreadable_secret_file_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("CATALOG_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("CATALOG_SECRET_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="CATALOG_SECRET_KEY_FILE .*missing.* cannot be read"):
        create_app()


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("CATALOG_PROXY_HOPS", "-1", "at least 0"),
        ("CATALOG_PROXY_HOPS", "one", "whole number"),
        ("CATALOG_SECURE_COOKIES", "maybe", "1 or 0"),
    ],
)
def test_bad_serving_settings_are_explained(tmp_path, monkeypatch, name, value, message):
    monkeypatch.setenv("CATALOG_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("CATALOG_SECRET_KEY", STRONG)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        create_app()


# ---- behind a reverse proxy ------------------------------------------------------------


def test_without_a_proxy_forwarded_headers_are_ignored(app, anon_client, session):
    """Anyone can send X-Forwarded-For: trusting it would let one client dodge the throttle."""
    make_user(app, "viewer", "vera@example.com")
    response = _wrong_sign_in(
        anon_client,
        REMOTE_ADDR="203.0.113.9",
        HTTP_X_FORWARDED_FOR="198.51.100.1",
        HTTP_X_FORWARDED_PROTO="https",
    )
    assert response.status_code == 401
    assert session.scalars(select(LoginAttempt.address)).all() == ["203.0.113.9"]
    assert "Secure" not in response.headers.get("Set-Cookie", "")
    assert "Strict-Transport-Security" not in response.headers


@pytest.fixture
def proxied_app(app_config, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CATALOG_INSTANCE_PATH", str(tmp_path / "instance"))
    application = create_app({**app_config, "PROXY_HOPS": 1})
    yield application
    application.extensions["catalog.engine"].dispose()


def test_behind_one_proxy_the_client_address_and_scheme_come_from_it(proxied_app, session):
    make_user(proxied_app, "viewer", "vera@example.com")
    client = proxied_app.test_client()
    response = _wrong_sign_in(
        client,
        REMOTE_ADDR="127.0.0.1",
        # A client-supplied first value, then the address the proxy saw: only the last hop counts.
        HTTP_X_FORWARDED_FOR="10.9.9.9, 198.51.100.7",
        HTTP_X_FORWARDED_PROTO="https",
    )
    assert response.status_code == 401
    s = proxied_app.extensions["catalog.sessionmaker"]()
    try:
        assert s.scalars(select(LoginAttempt.address)).all() == ["198.51.100.7"]
    finally:
        s.close()
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "; Secure" in response.headers["Set-Cookie"]


def test_secure_cookies_setting_marks_cookies_and_sends_hsts(app_config, tmp_path, monkeypatch):
    monkeypatch.setenv("CATALOG_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("CATALOG_SECURE_COOKIES", "1")
    app = create_app({k: v for k, v in app_config.items() if k != "SERVER_NAME"})
    try:
        response = _wrong_sign_in(app.test_client())  # its flash message sets the cookie
        assert "; Secure" in response.headers["Set-Cookie"]
        assert "HttpOnly" in response.headers["Set-Cookie"]
        assert "Strict-Transport-Security" in response.headers
    finally:
        app.extensions["catalog.engine"].dispose()


# ---- the Host header ---------------------------------------------------------------------


@pytest.fixture
def open_host_app(app_config, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """As deployed without CATALOG_TRUSTED_HOSTS or SERVER_NAME: any Host reaches the app."""
    monkeypatch.setenv("CATALOG_INSTANCE_PATH", str(tmp_path / "instance"))
    config = {k: v for k, v in app_config.items() if k != "SERVER_NAME"}
    application = create_app(config)
    yield application
    application.extensions["catalog.engine"].dispose()


def test_a_forged_host_never_reaches_the_api_next_link(open_host_app):
    from tests.factories import make_incident

    _, _, token = make_user(open_host_app, "viewer", "vera@example.com")
    s = open_host_app.extensions["catalog.sessionmaker"]()
    s.info["actor_label"] = "test setup"
    for n in range(3):
        make_incident(s, title=f"Incident {n}")
    s.commit()
    s.close()
    response = open_host_app.test_client().get(
        "/api/v1/incidents?per_page=1&severity=SEV2",
        headers={"Authorization": f"Bearer {token}", "Host": "evil.example"},
    )
    assert response.status_code == 200
    next_url = response.get_json()["next"]
    assert next_url.startswith("/api/v1/incidents?") and "evil" not in next_url
    assert "page=2" in next_url and "severity=SEV2" in next_url


def test_trusted_hosts_refuse_any_other_host(app_config, tmp_path, monkeypatch):
    monkeypatch.setenv("CATALOG_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("CATALOG_TRUSTED_HOSTS", "catalog.example.com, .internal.example")
    app = create_app({k: v for k, v in app_config.items() if k != "SERVER_NAME"})
    try:
        client = app.test_client()
        assert client.get("/healthz", headers={"Host": "catalog.example.com"}).status_code == 200
        assert client.get("/login", headers={"Host": "a.internal.example"}).status_code == 200
        refused = client.get("/login", headers={"Host": "evil.example"})
        assert refused.status_code == 400
        assert "does not answer for that host name" in refused.get_data(as_text=True)
        api = client.get("/api/v1/incidents", headers={"Host": "evil.example"})
        assert api.status_code == 400 and api.get_json()["error"]["code"] == "bad_request"
    finally:
        app.extensions["catalog.engine"].dispose()


# ---- deploys ---------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def empty_database(request, tmp_path):  # type: ignore[no-untyped-def]
    """A database with no schema at all, as on a first deploy."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite'}"
        return
    with scratch_pg_database("catalog_deploy", migrate=False) as url:
        yield url


def test_upgrade_on_every_deploy_is_safe_when_two_hosts_run_it_at_once(empty_database, tmp_path):
    """Two first deploys at once: both `catalog db upgrade` finish, the schema is made once."""
    database_url = empty_database
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_")}
    env.update(CATALOG_ENV="development", CATALOG_DATABASE_URL=database_url)
    env["CATALOG_INSTANCE_PATH"] = str(tmp_path)
    catalog = Path(sys.executable).with_name("catalog")
    deploys = [
        subprocess.Popen(
            [str(catalog), "db", "upgrade"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(2)
    ]
    outputs = [d.communicate(timeout=120)[0].decode() for d in deploys]
    assert [d.returncode for d in deploys] == [0, 0], outputs
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
            assert conn.execute(select(func.count()).select_from(text("vectors"))).scalar_one() == 5
    finally:
        engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_gunicorn_serves_the_app_with_the_shipped_settings(sqlite_template, tmp_path):
    """`make serve`'s command line: gunicorn with catalog.gunicorn_conf, production mode."""
    db = tmp_path / "catalog.sqlite"
    db.write_bytes(Path(sqlite_template).read_bytes())
    secret = tmp_path / "secret_key"
    secret.write_text(STRONG)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_")}
    env.update(
        CATALOG_ENV="production",
        CATALOG_DATABASE_URL=f"sqlite:///{db}",
        CATALOG_SECRET_KEY_FILE=str(secret),
        CATALOG_INSTANCE_PATH=str(tmp_path / "instance"),
        CATALOG_BIND=f"127.0.0.1:{port}",
        CATALOG_WORKERS="2",
    )
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "-c", "python:catalog.gunicorn_conf", "wsgi:app"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        body = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    body = r.read().decode()
            except OSError:
                time.sleep(0.2)
        assert body is not None, "gunicorn did not answer within 30 s"
        assert '"database":"ok"' in body
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as r:
            assert r.status == 200 and r.headers["Server"] == "gunicorn"
            assert "Sign in" in r.read().decode()
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    assert "Booting worker" in output and "Traceback" not in output


def test_an_in_memory_database_url_starts(tmp_path, monkeypatch):
    """`sqlite://` (a scratch database for a demo or a script) takes no pool settings."""
    monkeypatch.setenv("CATALOG_INSTANCE_PATH", str(tmp_path))
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"})
    try:
        assert app.test_client().get("/healthz").status_code == 200
    finally:
        app.extensions["catalog.engine"].dispose()
