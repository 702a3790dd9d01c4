"""Account rules: users, roles, passwords, API tokens and sign-in throttling.

Passwords are hashed with werkzeug's scrypt; API tokens are random strings
shown once and stored as SHA-256 (they are long and random, so a fast hash is
enough and lets every API call look a token up by its hash).
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context
from sqlalchemy import Connection, Engine, delete, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.security import check_password_hash, generate_password_hash

from catalog.auth.models import ROLES, ApiToken, LoginAttempt, User
from catalog.db import utcnow
from catalog.errors import ConflictError, FieldErrors, NotFoundError
from catalog.rules import SHORT_MAX, check_text, is_storable

logger = logging.getLogger(__name__)
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")
PASSWORD_MIN = 10
PASSWORD_MAX = 200
TOKEN_PREFIX = "fc_"
THROTTLE_LIMIT = 10
THROTTLE_WINDOW = timedelta(minutes=15)
TOKEN_TOUCH_EVERY = timedelta(minutes=1)
# Checked even for unknown e-mails so a wrong address costs as much as a wrong password.
_DUMMY_HASH = generate_password_hash("not a real password", method="pbkdf2:sha256:1000")


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
    if has_app_context():
        return str(current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"))
    return "scrypt"


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=_hash_method())


def generate_password() -> str:
    """A one-time password for a new account: 16 URL-safe characters."""
    return secrets.token_urlsafe(12)


def normalise_email(errors: FieldErrors, value: object) -> str | None:
    email = check_text(errors, "email", value, max_length=254, required=True, label="E-mail")
    if email is None:
        return None
    email = email.lower()
    if not EMAIL_RE.match(email):
        errors.add("email", "Enter an e-mail address like name@example.com.")
        return None
    return email


def check_password_rules(errors: FieldErrors, field: str, password: object) -> str | None:
    if not isinstance(password, str) or not password:
        errors.add(field, "Password is required.")
        return None
    if len(password) < PASSWORD_MIN:
        errors.add(field, f"Password must be at least {PASSWORD_MIN} characters.")
        return None
    if len(password) > PASSWORD_MAX:
        errors.add(field, f"Password must be at most {PASSWORD_MAX} characters.")
        return None
    if "\x00" in password:
        errors.add(field, "Password cannot contain a NUL character.")
        return None
    return password


def check_role(errors: FieldErrors, role: object) -> str | None:
    if role not in ROLES:
        errors.add("role", f"Role must be one of: {', '.join(ROLES)}.")
        return None
    return str(role)


def check_timezone(errors: FieldErrors, value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 64:
        errors.add("timezone", "Pick a time zone from the list.")
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        errors.add("timezone", f"{value!r} is not a known time zone.")
        return None
    return value


# ---- users -----------------------------------------------------------------


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id) if 1 <= user_id <= 2**31 - 1 else None
    if user is None:
        raise NotFoundError(f"No user with id {user_id}.")
    return user


def require_user_by_email(session: Session, email: str) -> User:
    user = get_user_by_email(session, email)
    if user is None:
        raise NotFoundError(f"No user with e-mail {email!r}.")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.email)))


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
    clean_email = normalise_email(errors, email)
    clean_role = check_role(errors, role)
    clean_name = check_text(errors, "name", name or "", max_length=SHORT_MAX) or ""
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
    clean = check_role(errors, role)
    errors.raise_if_any()
    if acting is not None and acting.id == user.id and clean != "admin":
        raise ConflictError("You cannot take the admin role away from yourself; ask another admin.")
    if user.role == "admin" and clean != "admin":
        _keep_one_admin(session, user)
    user.role = str(clean)
    session.flush()
    return user


def _keep_one_admin(session: Session, user: User) -> None:
    admins = session.scalar(
        select(func.count()).select_from(User).where(User.role == "admin", User.active.is_(True))
    )
    if user.active and (admins or 0) <= 1:
        raise ConflictError("This is the last active admin; make someone else admin first.")


def set_active(session: Session, user: User, active: bool, *, acting: User | None = None) -> User:
    """Deactivation ends the user's sessions and tokens at once (their epoch moves on)."""
    if not active:
        if acting is not None and acting.id == user.id:
            raise ConflictError("You cannot deactivate your own account.")
        if user.role == "admin":
            _keep_one_admin(session, user)
        user.session_epoch += 1
    user.active = active
    session.flush()
    return user


