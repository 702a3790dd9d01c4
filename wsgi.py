"""WSGI entry point for production servers, e.g. `gunicorn wsgi:app`.

Configuration comes from CATALOG_* environment variables; CATALOG_SECRET_KEY is
required. Run `catalog db upgrade` before starting a new release.
"""

from catalog import create_app

app = create_app()
