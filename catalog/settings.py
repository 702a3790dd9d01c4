"""The settings domain code reads: one frozen object per app, built once from its config.

Metrics, the dossier, the CSV export, password hashing and the Alertmanager hook
take their knobs from here, never from `current_app.config`, so a plain function
called by the CLI, a benchmark or a test gets them as an argument and the views
and API get the app's one copy through `current_settings()`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import Flask, current_app, has_app_context

_KEY = "catalog.settings"


@dataclass(frozen=True)
class Settings:
    rca_hours: int = 48
    mttr_from: str = "detected"
    mttd_target_minutes: int = 5
    mttr_target_minutes: int = 15
    timezone: str = "UTC"
    # scrypt in production; tests pass a cheap method through the app config
    password_hash_method: str = "scrypt"
    # the vector for an Alertmanager alert without a `failure_vector` label
    alert_default_vector: str | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> Settings:
        return cls(
            rca_hours=int(config["RCA_HOURS"]),  # type: ignore[call-overload]
            mttr_from=str(config["MTTR_FROM"]),
            mttd_target_minutes=int(config["MTTD_TARGET_MINUTES"]),  # type: ignore[call-overload]
            mttr_target_minutes=int(config["MTTR_TARGET_MINUTES"]),  # type: ignore[call-overload]
            timezone=str(config["TIMEZONE"]),
            password_hash_method=str(config.get("PASSWORD_HASH_METHOD") or "scrypt"),
            alert_default_vector=str(config.get("ALERT_DEFAULT_VECTOR") or "") or None,
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def install(app: Flask) -> None:
    """Freeze the app's settings; called by the factory once its config is final."""
    app.extensions[_KEY] = Settings.from_config(app.config)


def settings_of(app: Flask) -> Settings:
    return app.extensions[_KEY]  # type: ignore[no-any-return]


def current_settings() -> Settings:
    """The running app's settings; the defaults outside an app (a bare script)."""
    return settings_of(current_app) if has_app_context() else Settings()  # type: ignore[arg-type]
