"""Accounts as people meet them: sign-in, throttling, one-time passwords, tokens, admin, CLI."""

from __future__ import annotations

import pytest
from conftest import PASSWORD, make_user, signed_in_client
from sqlalchemy import func, select

from catalog.audit.models import AuditEvent
from catalog.auth.models import ApiToken, LoginAttempt, User


def login(client, email, password=PASSWORD, next_url=None, address="10.0.0.1"):  # type: ignore[no-untyped-def]
    query = f"?next={next_url}" if next_url else ""
    data = {"email": email, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post(f"/login{query}", data=data, environ_base={"REMOTE_ADDR": address})


def test_sign_in_and_out(app, anon_client):
    make_user(app, "viewer", "vera@example.com")
    response = anon_client.get("/incidents/?severity=SEV1")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login?next=/incidents/?severity%3DSEV1")
    bad = login(anon_client, "vera@example.com", "wrong password!")
    assert bad.status_code == 401
    assert "Wrong e-mail or password" in bad.get_data(as_text=True)
    good = login(anon_client, "VERA@example.com ", next_url="/incidents/?severity=SEV1")
    assert good.status_code == 302 and good.headers["Location"] == "/incidents/?severity=SEV1"
    assert anon_client.get("/incidents/").status_code == 200
    out = anon_client.post("/logout")
    assert out.status_code == 302
    assert anon_client.get("/incidents/").status_code == 302


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "http:/x",
        "\x01/x",
    ],
)
def test_next_cannot_leave_the_site(app, anon_client, target):
    make_user(app, "viewer", "vera@example.com")
    response = login(anon_client, "vera@example.com", next_url=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_sign_in_is_throttled_per_account_and_per_address(app, anon_client, session):
    make_user(app, "viewer", "vera@example.com")
    for n in range(10):
        assert (
            login(
                anon_client, "vera@example.com", "nope-nope-nope", address=f"10.1.0.{n}"
            ).status_code
            == 401
        )
    refused = login(anon_client, "vera@example.com", address="10.9.9.9")  # right password, too late
    assert refused.status_code == 429
    assert "Too many failed sign-in attempts" in refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) > 0
    # Per address: ten different accounts guessed from one address.
    for n in range(10):
        login(anon_client, f"guess{n}@example.com", "whatever-123", address="10.2.2.2")
    make_user(app, "viewer", "other@example.com")
    assert login(anon_client, "other@example.com", address="10.2.2.2").status_code == 429
    assert login(anon_client, "other@example.com", address="10.3.3.3").status_code == 302
    assert session.scalar(select(func.count()).select_from(LoginAttempt)) == 20


def test_one_time_password_must_be_changed_first(app, anon_client, session):
    from catalog.auth.service import create_user

    user, one_time = create_user(session, email="new@example.com", role="editor")
    session.commit()
    response = login(anon_client, "new@example.com", one_time)
    assert response.headers["Location"] == "/account/password"
    assert anon_client.get("/incidents/").headers["Location"] == "/account/password"
    refused = anon_client.post(
        "/account/password",
        data={"current_password": one_time, "new_password": "short", "confirm_password": "short"},
    )
    assert refused.status_code == 422
    assert "at least 10 characters" in refused.get_data(as_text=True)
    mismatch = anon_client.post(
        "/account/password",
        data={
            "current_password": one_time,
            "new_password": "a long new one",
            "confirm_password": "another one",
        },
    )
    assert "The two new passwords differ." in mismatch.get_data(as_text=True)
    ok = anon_client.post(
        "/account/password",
        data={
            "current_password": one_time,
            "new_password": "a long new one",
            "confirm_password": "a long new one",
        },
    )
    assert ok.status_code == 302
    assert anon_client.get("/incidents/").status_code == 200


def test_password_change_ends_other_sessions(app):
    other = signed_in_client(app, "editor", "ed@example.com")
    me = app.test_client()
    assert login(me, "ed@example.com").status_code == 302
    response = me.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "brand new secret",
            "confirm_password": "brand new secret",
        },
    )
    assert response.status_code == 302
    assert me.get("/incidents/").status_code == 200  # this session was renewed
    assert other.get("/incidents/").status_code == 302  # the other one ended


def test_time_zone_of_the_user_is_used_on_pages(app, session):
    from factories import make_incident

    client = signed_in_client(app, "viewer", "tokyo@example.com")
    incident = make_incident(session)  # started 2026-03-02 12:00 UTC
    assert "2026-03-02 12:00 UTC" in client.get(f"/incidents/{incident.id}").get_data(as_text=True)
    bad = client.post("/account", data={"name": "Kenji", "timezone": "Mars/Base"})
    assert bad.status_code == 422 and "not a known time zone" in bad.get_data(as_text=True)
    assert (
        client.post("/account", data={"name": "Kenji", "timezone": "Asia/Tokyo"}).status_code == 302
    )
    assert "2026-03-02 21:00 JST" in client.get(f"/incidents/{incident.id}").get_data(as_text=True)


