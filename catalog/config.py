"""Configuration read from the environment, with safe defaults.

One `Config` class; tests pass overrides to `create_app`. Nothing secret has a
production default: without `CATALOG_SECRET_KEY` the app only starts in
development mode (`make run`, `catalog run`), where a random key is generated.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MTTR_FROM_CHOICES = ("detected", "started")


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
        "SECRET_KEY": os.environ.get("CATALOG_SECRET_KEY") or None,
        "TIMEZONE": tz_name,
        "RCA_HOURS": _int_env("CATALOG_RCA_HOURS", 48),
        "MTTR_FROM": mttr_from,
        "MTTD_TARGET_MINUTES": _int_env("CATALOG_MTTD_TARGET_MINUTES", 5),
        "MTTR_TARGET_MINUTES": _int_env("CATALOG_MTTR_TARGET_MINUTES", 15),
        "ALERT_DEFAULT_VECTOR": (os.environ.get("CATALOG_ALERT_DEFAULT_VECTOR") or "").strip(),
        "METRICS_CACHE_SIZE": _int_env("CATALOG_METRICS_CACHE_SIZE", 256, minimum=0),
        "DB_TIMEOUT_SECONDS": _int_env("CATALOG_DB_TIMEOUT_SECONDS", 15),
        "DEV_MODE": os.environ.get("CATALOG_ENV", "production") == "development",
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "IMPORT_MAX_BYTES": _int_env("CATALOG_IMPORT_MAX_MB", 64) * 1024 * 1024,
        "PER_PAGE": 50,
    }


def ensure_secret_key(config: dict[str, object]) -> None:
    """Refuse to run in production without a secret; invent one in development."""
    if config.get("SECRET_KEY"):
        return
    if config.get("DEV_MODE") or config.get("TESTING"):
        config["SECRET_KEY"] = secrets.token_hex(32)
        return
    raise ConfigError(
        "CATALOG_SECRET_KEY is not set. Set it to a long random string, "
        "or set CATALOG_ENV=development for a local run."
    )


@dataclass(frozen=True)
class MetricSettings:
    """The knobs every metric depends on, so domain code never reads Flask config."""

    rca_hours: int = 48
    mttr_from: str = "detected"
    mttd_target_minutes: int = 5
    mttr_target_minutes: int = 15
    timezone: str = "UTC"

    @classmethod
    def from_config(cls, config: dict[str, object]) -> MetricSettings:
        return cls(
            rca_hours=int(config["RCA_HOURS"]),
            mttr_from=str(config["MTTR_FROM"]),
            mttd_target_minutes=int(config["MTTD_TARGET_MINUTES"]),
            mttr_target_minutes=int(config["MTTR_TARGET_MINUTES"]),
            timezone=str(config["TIMEZONE"]),
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
