"""Where the real incident history is: 819 incidents of GitHub's status page.

The data lives next to the repository (../shared/data, or CATALOG_SHARED_DATA) and is
never copied into it; tests/test_realdata.py and tests/test_statuspage.py read it, and
skip (or in CI fail) where it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

# Read at import: the autouse fixture of conftest clears CATALOG_* variables before each test.
DATA_DIR = Path(
    os.environ.get("CATALOG_SHARED_DATA")
    or Path(__file__).resolve().parents[2].parent / "shared" / "data"
)
DATA_FILE = DATA_DIR / "github-status-incidents.jsonl"