def test_tokens_are_shown_once_work_and_can_be_revoked(app, session):
    client = signed_in_client(app, "viewer", "vic@example.com")
    response = client.post("/account/tokens", data={"token-name": "grafana"})
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    start = page.index('id="new-token">') + len('id="new-token">')
    secret = page[start : page.index("<", start)]
    assert secret.startswith("fc_")
    row = session.scalars(select(ApiToken).where(ApiToken.name == "grafana")).one()
    assert secret not in (row.token_hash, row.prefix)  # stored hashed
    api = app.test_client()
    assert (
        api.get("/api/v1/vectors", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    )
    session.expire_all()
    assert session.get(ApiToken, row.id).last_used_at is not None
    # a viewer's token cannot write
    assert (
        api.post(
            "/api/v1/vectors", json={"name": "x"}, headers={"Authorization": f"Bearer {secret}"}
        ).status_code
        == 403
    )
    assert secret not in client.get("/account").get_data(as_text=True)  # never shown again
    assert client.post(f"/account/tokens/{row.id}/revoke").status_code == 302
    assert (
        api.get("/api/v1/vectors", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    )


def test_users_cannot_revoke_each_others_tokens_but_admins_can(app, session):
    owner = signed_in_client(app, "editor", "owner@example.com")
    intruder = signed_in_client(app, "editor", "intruder@example.com")
    token = session.scalars(
        select(ApiToken).join(User).where(User.email == "owner@example.com")
    ).one()
    assert intruder.post(f"/account/tokens/{token.id}/revoke").status_code == 403
    admin = signed_in_client(app, "admin", "boss@example.com")
    assert (
        admin.post(f"/account/tokens/{token.id}/revoke", data={"back": "admin"}).status_code == 302
    )
    assert owner.get("/api/v1/vectors").status_code == 401


def test_admin_invites_changes_roles_and_deactivates(app, session):
    admin = signed_in_client(app, "admin", "boss@example.com")
    response = admin.post(
        "/admin/users", data={"email": "Nina@Example.com", "name": "Nina", "role": "editor"}
    )
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    start = page.index('id="one-time-password">') + len('id="one-time-password">')
    one_time = page[start : page.index("<", start)]
    duplicate = admin.post("/admin/users", data={"email": "nina@example.com", "role": "viewer"})
    assert duplicate.status_code == 422 and "already exists" in duplicate.get_data(as_text=True)
    nina = session.scalars(select(User).where(User.email == "nina@example.com")).one()
    assert nina.must_change_password and nina.role == "editor"

    admin.post(f"/admin/users/{nina.id}", data={"action": "role", "role": "viewer"})
    session.expire_all()
    assert session.get(User, nina.id).role == "viewer"

    browser = app.test_client()
    assert login(browser, "nina@example.com", one_time).status_code == 302
    admin.post(f"/admin/users/{nina.id}", data={"action": "deactivate"})
    assert browser.get("/account/password").status_code == 302  # her session ended at once
    assert login(browser, "nina@example.com", one_time).status_code == 401


def test_a_role_not_on_the_list_is_refused_with_the_list(app, session):
    from catalog.auth.service import create_user

    admin = signed_in_client(app, "admin", "boss@example.com")
    nina, _ = create_user(session, email="nina@example.com", role="editor")
    session.commit()
    page = admin.post(
        f"/admin/users/{nina.id}",
        data={"action": "role", "role": "superuser"},
        follow_redirects=True,
    )
    assert page.status_code == 200
    assert "Role must be one of: viewer, editor, admin." in page.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, nina.id).role == "editor"


def test_last_admin_and_self_protection(app, session):
    admin = signed_in_client(app, "admin", "solo@example.com")
    me = session.scalars(select(User).where(User.email == "solo@example.com")).one()
    page = admin.post(f"/admin/users/{me.id}", data={"action": "deactivate"}, follow_redirects=True)
    assert "You cannot deactivate your own account." in page.get_data(as_text=True)
    page = admin.post(
        f"/admin/users/{me.id}", data={"action": "role", "role": "viewer"}, follow_redirects=True
    )
    assert "You cannot take the admin role away from yourself" in page.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, me.id).role == "admin" and session.get(User, me.id).active