def change_password(
    session: Session, user: User, current: object, new: object, confirm: object
) -> User:
    errors = FieldErrors()
    if not isinstance(current, str) or not check_password_hash(user.password_hash, current):
        errors.add("current_password", "This is not your current password.")
    password = check_password_rules(errors, "new_password", new)
    if password is not None and new != confirm:
        errors.add("confirm_password", "The two new passwords differ.")
    if password is not None and isinstance(current, str) and password == current:
        errors.add("new_password", "Choose a password different from the current one.")
    errors.raise_if_any()
    set_password(session, user, str(password))
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """Set a password and end every other session of this user."""
    user.password_hash = hash_password(password)
    user.must_change_password = False
    user.session_epoch += 1
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
    clean_name = check_text(errors, "name", name or "", max_length=SHORT_MAX) or ""
    clean_tz = check_timezone(errors, timezone)
    errors.raise_if_any()
    user.name, user.timezone = clean_name, clean_tz
    session.flush()
    return user


# ---- sign-in and throttling ------------------------------------------------------


def check_throttle(session: Session, email: str, address: str, *, now: datetime) -> None:
    """SPEC §5: 10 failures for one account or from one address within 15 minutes → 429."""
    since = now - THROTTLE_WINDOW
    for column, value in ((LoginAttempt.email, email), (LoginAttempt.address, address)):
        failures = session.execute(
            select(func.count(), func.min(LoginAttempt.at)).where(
                column == value, LoginAttempt.at > since
            )
        ).one()
        count, oldest = failures
        if count >= THROTTLE_LIMIT and oldest is not None:
            retry = int((oldest + THROTTLE_WINDOW - now).total_seconds()) + 1
            raise Throttled(max(retry, 1))


def authenticate(
    session: Session, email: str, password: str, *, address: str, now: datetime | None = None
) -> User | None:
    """The user for these credentials, or None (the failure is recorded). Raises Throttled."""
    now = now or utcnow()
    email = (email or "").strip().lower()[:254]
    if not is_storable(email):  # NUL etc.: no account has it, and PostgreSQL cannot store it
        email = "".join(c if is_storable(c) else "\ufffd" for c in email)
    address = (address or "unknown")[:64]
    check_throttle(session, email, address, now=now)
    user = get_user_by_email(session, email) if email else None
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password or "")
    if user is None or not ok or not user.active:
        session.add(LoginAttempt(email=email, address=address, at=now))
        # Only the throttle window matters; older rows would only grow the table.
        session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - 4 * THROTTLE_WINDOW))
        session.flush()
        return None
    user.last_login_at = now
    session.flush()
    return user


# ---- API tokens --------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class NewToken:
    row: ApiToken
    secret: str


def create_token(session: Session, user: User, name: object = "") -> NewToken:
    errors = FieldErrors()
    clean_name = check_text(errors, "name", name or "", max_length=SHORT_MAX) or ""
    errors.raise_if_any()
    if not user.active:
        raise ConflictError("A deactivated user cannot get a token.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user=user, name=clean_name, token_hash=_token_hash(secret), prefix=secret[:10])
    session.add(row)
    session.flush()
    return NewToken(row=row, secret=secret)


def user_for_token(session: Session, secret: str, *, now: datetime | None = None) -> User | None:
    """The active user behind an unrevoked token; notes when the token was last used.

    The note is bookkeeping, so it never costs the caller its answer: it is
    written in a short transaction of its own that waits at most
    TOKEN_TOUCH_WAIT_MS for a lock, and skipped with a warning when the
    database cannot take a write just now (another process holds the lock).
    """
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(secret)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    now = now or utcnow()
    if row.last_used_at is None or now - row.last_used_at > TOKEN_TOUCH_EVERY:
        try:
            _note_token_use(session.get_bind(), row.id, now)
        except DBAPIError as exc:
            logger.warning("Token %s: last use not recorded (%s).", row.prefix, exc.orig)
        else:
            set_committed_value(row, "last_used_at", now)
    return row.user


TOKEN_TOUCH_WAIT_MS = 200


def _note_token_use(engine: Engine | Connection, token_id: int, now: datetime) -> None:
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            wait = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
            conn.exec_driver_sql(f"PRAGMA busy_timeout={TOKEN_TOUCH_WAIT_MS}")
        try:
            if not sqlite:
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{TOKEN_TOUCH_WAIT_MS}ms'")
            conn.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
            conn.commit()
        finally:
            if sqlite:
                conn.rollback()
                conn.exec_driver_sql(f"PRAGMA busy_timeout={int(wait)}")


def get_token(session: Session, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id) if 1 <= token_id <= 2**31 - 1 else None
    if row is None:
        raise NotFoundError(f"No token with id {token_id}.")
    return row


def revoke_token(session: Session, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
    return token
