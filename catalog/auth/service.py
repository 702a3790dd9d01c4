"""Account rules: users, roles, passwords, web sessions, API tokens and sign-in throttling.

Passwords are hashed with werkzeug's scrypt; API tokens and web session
secrets are random strings stored as SHA-256 (they are long and random, so a
fast hash is enough and lets every request look one up by its hash).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import Select, delete, func, or_, select, text, update
from sqlalchemy.orm import Session, contains_eager, lazyload
from werkzeug.security import check_password_hash, generate_password_hash

from catalog.auth.known_tokens import Known, KnownTokens, attach, credentials_version, snapshot
from catalog.auth.models import ApiToken, LoginAttempt, User, UserSession
from catalog.auth.spec import EMAIL, PASSWORD, PROFILE, ROLE, TOKEN, USER
from catalog.db import utcnow
from catalog.errors import ConflictError, FieldErrors, NotFoundError
from catalog.rules import is_storable
from catalog.sessions import defer_bookkeeping
from catalog.settings import current_settings

logger = logging.getLogger(__name__)
TOKEN_PREFIX = "fc_"
THROTTLE_LIMIT = 10
THROTTLE_WINDOW = timedelta(minutes=15)
TOKEN_TOUCH_EVERY = timedelta(minutes=1)
SESSION_TOUCH_EVERY = timedelta(minutes=1)
SESSION_IDLE_LIMIT = timedelta(days=14)  # a web session unused this long has ended
LAST_ADMIN = "This is the last active admin; make someone else admin first."
# Checked for unknown e-mails so a wrong address costs as much as a wrong password:
# one per hash method, made on first use (scrypt costs ~0.2 s, not at import).
_DUMMY_HASHES: dict[str, str] = {}


class Throttled(Exception):
    """Too many failed sign-ins for this account or from this address."""

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, -(-retry_after // 60))
        super().__init__(
            f"Too many failed sign-in attempts. Try again in {minutes} minute"
            f"{'' if minutes == 1 else 's'}, or ask an admin to reset your password."
        )
        self.retry_after = retry_after


def _hash_method() -> str:
    return current_settings().password_hash_method


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=_hash_method())


def dummy_hash() -> str:
    """A hash made like real ones (same method and cost), for e-mails with no account."""
    method = _hash_method()
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash("not a real password", method=method)
    return _DUMMY_HASHES[method]


def generate_password() -> str:
    """A one-time password for a new account: 16 URL-safe characters."""
    return secrets.token_urlsafe(12)


def normalise_email(errors: FieldErrors, value: object) -> str | None:
    """An e-mail as accounts store it (trimmed, lower case), or None with a message."""
    return EMAIL.check(errors, value, now=utcnow())  # type: ignore[no-any-return]


def check_password_rules(errors: FieldErrors, field: str, password: object) -> str | None:
    """PASSWORD's rules, with the message filed under `field` (`new_password`...)."""
    return replace(PASSWORD, name=field).check(errors, password, now=utcnow())  # type: ignore[no-any-return]


# ---- users -----------------------------------------------------------------


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id) if 1 <= user_id <= 2**31 - 1 else None
    if user is None:
        raise NotFoundError(f"There is no user #{user_id}.")
    return user


def require_user_by_email(session: Session, email: str) -> User:
    user = get_user_by_email(session, email)
    if user is None:
        raise NotFoundError(f"No user with e-mail {email!r}.")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.email)))


def active_people(session: Session) -> list[tuple[str, str]]:
    """(e-mail, name) of every active account: whom an action item can be given to."""
    rows = session.execute(
        select(User.email, User.name).where(User.active.is_(True)).order_by(User.email)
    )
    return [(email, name) for email, name in rows]


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def create_user(
    session: Session,
    *,
    email: object,
    role: object,
    name: object = "",
    password: object = None,
) -> tuple[User, str | None]:
    """Create an account. Without a password, a one-time one is generated and returned."""
    errors = FieldErrors()
    clean = USER.check(errors, {"email": email, "role": role, "name": name})
    clean_email, clean_role, clean_name = clean["email"], clean["role"], clean["name"] or ""
    one_time = None
    if password is None or password == "":
        one_time = generate_password()
        password = one_time
    else:
        password = check_password_rules(errors, "password", password)
    if clean_email and get_user_by_email(session, clean_email) is not None:
        errors.add("email", "An account with this e-mail already exists.")
    errors.raise_if_any()
    user = User(
        email=clean_email,
        name=clean_name,
        role=clean_role,
        password_hash=hash_password(str(password)),
        must_change_password=one_time is not None,
    )
    session.add(user)
    session.flush()
    return user, one_time


