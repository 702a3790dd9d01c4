"""The authorization matrix: every route × {anonymous, viewer, editor, admin} × its methods.

Generated from the app's URL map, so a new route without a rule in
catalog/auth/access.py fails here before it ships.
"""

from __future__ import annotations

import uuid

import pytest
from factories import make_incident, make_release
from helpers.accounts import make_user, signed_in_client
from sqlalchemy import select

from catalog.auth.access import PUBLIC, RULES, required_role
from catalog.auth.models import ROLE_RANK, ApiToken, User

ROLES = ("anonymous", "viewer", "editor", "admin")


def _routes(app):  # type: ignore[no-untyped-def]
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_has_a_rule(app):
    missing = [
        f"{method} {rule.rule} ({rule.endpoint})"
        for rule, method in _routes(app)
        if rule.endpoint not in PUBLIC and required_role(rule.endpoint, method) is None
    ]
    assert missing == [], "routes without an authorization rule in catalog/auth/access.py"
    stale = set(RULES) - {rule.endpoint for rule in app.url_map.iter_rules()}
    assert stale == set(), "rules for endpoints that no longer exist"


def _url(app, session, rule, acting_email: str) -> str:  # type: ignore[no-untyped-def]
    """The rule's URL with real objects behind its arguments, made fresh for each call."""
    from catalog.auth.service import create_token, get_user_by_email

    values: dict[str, object] = {}
    if "load_test_id" in rule.arguments:  # a tier of the release the URL names
        from catalog.releases.service import record_load_test

        # The app deleted earlier tiers in its own session; SQLite may give their ids again.
        session.expunge_all()
        release = make_release(session, tag=f"v{uuid.uuid4().hex[:8]}")
        tier = {"tier": "1x", "rps": 1, "p50_ms": 1, "p99_ms": 2, "error_rate": 0, "requests": 1}
        values["load_test_id"] = record_load_test(session, release, tier).id
        values["release_id"] = release.id
        session.commit()
    for arg in rule.arguments:
        if arg in values:
            continue
        if arg == "slug":
            values[arg] = "hardware-throttling"
        elif arg == "incident_id":
            values[arg] = make_incident(session).id
        elif arg == "release_id":
            values[arg] = make_release(session, tag=f"v{uuid.uuid4().hex[:8]}").id
        elif arg == "user_id":
            target_id, _, _ = make_user(
                app, "viewer", f"target-{uuid.uuid4().hex[:12]}@example.com"
            )
            values[arg] = target_id
        elif arg == "token_id":
            user = get_user_by_email(session, acting_email) if acting_email else None
            if user is None:  # anonymous: someone else's token
                user = session.scalars(select(User)).first()
            values[arg] = create_token(session, user, "matrix").row.id
            session.commit()
        elif arg == "job_id":  # an import job of the acting account's (imports.jobs)
            from catalog.imports.jobs import ImportJob, save

            user = get_user_by_email(session, acting_email) if acting_email else None
            job = ImportJob(
                id=uuid.uuid4().hex[:22],
                owner_id=user.id if user else 0,
                filename="big.csv",
                fmt="csv",
                dry_run=True,
                state="done",
            )
            values[arg] = save(app.instance_path, job).id
        elif arg == "filename":
            values[arg] = "app.css"
        elif arg == "kind":
            values[arg] = "ttr"
        elif arg == "table":
            values[arg] = "trend"
        else:
            raise AssertionError(f"no sample value for <{arg}> in {rule.rule}")
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def test_authorization_matrix(app, session, subtests):
    for rule, method in _routes(app):
        for role in ROLES:
            with subtests.test(route=f"{method} {rule.rule}", role=role):
                if role == "anonymous":
                    client = app.test_client()
                    acting = ""
                else:
                    client = signed_in_client(
                        app, role, f"{role}-{rule.endpoint}-{method}@example.com".lower()
                    )
                    acting = client.user_email
                url = _url(app, session, rule, acting)
                response = client.open(url, method=method)
                response.get_data()
                response.close()  # static files stream from disk
                status = response.status_code
                assert status < 500, f"{method} {url} as {role} → {status}"
                is_api = rule.rule.startswith("/api/")
                if rule.endpoint in PUBLIC:
                    assert status not in (401, 403)
                    continue
                needed = required_role(rule.endpoint, method)
                if role == "anonymous":
                    if is_api:
                        assert status == 401, f"{method} {url} anonymous → {status}"
                        assert response.get_json()["error"]["code"] == "unauthorized"
                    else:
                        assert status == 302 and "/login?next=" in response.headers["Location"]
                elif ROLE_RANK[role] < ROLE_RANK[needed]:
                    assert status == 403, f"{method} {url} as {role} (needs {needed}) → {status}"
                else:
                    assert status not in (401, 403), f"{method} {url} as {role} → {status}"
                    if not is_api and status == 302 and rule.endpoint != "auth.logout":
                        assert "/login" not in response.headers["Location"]


@pytest.mark.parametrize(
    "header", ["", "Bearer", "Bearer nope", "Basic abc", "Bearer fc_" + "x" * 43]
)
def test_api_refuses_missing_or_unknown_tokens(anon_client, header):
    response = anon_client.get(
        "/api/v1/incidents", headers={"Authorization": header} if header else {}
    )
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_api_ignores_the_session_cookie(app):
    """The API takes bearer tokens only: a signed-in browser cannot be used for CSRF on it."""
    client = signed_in_client(app, "admin", "cookie@example.com")
    client.environ_base.pop("HTTP_AUTHORIZATION")
    assert client.get("/api/v1/incidents").status_code == 401
    assert client.get("/incidents/").status_code == 200


def test_revoked_token_and_deactivated_user_stop_at_once(app, session):
    from catalog.auth.service import get_user_by_email, revoke_token, set_active

    client = signed_in_client(app, "editor", "leaver@example.com")
    assert client.get("/api/v1/incidents").status_code == 200
    token = session.scalars(
        select(ApiToken).join(User).where(User.email == "leaver@example.com")
    ).one()
    revoke_token(session, token)
    session.commit()
    assert client.get("/api/v1/incidents").status_code == 401
    assert client.get("/incidents/").status_code == 200  # the web session is separate
    set_active(session, get_user_by_email(session, "leaver@example.com"), False)
    session.commit()
    response = client.get("/incidents/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
