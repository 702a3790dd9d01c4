"""Shared web plumbing: CSRF, Jinja filters, error pages, the home page."""

from flask_wtf import CSRFProtect

csrf = CSRFProtect()
