"""Who is asking, and may they? Sign-in, bearer tokens and the single authorization check.

Web pages use a Flask-Login session; the JSON API accepts only bearer tokens
(so it needs no CSRF). `authorize()` runs before every request and consults
`access.RULES`; nothing else in the app decides who may do what.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, redirect, request, url_for
from flask_login import LoginManager, current_user

from catalog.auth.access import PUBLIC, required_role
from catalog.auth.models import User
from catalog.sessions import get_session

login_manager = LoginManager()
login_manager.session_protection = "basic"

PASSWORD_ALLOWED = frozenset({"auth.password", "auth.logout", "static", "health.healthz"})


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    """The cookie holds `id:epoch:session`; only a live server-side session lets it in."""
    from catalog.auth.service import user_for_session

    return user_for_session(get_session(), user_id)


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def _bearer_user() -> User | None:
    from catalog.auth.service import user_for_token

    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return user_for_token(
        get_session(), secret.strip(), known=current_app.extensions.get("catalog.known_tokens")
    )


def current_actor() -> User | None:
    """The signed-in user (web) or the token's user (API), or None."""
    if "actor" in g:
        return g.actor
    user: User | None
    if is_api_request():
        user = _bearer_user()
    else:
        user = current_user if current_user.is_authenticated else None  # type: ignore[assignment]
    g.actor = user
    session = get_session()
    session.info["actor"] = user
    session.info["source"] = "api" if is_api_request() else "web"  # for timeline entries
    return user


def email_or_me(value: str | None) -> str | None:
    """A filter naming an account: `me` is whoever asks, anything else an e-mail."""
    if value == "me":
        actor = current_actor()
        return actor.email if actor is not None else None
    return value or None


def safe_next(target: str | None) -> str | None:
    """Only same-site paths: no scheme, no host, no `//` or `/\\` tricks."""
    if not target or len(target) > 2000:
        return None
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith(("//", "/\\"))
    ):
        return None
    if any(ord(c) < 32 for c in target):
        return None
    return target


def authorize() -> object | None:
    """Called before every request; refuses with 401/403 or sends to the sign-in page."""
    endpoint = request.endpoint
    if endpoint is None or endpoint in PUBLIC:
        return None  # unknown URLs become 404/405 as usual
    user = current_actor()
    role = required_role(endpoint, request.method)
    if user is None:
        if is_api_request():
            abort(401, description="Send a valid API token: Authorization: Bearer <token>.")
        path = request.full_path if request.query_string else request.path
        return redirect(url_for("auth.login", next=path))
    if role is None or not user.has_role(role):
        abort(403, description=f"This needs the {role or 'admin'} role; you are {user.role}.")
    if not is_api_request() and user.must_change_password and endpoint not in PASSWORD_ALLOWED:
        return redirect(url_for("auth.password"))
    return None


def init_app(app: Flask) -> None:
    from catalog.auth.known_tokens import KnownTokens

    login_manager.init_app(app)
    app.extensions["catalog.known_tokens"] = KnownTokens()
    app.before_request(authorize)

    @app.context_processor
    def _roles() -> dict[str, object]:
        def can(role: str) -> bool:
            user = g.get("actor")
            return bool(user is not None and user.has_role(role))

        return {"can": can, "actor": g.get("actor")}