def set_role(session: Session, user: User, role: object, *, acting: User | None = None) -> User:
    errors = FieldErrors()
    clean = ROLE.check(errors, role, now=utcnow())
    errors.raise_if_any()
    if acting is not None and acting.id == user.id and clean != "admin":
        raise ConflictError("You cannot take the admin role away from yourself; ask another admin.")

    def change() -> None:
        user.role = str(clean)

    if user.role == "admin" and clean != "admin":
        _keep_one_admin(session, change)
    else:
        change()
    session.flush()
    return user


def _active_admins() -> Select[tuple[int]]:
    return select(User.id).where(User.role == "admin", User.active.is_(True))


def _keep_one_admin(session: Session, change: Callable[[], None]) -> None:
    """Make `change` (a demotion or deactivation), refusing it if no active admin would remain.

    Two admins demoting each other at once must not both pass: PostgreSQL locks
    every active admin row (in id order, so two guards cannot deadlock) and the
    second guard waits for the first to commit; on SQLite the UPDATE below takes
    the database's write lock before the count is read. The caller rolls back
    on ConflictError.
    """
    session.execute(_active_admins().order_by(User.id).with_for_update())
    change()
    session.flush()
    remaining = session.scalar(select(func.count()).select_from(_active_admins().subquery()))
    if not remaining:
        raise ConflictError(LAST_ADMIN)


def set_active(session: Session, user: User, active: bool, *, acting: User | None = None) -> User:
    """Deactivation ends the user's web sessions and revokes their API tokens at once.

    The tokens are revoked (not merely refused while inactive), so reactivating
    the account does not bring them back; the user makes new ones.
    """
    if active:
        user.active = True
        session.flush()
        return user
    if acting is not None and acting.id == user.id:
        raise ConflictError("You cannot deactivate your own account.")

    def change() -> None:
        now = utcnow()
        user.active = False
        user.session_epoch += 1
        end_sessions(session, user, now=now)
        for token in user.tokens:
            if token.revoked_at is None:
                token.revoked_at = now

    if user.role == "admin":
        _keep_one_admin(session, change)
    else:
        change()
    session.flush()
    return user


def change_password(
    session: Session,
    user: User,
    current: object,
    new: object,
    confirm: object,
    *,
    keep: UserSession | None = None,
) -> User:
    """One's own password change; every other web session of the user ends (`keep` stays)."""
    errors = FieldErrors()
    if not isinstance(current, str) or not check_password_hash(user.password_hash, current):
        errors.add("current_password", "This is not your current password.")
    password = check_password_rules(errors, "new_password", new)
    if password is not None and new != confirm:
        errors.add("confirm_password", "The two new passwords differ.")
    if password is not None and isinstance(current, str) and password == current:
        errors.add("new_password", "Choose a password different from the current one.")
    errors.raise_if_any()
    set_password(session, user, str(password), keep=keep)
    return user


def set_password(
    session: Session, user: User, password: str, *, keep: UserSession | None = None
) -> None:
    """Set a password and end every web session of this user but `keep`.

    The epoch moves on as well, so `keep`'s cookie must be issued again
    (`login_user`); any other cookie is refused even before its row is read.
    """
    user.password_hash = hash_password(password)
    user.must_change_password = False
    user.session_epoch += 1
    end_sessions(session, user, keep=keep)
    session.flush()


def reset_password(session: Session, user: User) -> str:
    """An admin's reset: a new one-time password, every session of the user ended."""
    one_time = generate_password()
    set_password(session, user, one_time)
    user.must_change_password = True
    session.flush()
    return one_time


