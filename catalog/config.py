"""Configuration read from the environment, with safe defaults.

One `Config` class; tests pass overrides to `create_app`. Nothing secret has a
production default: without `CATALOG_SECRET_KEY` the app only starts in
development mode (`make run`, `catalog run`), where a random key is generated.
"""

from __future__ import annotations

import os
import secrets
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MTTR_FROM_CHOICES = ("detected", "started")
SECRET_KEY_MIN_BYTES = 32


class ConfigError(RuntimeError):
    """Raised at start-up when an environment variable has an unusable value."""


def _int_env(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def load_config(instance_path: str) -> dict[str, object]:
    """Read every CATALOG_* variable into Flask config keys.

    Called once by the factory; a bad value stops start-up with a readable
    message instead of failing later inside a request.
    """
    tz_name = os.environ.get("CATALOG_TIMEZONE", "UTC") or "UTC"
    try:
        ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"CATALOG_TIMEZONE {tz_name!r} is not a known IANA time zone") from exc
    mttr_from = (os.environ.get("CATALOG_MTTR_FROM", "detected") or "detected").lower()
    if mttr_from not in MTTR_FROM_CHOICES:
        raise ConfigError(f"CATALOG_MTTR_FROM must be 'detected' or 'started', got {mttr_from!r}")
    default_db = "sqlite:///" + os.path.join(instance_path, "catalog.sqlite")
    return {
        "DATABASE_URL": os.environ.get("CATALOG_DATABASE_URL") or default_db,
        "SECRET_KEY": _secret_key(),
        "TIMEZONE": tz_name,
        "RCA_HOURS": _int_env("CATALOG_RCA_HOURS", 48),
        "MTTR_FROM": mttr_from,
        "MTTD_TARGET_MINUTES": _int_env("CATALOG_MTTD_TARGET_MINUTES", 5),
        "MTTR_TARGET_MINUTES": _int_env("CATALOG_MTTR_TARGET_MINUTES", 15),
        "ALERT_DEFAULT_VECTOR": (os.environ.get("CATALOG_ALERT_DEFAULT_VECTOR") or "").strip(),
        "METRICS_CACHE_SIZE": _int_env("CATALOG_METRICS_CACHE_SIZE", 256, minimum=0),
        "REFRESH_AHEAD": _bool_env("CATALOG_REFRESH_AHEAD", default=True),
        "DB_TIMEOUT_SECONDS": _int_env("CATALOG_DB_TIMEOUT_SECONDS", 15),
        "DEV_MODE": os.environ.get("CATALOG_ENV", "production") == "development",
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "IMPORT_MAX_BYTES": _int_env("CATALOG_IMPORT_MAX_MB", 64) * 1024 * 1024,
        # Uploads larger than this run as a background job with a status page.
        "IMPORT_BACKGROUND_BYTES": _int_env("CATALOG_IMPORT_BACKGROUND_KB", 1024, minimum=0) * 1024,
        "PER_PAGE": 50,
        **_serving_config(),
    }


def _secret_key() -> str | None:
    """CATALOG_SECRET_KEY, or the contents of the file CATALOG_SECRET_KEY_FILE names.

    A file keeps the secret out of the process environment (systemd's
    LoadCredential, a Kubernetes secret volume, `make serve`'s instance/secret_key).
    """
    key = os.environ.get("CATALOG_SECRET_KEY")
    if key:
        return key
    path = os.environ.get("CATALOG_SECRET_KEY_FILE")
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip() or None
    except OSError as exc:
        raise ConfigError(
            f"CATALOG_SECRET_KEY_FILE {path!r} cannot be read: {exc.strerror}"
        ) from exc


def _bool_env(name: str, default: bool = False) -> bool:
    raw = (os.environ.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in ("0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be 1 or 0 (true or false), got {raw!r}")


def _serving_config() -> dict[str, object]:
    """What changes behind a reverse proxy or over HTTPS (docs/deploy.md).

    CATALOG_PROXY_HOPS: how many proxies in front of the app set X-Forwarded-*;
    0 (the default) trusts none of those headers, since anyone can send them.
    CATALOG_TRUSTED_HOSTS: the host names the app answers to; any other Host
    header is refused (400), so nothing the app builds from it (the API's
    `next` links) can point elsewhere.
    """
    hosts = [h.strip() for h in (os.environ.get("CATALOG_TRUSTED_HOSTS") or "").split(",")]
    secure = _bool_env("CATALOG_SECURE_COOKIES")
    return {
        "PROXY_HOPS": _int_env("CATALOG_PROXY_HOPS", 0, minimum=0),
        "TRUSTED_HOSTS": [h for h in hosts if h] or None,
        "SECURE_COOKIES": secure,
        "SESSION_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_SECURE": secure,
    }


def ensure_secret_key(config: dict[str, object]) -> None:
    """Refuse to run in production without a strong secret; invent one in development.

    Whoever knows the key can forge a session cookie for any user, so a short,
    guessable one ("changeme") is refused in production like a missing one. A CLI
    command that serves no page (SECRET_KEY_OPTIONAL) signs nothing: it runs with a
    throwaway key and leaves the problem in SECRET_KEY_PROBLEM for `catalog run`.
    """
    key = config.get("SECRET_KEY")
    relaxed = config.get("DEV_MODE") or config.get("TESTING")
    problem = None
    if not key:
        problem = (
            "CATALOG_SECRET_KEY is not set. Set it (or CATALOG_SECRET_KEY_FILE) to a long random "
            "string, e.g. `python3 -c 'import secrets; print(secrets.token_hex(32))'`, "
            "or set CATALOG_ENV=development for a local run."
        )
    elif (size := len(str(key).encode("utf-8"))) < SECRET_KEY_MIN_BYTES:
        problem = (
            f"CATALOG_SECRET_KEY is {size} bytes long; production needs at least "
            f"{SECRET_KEY_MIN_BYTES} random bytes, e.g. `python3 -c 'import secrets; "
            "print(secrets.token_hex(32))'`."
        )
    if problem is None or relaxed:
        if not key:
            config["SECRET_KEY"] = secrets.token_hex(32)
        return
    if not config.get("SECRET_KEY_OPTIONAL"):
        raise ConfigError(problem)
    config["SECRET_KEY"] = secrets.token_hex(32)
    config["SECRET_KEY_PROBLEM"] = problem
