"""WSGI entry point for production servers, e.g. `gunicorn wsgi:app`.

Configuration comes from CATALOG_* environment variables; CATALOG_SECRET_KEY is
required. Run `catalog db upgrade` before starting a new release.
"""

import faulthandler

from catalog import create_app

# A fatal signal (e.g. SIGBUS from a SQLite -shm file cut short under a request)
# then leaves a Python traceback in the server's log instead of a silent death.
faulthandler.enable()

app = create_app()