def update_profile(session: Session, user: User, *, name: object, timezone: object) -> User:
    errors = FieldErrors()
    clean = PROFILE.check(errors, {"name": name, "timezone": timezone})
    errors.raise_if_any()
    user.name, user.timezone = clean["name"] or "", clean["timezone"]
    session.flush()
    return user


# ---- sign-in and throttling ------------------------------------------------------


def check_throttle(session: Session, email: str, address: str, *, now: datetime) -> None:
    """SPEC §5: 10 failures for one account or from one address within 15 minutes → 429.

    Called after this attempt was recorded, so it counts too: an 11th attempt is refused.
    """
    since = now - THROTTLE_WINDOW
    for column, value in ((LoginAttempt.email, email), (LoginAttempt.address, address)):
        failures = session.execute(
            select(func.count(), func.min(LoginAttempt.at)).where(
                column == value, LoginAttempt.at > since
            )
        ).one()
        count, oldest = failures
        if count > THROTTLE_LIMIT and oldest is not None:
            retry = int((oldest + THROTTLE_WINDOW - now).total_seconds()) + 1
            raise Throttled(max(retry, 1))


def _lock_key(kind: str, value: str) -> int:
    digest = hashlib.sha256(f"sign-in {kind} {value}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _serialise_sign_ins(session: Session, email: str, address: str) -> None:
    """One sign-in at a time per e-mail and per address, until the transaction ends.

    PostgreSQL: transaction-scoped advisory locks, taken in a fixed order so two
    sign-ins cannot deadlock. SQLite needs nothing here: the INSERT that follows
    takes the database's single write lock before anything is counted.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted({_lock_key("email", email), _lock_key("address", address)}):
        session.execute(text("SELECT pg_advisory_xact_lock(CAST(:key AS BIGINT))"), {"key": key})


def authenticate(
    session: Session, email: str, password: str, *, address: str, now: datetime | None = None
) -> User | None:
    """The user for these credentials, or None (the failure is recorded). Raises Throttled.

    The attempt is recorded and counted in one serialised step *before* the
    password is checked, and committed at once: while its password is being
    checked it counts as a failure, so 40 simultaneous guesses get at most 10
    checks. A success removes its own attempt again. On Throttled the caller
    rolls back, which removes the refused attempt.
    """
    now = now or utcnow()
    email = (email or "").strip().lower()[:254]
    if not is_storable(email):  # NUL etc.: no account has it, and PostgreSQL cannot store it
        email = "".join(c if is_storable(c) else "\ufffd" for c in email)
    address = (address or "unknown")[:64]
    _serialise_sign_ins(session, email, address)
    attempt = LoginAttempt(email=email, address=address, at=now)
    session.add(attempt)
    session.flush()  # SQLite: the write lock is ours from here to the commit
    check_throttle(session, email, address, now=now)
    # Only the throttle window matters; older rows would only grow the table.
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - 4 * THROTTLE_WINDOW))
    session.commit()  # release the lock before the deliberately slow hash check
    user = get_user_by_email(session, email) if email else None
    ok = check_password_hash(user.password_hash if user else dummy_hash(), password or "")
    if user is None or not ok or not user.active:
        return None
    session.delete(attempt)
    user.last_login_at = now
    session.flush()
    return user


# ---- web sessions ------------------------------------------------------------------


def start_session(session: Session, user: User, *, now: datetime | None = None) -> UserSession:
    """A new web session for `user`, at sign-in; `user.get_id()` then names it for the cookie.

    Ended and idle sessions (anyone's) are deleted here, so the table holds
    roughly one row per browser signed in.
    """
    now = now or utcnow()
    session.execute(
        delete(UserSession).where(
            or_(
                UserSession.ended_at.is_not(None),
                UserSession.last_seen_at < now - SESSION_IDLE_LIMIT,
            )
        )
    )
    secret = secrets.token_urlsafe(32)
    row = UserSession(
        user_id=user.id, secret_hash=_token_hash(secret), created_at=now, last_seen_at=now
    )
    session.add(row)
    session.flush()
    user.web_session, user.web_session_secret = row, secret
    return row


def user_for_session(
    session: Session, cookie_id: str, *, now: datetime | None = None
) -> User | None:
    """The user behind a session cookie's `user id:epoch:secret`, if that session is live.

    One query (the user joined to the session row). Refused: a malformed id, an
    unknown or ended session, one idle too long, a moved-on epoch (password
    changed), an inactive user.
    """
    parts = cookie_id.split(":")
    if len(parts) != 3 or not 20 <= len(parts[2]) <= 100:
        return None
    try:
        uid, epoch = int(parts[0]), int(parts[1])
    except ValueError:
        return None
    if not 1 <= uid <= 2**31 - 1:
        return None
    found = session.execute(
        select(User, UserSession)
        .join(UserSession, UserSession.user_id == User.id)
        .where(User.id == uid, UserSession.secret_hash == _token_hash(parts[2]))
        .options(lazyload(User.tokens))
    ).first()
    if found is None:
        return None
    user, row = found
    now = now or utcnow()
    if (
        row.ended_at is not None
        or row.last_seen_at < now - SESSION_IDLE_LIMIT
        or not user.active
        or user.session_epoch != epoch
    ):
        return None
    if now - row.last_seen_at > SESSION_TOUCH_EVERY:
        _touch_session(session, row.id, now)
    user.web_session, user.web_session_secret = row, parts[2]
    return user


def _touch_session(session: Session, row_id: int, now: datetime) -> None:
    defer_bookkeeping(
        session,
        update(UserSession).where(UserSession.id == row_id).values(last_seen_at=now),
        f"web session {row_id}",
    )


def end_session(session: Session, row: UserSession | None) -> None:
    """Sign-out: this session stops working on every app process."""
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()
        session.flush()


def end_sessions(
    session: Session, user: User, *, keep: UserSession | None = None, now: datetime | None = None
) -> None:
    """End every live web session of `user` except `keep`."""
    query = update(UserSession).where(
        UserSession.user_id == user.id, UserSession.ended_at.is_(None)
    )
    if keep is not None:
        query = query.where(UserSession.id != keep.id)
    session.execute(query.values(ended_at=now or utcnow()))


# ---- API tokens --------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class NewToken:
    row: ApiToken
    secret: str


def create_token(session: Session, user: User, name: object = "") -> NewToken:
    errors = FieldErrors()
    clean_name = TOKEN.check(errors, {"name": name})["name"] or ""
    errors.raise_if_any()
    if not user.active:
        raise ConflictError("A deactivated user cannot get a token.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user=user, name=clean_name, token_hash=_token_hash(secret), prefix=secret[:10])
    session.add(row)
    session.flush()
    return NewToken(row=row, secret=secret)


def user_for_token(
    session: Session,
    secret: str,
    *,
    now: datetime | None = None,
    known: KnownTokens | None = None,
) -> User | None:
    """The active user behind an unrevoked token; notes when the token was last used.

    The note is bookkeeping (`defer_bookkeeping`), so it never costs the caller its answer.
    With `known`, what was found is kept under the credentials version
    (catalog.auth.known_tokens): one number read per request instead of the join.
    """
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token_hash = _token_hash(secret)
    now = now or utcnow()
    version = credentials_version(session) if known is not None else 0
    found = known.get(token_hash, version) if known is not None else None
    if found is not None:
        user = attach(session, found.user)
    else:
        row = session.scalar(
            select(ApiToken)
            .join(ApiToken.user)
            .options(contains_eager(ApiToken.user))  # one query for the token and its user
            .where(ApiToken.token_hash == token_hash)
        )
        if row is None or row.revoked_at is not None or not row.user.active:
            return None
        user = row.user
        found = Known(version, row.id, row.prefix, row.last_used_at, snapshot(user))
        if known is not None:
            known.put(token_hash, found)
    if found.last_used_at is None or now - found.last_used_at > TOKEN_TOUCH_EVERY:
        defer_bookkeeping(
            session,
            update(ApiToken).where(ApiToken.id == found.token_id).values(last_used_at=now),
            f"token {found.prefix}",
            on_written=partial(setattr, found, "last_used_at", now),
        )
    return user


def get_token(session: Session, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id) if 1 <= token_id <= 2**31 - 1 else None
    if row is None:
        raise NotFoundError(f"There is no token #{token_id}.")
    return row


def revoke_token(session: Session, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
    return token
