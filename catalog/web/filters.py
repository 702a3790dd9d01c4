"""Jinja filters and globals: every duration and time on a page goes through these."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, g, request

from catalog.audit.display import ChangeRow, change_rows
from catalog.exports.mdtext import md_inline, md_prose
from catalog.reports.drill import incidents_url, releases_url
from catalog.security import render_markdown
from catalog.settings import current_settings
from catalog.timefmt import format_local, human_duration
from catalog.web.forms import error_summary


def display_zone() -> ZoneInfo:
    """The signed-in user's own zone, else the team's (CATALOG_TIMEZONE).

    Only display and form input follow the user; metric periods stay in the
    team's zone so everyone sees the same weekly and monthly numbers.
    """
    actor = g.get("actor")
    if actor is not None and actor.timezone:
        try:
            return ZoneInfo(actor.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return current_settings().zone


def _localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    return format_local(value, display_zone(), fmt)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def _url_with(**changes: object) -> str:
    """The current URL with some query arguments replaced (pagination, sorting)."""
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = str(value)
    return request.path + ("?" + urlencode(args) if args else "")


def _change_rows(changes: Mapping[str, Any]) -> list[ChangeRow]:
    return change_rows(changes, display_zone())


def init_app(app: Flask) -> None:
    app.add_template_filter(human_duration, "duration")
    app.add_template_filter(_localtime, "localtime")
    app.add_template_filter(render_markdown, "markdown")
    app.add_template_filter(_percent, "percent")
    app.add_template_filter(md_inline, "md_cell")
    app.add_template_filter(md_prose, "md_prose")
    app.add_template_global(_url_with, "url_with")
    app.add_template_global(error_summary, "error_summary")
    app.add_template_global(_change_rows, "change_rows")
    app.add_template_global(lambda: str(display_zone()), "current_zone")
    app.add_template_global(incidents_url, "incidents_url")
    app.add_template_global(releases_url, "releases_url")

    @app.context_processor
    def _inject() -> dict[str, object]:
        return {"catalog_settings": current_settings(), "display_zone": str(display_zone())}
