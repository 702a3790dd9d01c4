"""Failure Catalog: incidents of LLM/ML services, their failure vectors, MTTD/MTTR."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask

from catalog.json_provider import FastJSONProvider

if TYPE_CHECKING:
    from catalog.reports.shared import SharedReports

__version__ = "0.1.0"


def _templates_dir() -> str:
    """Top-level `templates/` in a checkout; packaged copy inside an installed wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "templates", here / "templates"):
        if candidate.is_dir():
            return str(candidate)
    return str(here / "templates")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Application factory; reads like a table of contents."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("CATALOG_INSTANCE_PATH") or None,
        instance_relative_config=True,
        template_folder=_templates_dir(),
    )
    app.json = FastJSONProvider(app)
    configure(app, config)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def configure(app: Flask, overrides: dict[str, Any] | None) -> None:
    from catalog.config import ensure_secret_key, load_config
    from catalog.reports.cache import MetricsCache
    from catalog.settings import install

    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(load_config(app.instance_path))
    app.config.update(overrides or {})
    ensure_secret_key(app.config)
    install(app)
    app.extensions["catalog.metrics_cache"] = MetricsCache(
        int(app.config["METRICS_CACHE_SIZE"]), shared=shared_reports(app)
    )


def shared_reports(app: Flask) -> SharedReports | None:
    """The folder where worker processes share computed reports; None when unusable."""
    from catalog.reports.shared import SharedReports

    if not app.config["METRICS_CACHE_SIZE"]:
        return None
    try:
        return SharedReports(os.path.join(app.instance_path, "cache", "reports"))
    except OSError as exc:
        app.logger.warning("Reports are not shared between workers: %s", exc)
        return None


def register_extensions(app: Flask) -> None:
    from catalog import auth, db, security, sessions
    from catalog.audit.service import install as install_audit
    from catalog.reports import cache as reports_cache
    from catalog.web import csrf, filters

    sessions.init_app(app)
    install_audit(db.CatalogSession)
    reports_cache.init_app(app)
    csrf.init_app(app)
    security.init_app(app)
    auth.init_app(app)
    filters.init_app(app)


def register_blueprints(app: Flask) -> None:
    from catalog.api import bp as api_bp
    from catalog.auth.admin_views import bp as admin_bp
    from catalog.auth.views import bp as auth_bp
    from catalog.dashboard.views import bp as dashboard_bp
    from catalog.exports.views import bp as exports_bp
    from catalog.health import bp as health_bp
    from catalog.imports.views import bp as imports_bp
    from catalog.incidents.views import bp as incidents_bp
    from catalog.postmortems.views import bp as postmortems_bp
    from catalog.releases.views import bp as releases_bp
    from catalog.reports.views import bp as reports_bp
    from catalog.vectors.views import bp as vectors_bp

    blueprints = (
        dashboard_bp,
        vectors_bp,
        incidents_bp,
        releases_bp,
        postmortems_bp,
        reports_bp,
        exports_bp,
        imports_bp,
    )
    for bp in (*blueprints, auth_bp, admin_bp, api_bp, health_bp):
        app.register_blueprint(bp)


def register_errorhandlers(app: Flask) -> None:
    from catalog.web.errors import init_app

    init_app(app)


def register_commands(app: Flask) -> None:
    from catalog.cli import register

    register(app)
