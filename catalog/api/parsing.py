"""Turning JSON into typed values for the domain functions.

Only the shape of the input is checked here (types, ISO 8601 with offset,
unknown fields); every domain rule is left to the service functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from flask import request
from werkzeug.exceptions import BadRequest

from catalog.errors import FieldErrors, ValidationError
from catalog.rules import parse_whole_number
from catalog.timefmt import parse_timestamp


class MalformedRequest(Exception):
    """Body missing, not JSON, or not a JSON object: a 400."""


def json_body() -> dict[str, Any]:
    if not request.is_json:
        raise MalformedRequest("Send a JSON object with Content-Type: application/json.")
    raw = request.get_data(cache=True)
    try:  # strict UTF-8 (RFC 8259): no Latin-1, overlongs, encoded surrogates, UTF-16 or UTF-32
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedRequest("The request body is not valid UTF-8.") from exc
    if b"\x00" in raw:  # never in JSON text; in UTF-16/32 text, which json would guess and accept
        raise MalformedRequest("The request body is not valid UTF-8 JSON.")
    try:
        data = request.get_json(force=False, silent=False)
    except (BadRequest, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise MalformedRequest("The request body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise MalformedRequest("The request body must be a JSON object.")
    return data


def refuse_unknown(data: dict[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationError(
            {key[:100]: ["Unknown field."] for key in unknown[:50]},
            "The request has unknown fields.",
        )


def parse_date(errors: FieldErrors, field: str, value: object) -> date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors.add(field, "Must be a date string YYYY-MM-DD.")
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        errors.add(field, "Not a valid date, expected YYYY-MM-DD.")
        return None


def read_timestamps(
    errors: FieldErrors, data: dict[str, Any], fields: Iterable[str]
) -> dict[str, Any]:
    """Timestamp strings as datetimes; what cannot be read is noted in `errors` and left
    for the domain to skip, so one answer names every problem (see catalog.fields)."""
    out = dict(data)
    for field in fields:
        if field in data:
            out[field] = parse_timestamp(errors, field, data[field])
    return out


def query_int(errors: FieldErrors, name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    value = parse_whole_number(raw)
    if value is None:
        errors.add(name, "Must be a whole number written with the digits 0-9.")
        return default
    return value


def query_timestamp(errors: FieldErrors, name: str) -> datetime | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    return parse_timestamp(errors, name, raw)
