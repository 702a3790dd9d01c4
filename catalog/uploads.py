"""An uploaded file's bytes as text and as JSON, refused under `file` with the reason.

Every file reader shares these (imports, load-test results, release evidence): the same
byte order mark, the same words for an empty file, for text that is not UTF-8, and for
JSON that is malformed, nested too deeply or holds a number Python will not read.
"""

from __future__ import annotations

import json
from typing import Any

from catalog.errors import ValidationError


def read_text(raw: bytes) -> str:
    if not raw.strip():
        raise ValidationError({"file": ["The file is empty."]})
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            {"file": [f"Not UTF-8 text (byte {exc.start} cannot be read)."]}
        ) from exc


def read_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            {"file": [f"Not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}."]}
        ) from exc
    except RecursionError as exc:
        raise ValidationError({"file": ["The JSON is nested too deeply to read."]}) from exc
    except ValueError as exc:  # e.g. a number of more than 4,300 digits
        raise ValidationError({"file": [f"The JSON cannot be read: {exc}."]}) from exc