def test_viewer_sees_no_buttons_and_cannot_post(app, session):
    from factories import form_payload, make_incident

    incident = make_incident(session)
    viewer = signed_in_client(app, "viewer", "vera@example.com")
    page = viewer.get(f"/incidents/{incident.id}").get_data(as_text=True)
    for label in (
        "Log incident",
        "Edit post-mortem",
        "Write post-mortem",
        "Delete incident",
        ">Edit<",
    ):
        assert label not in page
    assert viewer.post("/incidents/new", data=form_payload()).status_code == 403
    assert (
        viewer.post(f"/incidents/{incident.id}/edit", data=form_payload(version=1)).status_code
        == 403
    )
    assert viewer.post("/api/v1/incidents", json={}).status_code == 403
    editor = signed_in_client(app, "editor", "ed@example.com")
    page = editor.get(f"/incidents/{incident.id}").get_data(as_text=True)
    assert "Write post-mortem" in page and "Delete incident" not in page
    assert editor.post(f"/incidents/{incident.id}/delete").status_code == 403


# ---- audit trail ----------------------------------------------------------------


def events(session, **where):  # type: ignore[no-untyped-def]
    query = select(AuditEvent).order_by(AuditEvent.id)
    for key, value in where.items():
        query = query.where(getattr(AuditEvent, key) == value)
    session.expire_all()
    return session.scalars(query).all()


def test_every_change_is_audited_with_who_and_field_values(client, session):
    from factories import api_payload

    created = client.post("/api/v1/incidents", json=api_payload()).get_json()
    incident_id = created["id"]
    client.patch(
        f"/api/v1/incidents/{incident_id}",
        json={"version": created["version"], "title": "Renamed", "vectors": ["data-drift"]},
    )
    client.put(
        f"/api/v1/incidents/{incident_id}/postmortem",
        json={"status": "draft", "action_items": [{"title": "Add a canary"}]},
    )
    history = events(session, incident_id=incident_id)
    assert [(e.object_type, e.action) for e in history] == [
        ("incident", "create"),
        ("incident", "update"),
        ("postmortem", "create"),
        ("action_item", "create"),
    ]
    update = history[1]
    assert update.actor_label == client.user_email and update.actor_id is not None
    assert update.changes["title"] == ["Vector DB latency spike", "Renamed"]
    assert update.changes["vectors"] == [["dependency-latency"], ["data-drift"]]
    assert "version" not in update.changes and "updated_at" not in update.changes

    vector = client.get("/api/v1/vectors/model-poisoning").get_json()
    client.patch(
        "/api/v1/vectors/model-poisoning", json={"version": vector["version"], "archived": True}
    )
    assert [e.action for e in events(session, object_type="vector")] == ["archive"]
    client.delete(f"/api/v1/incidents/{incident_id}")
    deleted = [e for e in events(session, incident_id=incident_id) if e.action == "delete"]
    assert {e.object_type for e in deleted} == {"incident", "postmortem", "action_item"}
    assert [e for e in deleted if e.object_type == "incident"][0].changes["title"] == [
        "Renamed",
        None,
    ]


def test_a_refused_change_writes_no_audit_row(client, session):
    before = len(events(session))
    response = client.post("/api/v1/incidents", json={"title": "x"})
    assert response.status_code == 422
    assert len(events(session)) == before


def test_users_and_tokens_are_audited_without_secrets(app, session):
    admin = signed_in_client(app, "admin", "boss@example.com")
    admin.post("/admin/users", data={"email": "new@example.com", "role": "viewer"})
    created = events(session, object_type="user", object_label="new@example.com")
    assert created[0].actor_label == "boss@example.com"
    assert created[0].changes["password"] == [None, "(set)"]
    assert "password_hash" not in created[0].changes
    tokens = events(session, object_type="token")
    assert tokens and all("token_hash" not in e.changes for e in tokens)


def test_incident_page_and_admin_log_show_history(client, session):
    from factories import api_payload

    created = client.post("/api/v1/incidents", json=api_payload(title="Before")).get_json()
    client.patch(
        f"/api/v1/incidents/{created['id']}", json={"version": created["version"], "title": "After"}
    )
    page = client.get(f"/incidents/{created['id']}").get_data(as_text=True)
    history = page[page.index('id="history"') :]
    assert "Before" in history and "After" in history and client.user_email in history
    log = client.get("/admin/audit?object_type=incident&action=update").get_data(as_text=True)
    assert "1 event" in log and "After" in log
    assert "0 events" in client.get("/admin/audit?actor=nobody@example.com").get_data(as_text=True)
    assert client.get("/admin/audit?page=99999999999&incident=abc").status_code == 200


# ---- CLI ---------------------------------------------------------------------------


