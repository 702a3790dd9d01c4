"""Who is asking, and may they? The single seam where login and roles drop in.

Issue 2 ships without accounts: every request is allowed. The next issue
fills `authorize()` in; all blueprints already route through it.
"""

from __future__ import annotations

from flask import Flask


def authorize() -> None:
    """Called before every request; raises an HTTP error to refuse one."""
    return None


def init_app(app: Flask) -> None:
    app.before_request(authorize)
