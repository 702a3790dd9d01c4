"""Accounts under attack and under concurrency (issue 10, item 9).

Each test is the request an attacker, or a crowd of simultaneous clients,
would send; it asserts what they get back and that the database still holds
what it should.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta
from functools import partial

import pytest
from conftest import PASSWORD, make_user, signed_in_client, start_web_session
from sqlalchemy import create_engine, func, select, text, update

from catalog.audit.models import AuditEvent
from catalog.auth import service
from catalog.auth.models import ApiToken, LoginAttempt, User, UserSession
from catalog.db import utcnow
from catalog.errors import ConflictError
from catalog.vectors.models import Vector


def login(client, email, password=PASSWORD, address="10.0.0.1"):  # type: ignore[no-untyped-def]
    return client.post(
        "/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def client_with_session(app, user_id: int):  # type: ignore[no-untyped-def]
    """A fresh browser signed in as this user through a real server-side session."""
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = start_web_session(app, user_id)
    return client


def client_with_cookie_id(app, cookie_id: str):  # type: ignore[no-untyped-def]
    """A browser whose (validly signed) session names this cookie id: a forger's browser."""
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = cookie_id
    return client


def is_signed_out(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code == 302 and "/login" in response.headers["Location"]


def flashes(client) -> list[str]:  # type: ignore[no-untyped-def]
    with client.session_transaction() as sess:
        return [message for _, message in sess.get("_flashes", [])]


def run_at_once(calls):  # type: ignore[no-untyped-def]
    """Run every call in its own thread, released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    assert not [r for r in results if isinstance(r, BaseException)], results
    return results


# ---- 1. signing out ends the session on the server -----------------------------------


def test_a_cookie_copied_before_sign_out_stops_working(app, session):
    make_user(app, "editor", "ed@example.com")
    victim = app.test_client()
    assert login(victim, "ed@example.com").status_code == 302
    stolen = victim.get_cookie("session", domain="catalog.test")
    thief = app.test_client()
    thief.set_cookie("session", stolen.value, domain=stolen.domain)
    assert thief.get("/incidents/").status_code == 200  # the copy works while signed in

    assert victim.post("/logout").status_code == 302
    assert is_signed_out(thief.get("/incidents/"))
    assert is_signed_out(victim.get("/incidents/"))
    row = session.scalars(select(UserSession)).one()
    assert row.ended_at is not None


def test_forged_and_old_style_cookie_ids_are_refused(app, session):
    editor_id, _, _ = make_user(app, "editor", "ed@example.com")
    admin_id, _, _ = make_user(app, "admin", "root@example.com")
    mine = start_web_session(app, editor_id)
    secret = mine.split(":")[2]
    for forged in [
        f"{admin_id}:1",  # the old `id:epoch` cookie: users sign in again
        f"{admin_id}:1:{secret}",  # my session's secret under the admin's id
        f"{editor_id}:2:{secret}",  # a guessed epoch
        f"{editor_id}:1:{'A' * 43}",  # a guessed secret
        f"{editor_id}:1:{secret}:x",
        f"{editor_id}:1:",
        f"99999999999:1:{secret}",
        "\x00:1:" + secret,
    ]:
        assert is_signed_out(client_with_cookie_id(app, forged).get("/admin/users")), forged
    assert client_with_cookie_id(app, mine).get("/incidents/").status_code == 200
    assert session.scalar(select(func.count()).select_from(UserSession)) == 1


def test_password_change_keeps_this_session_and_ends_the_others(app, session):
    editor_id, _, _ = make_user(app, "editor", "ed@example.com")
    laptop = client_with_session(app, editor_id)
    phone = client_with_session(app, editor_id)
    changed = laptop.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "brand new secret",
            "confirm_password": "brand new secret",
        },
    )
    assert changed.status_code == 302
    assert laptop.get("/incidents/").status_code == 200
    assert is_signed_out(phone.get("/incidents/"))
    rows = session.scalars(select(UserSession).order_by(UserSession.id)).all()
    assert [row.ended_at is None for row in rows] == [True, False]


def test_sign_in_deletes_ended_and_idle_sessions(app, session):
    editor_id, _, _ = make_user(app, "editor", "ed@example.com")
    live = client_with_session(app, editor_id)
    ended = client_with_session(app, editor_id)
    idle_id = start_web_session(app, editor_id)
    session.execute(
        update(UserSession)
        .where(UserSession.secret_hash == service._token_hash(idle_id.split(":")[2]))
        .values(last_seen_at=utcnow() - timedelta(days=15))
    )
    session.commit()
    assert ended.post("/logout").status_code == 302
    assert is_signed_out(client_with_cookie_id(app, idle_id).get("/incidents/"))
    assert session.scalar(select(func.count()).select_from(UserSession)) == 3

    assert login(app.test_client(), "ed@example.com").status_code == 302
    rows = session.scalars(select(UserSession)).all()
    assert len(rows) == 2 and all(row.ended_at is None for row in rows)  # live, new
    assert live.get("/incidents/").status_code == 200


def test_use_is_noted_at_most_once_a_minute(app, session):
    editor_id, _, _ = make_user(app, "editor", "ed@example.com")
    browser = client_with_session(app, editor_id)
    row = session.scalars(select(UserSession)).one()
    first_seen = row.last_seen_at
    assert browser.get("/incidents/").status_code == 200
    session.expire_all()
    assert session.get(UserSession, row.id).last_seen_at == first_seen  # seconds ago: no write
    an_hour_ago = utcnow() - timedelta(hours=1)
    session.execute(update(UserSession).values(last_seen_at=an_hour_ago))
    session.commit()
    assert browser.get("/incidents/").status_code == 200
    session.expire_all()
    assert session.get(UserSession, row.id).last_seen_at > an_hour_ago + timedelta(minutes=59)


def test_a_locked_database_does_not_fail_a_page_over_the_session_note(app, session, database_url):
    """Another process holds the write lock (SQLite) or the session's row (PostgreSQL)."""
    editor_id, _, _ = make_user(app, "editor", "ed@example.com")
    browser = client_with_session(app, editor_id)
    an_hour_ago = utcnow() - timedelta(hours=1)
    session.execute(update(UserSession).values(last_seen_at=an_hour_ago))
    session.commit()
    other = create_engine(database_url)
    try:
        with other.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.execute(text("SELECT id FROM user_sessions FOR UPDATE"))
            started = time.monotonic()
            response = browser.get("/account")
            assert time.monotonic() - started < 10  # generous: it must not wait behind the lock
            conn.rollback()
        assert response.status_code == 200
        assert "ed@example.com" in response.get_data(as_text=True)
        session.expire_all()
        assert session.scalars(select(UserSession)).one().last_seen_at == an_hour_ago
    finally:
        other.dispose()


# ---- 2. an unknown e-mail costs what a known one costs -------------------------------


@pytest.fixture
def hashes_checked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The method of every hash sign-in checks a password against (werkzeug's, spied on)."""
    seen: list[str] = []
    real = service.check_password_hash

    def spy(pwhash: str, password: str) -> bool:
        seen.append(pwhash.split("$", 1)[0])
        return real(pwhash, password)

    monkeypatch.setattr(service, "check_password_hash", spy)
    return seen


@pytest.mark.parametrize(
    ("method", "prefix"),
    [("scrypt", "scrypt:32768:8:1"), ("pbkdf2:sha256:1000", "pbkdf2:sha256:1000")],
)
def test_an_unknown_email_is_checked_like_a_known_one(
    request, app_config, method, prefix, hashes_checked
):
    app_config["PASSWORD_HASH_METHOD"] = method  # before `app` is built
    app = request.getfixturevalue("app")
    make_user(app, "viewer", "vera@example.com")
    client = app.test_client()
    assert login(client, "nobody@example.com", "a wrong password").status_code == 401
    assert login(client, "vera@example.com", "a wrong password").status_code == 401
    assert hashes_checked == [prefix, prefix]
    with app.app_context():
        assert service.dummy_hash().startswith(f"{prefix}$")


# ---- 3. the sign-in throttle holds under concurrent requests -------------------------


@pytest.mark.parametrize("per", ["account", "address"])
def test_forty_simultaneous_guesses_get_at_most_ten_checks(app, session, per, hashes_checked):
    make_user(app, "viewer", "vera@example.com")

    def guess(n: int):  # type: ignore[no-untyped-def]
        def call() -> tuple[int, str]:
            email = "vera@example.com" if per == "account" else f"guess{n}@example.com"
            address = f"10.1.{n}.1" if per == "account" else "10.2.2.2"
            response = login(app.test_client(), email, f"wrong guess {n}", address=address)
            return response.status_code, response.get_data(as_text=True)

        return call

    results = run_at_once([guess(n) for n in range(40)])
    statuses = Counter(status for status, _ in results)
    assert statuses == {401: 10, 429: 30}
    assert len(hashes_checked) == 10  # the refused 30 never reached a password check
    assert all(
        "Too many failed sign-in attempts" in page for status, page in results if status == 429
    )
    assert session.scalar(select(func.count()).select_from(LoginAttempt)) == 10
    # The right password is refused too until the window has passed.
    address = "10.9.9.9" if per == "account" else "10.2.2.2"
    email = "vera@example.com"
    assert login(app.test_client(), email, address=address).status_code == 429


def test_a_successful_sign_in_does_not_count_as_a_failure(app, session):
    make_user(app, "viewer", "vera@example.com")
    for _ in range(12):
        assert login(app.test_client(), "vera@example.com").status_code == 302
    assert session.scalar(select(func.count()).select_from(LoginAttempt)) == 0


# ---- 4. the last-active-admin guard holds under concurrent requests ------------------


@pytest.mark.parametrize(
    "form",
    [{"action": "role", "role": "editor"}, {"action": "deactivate"}],
    ids=lambda f: f["action"],
)
def test_two_admins_removing_each_other_at_once_leave_one(app, session, form):
    first, _, _ = make_user(app, "admin", "ann@example.com")
    second, _, _ = make_user(app, "admin", "bob@example.com")
    for _round in range(4):
        ann, bob = client_with_session(app, first), client_with_session(app, second)
        responses = run_at_once(
            [
                partial(ann.post, f"/admin/users/{second}", data=form),
                partial(bob.post, f"/admin/users/{first}", data=form),
            ]
        )
        assert sorted(r.status_code for r in responses) in ([302, 302], [302, 403])
        session.expire_all()
        admins = session.scalars(
            select(User).where(User.role == "admin", User.active.is_(True))
        ).all()
        assert len(admins) == 1
        # The loser was told why; or, removed before its request was read, was refused
        # outright (demoted: 403) or signed out (deactivated: sent to the sign-in page).
        losers = [
            c
            for c, r in ((ann, responses[0]), (bob, responses[1]))
            if r.status_code == 403 or is_signed_out(r) or service.LAST_ADMIN in flashes(c)
        ]
        assert len(losers) == 1
        session.execute(update(User).values(role="admin", active=True))
        session.commit()


@pytest.mark.parametrize("remove", ["demote", "deactivate"])
def test_the_last_active_admin_cannot_be_removed(app, session, remove):
    admin_id, _, _ = make_user(app, "admin", "root@example.com")
    make_user(app, "admin", "gone@example.com")
    session.execute(update(User).where(User.email == "gone@example.com").values(active=False))
    session.commit()
    admin = session.get(User, admin_id)
    with pytest.raises(ConflictError, match="last active admin"):
        if remove == "demote":
            service.set_role(session, admin, "editor")
        else:
            service.set_active(session, admin, False)
    session.rollback()
    session.expire_all()
    stored = session.get(User, admin_id)
    assert (stored.role, stored.active, stored.session_epoch) == ("admin", True, 1)
    assert session.scalars(select(UserSession)).all() == []
    assert session.scalars(select(ApiToken.revoked_at)).all() == [None, None]


# ---- 5. reactivation does not revive tokens that deactivation ended ------------------


def test_reactivating_a_user_does_not_revive_their_tokens(app, client, session):
    leaver = signed_in_client(app, "editor", "leaver@example.com")
    user_id = session.scalar(select(User.id).where(User.email == "leaver@example.com"))
    headers = {"Authorization": f"Bearer {leaver.token}"}
    assert app.test_client().get("/api/v1/incidents", headers=headers).status_code == 200

    assert client.post(f"/admin/users/{user_id}", data={"action": "deactivate"}).status_code == 302
    assert client.post(f"/admin/users/{user_id}", data={"action": "activate"}).status_code == 302

    response = app.test_client().get("/api/v1/incidents", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert is_signed_out(leaver.get("/incidents/"))  # the web session stays ended as well
    token = session.scalars(select(ApiToken).where(ApiToken.user_id == user_id)).one()
    assert token.revoked_at is not None
    assert session.get(User, user_id).active
    revoked = session.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "token", AuditEvent.action == "update")
    ).all()
    assert [event.object_id for event in revoked] == [token.id]
    assert revoked[0].actor_label == "admin@example.com"


# ---- 6. archiving through the API is admin-only, as on the web -----------------------


@pytest.mark.parametrize("archived", [True, False])
def test_an_editor_cannot_archive_or_restore_through_the_api(app, session, archived):
    editor = signed_in_client(app, "editor", "ed@example.com")
    before = session.scalars(select(Vector).where(Vector.slug == "data-drift")).one()
    response = editor.patch(
        "/api/v1/vectors/data-drift", json={"archived": archived, "version": before.version}
    )
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["code"] == "forbidden"
    assert (
        "Archiving or restoring a vector needs the admin role; you are editor" in error["message"]
    )
    created = editor.post(
        "/api/v1/vectors", json={"name": "Archived at birth", "archived": archived}
    )
    assert created.status_code == 403
    session.expire_all()
    after = session.scalars(select(Vector).where(Vector.slug == "data-drift")).one()
    assert (after.archived_at, after.version) == (None, before.version)
    assert session.scalar(select(func.count()).select_from(Vector)) == 5

    # Everything else stays the editor's to change; the admin archives.
    edited = editor.patch(
        "/api/v1/vectors/data-drift", json={"severity": 9, "version": before.version}
    )
    assert edited.status_code == 200 and edited.get_json()["severity"] == 9
    admin = signed_in_client(app, "admin", "root@example.com")
    archived_now = admin.patch(
        "/api/v1/vectors/data-drift", json={"archived": True, "version": before.version + 1}
    )
    assert archived_now.status_code == 200 and archived_now.get_json()["archived_at"]