def test_cli_users_and_tokens(app, runner, session):
    result = runner.invoke(args=["users", "create", "cli@example.com", "--role", "editor"])
    assert result.exit_code == 0, result.output
    assert "One-time password" in result.output
    result = runner.invoke(
        args=["users", "create", "piped@example.com", "--role", "viewer", "--password-stdin"],
        input="a piped secret 123\n",
    )
    assert result.exit_code == 0 and "One-time" not in result.output
    assert login(app.test_client(), "piped@example.com", "a piped secret 123").status_code == 302
    duplicate = runner.invoke(args=["users", "create", "cli@example.com", "--role", "viewer"])
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output
    bad_role = runner.invoke(args=["users", "create", "x@example.com", "--role", "root"])
    assert bad_role.exit_code == 2
    assert runner.invoke(args=["users", "set-role", "cli@example.com", "admin"]).exit_code == 0
    result = runner.invoke(args=["tokens", "create", "cli@example.com", "--name", "ci"])
    assert result.exit_code == 0
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("fc_") and " " not in token
    assert (
        app.test_client()
        .get("/api/v1/incidents", headers={"Authorization": f"Bearer {token}"})
        .status_code
        == 200
    )
    last = runner.invoke(args=["users", "deactivate", "cli@example.com"])
    assert last.exit_code == 1 and "last active admin" in last.output
    make_user(app, "admin", "second-admin@example.com")
    assert runner.invoke(args=["users", "deactivate", "cli@example.com"]).exit_code == 0
    assert (
        app.test_client()
        .get("/api/v1/incidents", headers={"Authorization": f"Bearer {token}"})
        .status_code
        == 401
    )
    missing = runner.invoke(args=["tokens", "create", "ghost@example.com"])
    assert missing.exit_code == 1 and "No user" in missing.output
    assert {e.actor_label for e in events(session, object_type="user")} == {"cli", "test setup"}


def test_cli_bootstrap_creates_the_first_admin_once(app, runner, session, monkeypatch):
    result = runner.invoke(args=["users", "bootstrap"])
    assert result.exit_code == 0, result.output
    assert "FIRST LOGIN" in result.output and "admin@example.com" in result.output
    password = result.output.split("password: ")[1].split()[0]
    browser = app.test_client()
    assert login(browser, "admin@example.com", password).headers["Location"] == "/account/password"
    again = runner.invoke(args=["users", "bootstrap"])
    assert "FIRST LOGIN" not in again.output
    assert session.scalar(select(func.count()).select_from(User)) == 1


def test_cli_bootstrap_takes_the_admin_from_the_environment(app, runner, monkeypatch):
    monkeypatch.setenv("CATALOG_ADMIN_EMAIL", "ops@example.com")
    monkeypatch.setenv("CATALOG_ADMIN_PASSWORD", "from the environment")
    result = runner.invoke(args=["users", "bootstrap"])
    assert "ops@example.com" in result.output and "from the environment" not in result.output
    assert (
        login(app.test_client(), "ops@example.com", "from the environment").headers["Location"]
        == "/"
    )


def test_session_cookie_flags(app, anon_client):
    make_user(app, "viewer", "vera@example.com")
    plain = login(anon_client, "vera@example.com")
    cookie = plain.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure_client = app.test_client()
    response = secure_client.post(
        "/login",
        data={"email": "vera@example.com", "password": PASSWORD},
        base_url="https://catalog.test",
    )
    assert "Secure" in response.headers["Set-Cookie"]


def test_a_request_without_the_cookie_gets_an_empty_session_and_no_cookie(app, anon_client):
    """The session interface skips building its signer for a request with no cookie (every
    API call): such a request still starts a session when it signs in, and an API call
    sets none."""
    _, _, token = make_user(app, "viewer", "vera@example.com")
    api = app.test_client().get("/api/v1/incidents", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200 and "Set-Cookie" not in api.headers
    assert anon_client.get("/incidents/").status_code == 302  # to the sign-in page
    assert "session=" in login(anon_client, "vera@example.com").headers["Set-Cookie"]
    assert anon_client.get("/incidents/").status_code == 200
    anon_client.set_cookie("session", "forged.value.here", domain="catalog.test")
    assert anon_client.get("/incidents/").status_code == 302  # a bad cookie: signed out


def test_admin_resets_a_forgotten_password(app, session):
    admin = signed_in_client(app, "admin", "boss@example.com")
    forgetful = signed_in_client(app, "editor", "forgetful@example.com")
    user = session.scalars(select(User).where(User.email == "forgetful@example.com")).one()
    response = admin.post(f"/admin/users/{user.id}", data={"action": "reset"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    start = page.index('id="one-time-password">') + len('id="one-time-password">')
    one_time = page[start : page.index("<", start)]
    assert "one-time" not in response.headers.get("Set-Cookie", "")
    assert forgetful.get("/incidents/").status_code == 302  # old session ended
    assert login(app.test_client(), "forgetful@example.com", PASSWORD).status_code == 401
    fresh = app.test_client()
    assert (
        login(fresh, "forgetful@example.com", one_time).headers["Location"] == "/account/password"
    )
