"""A release-evidence file: releases with their load-test tiers, in one JSON document.

What a pipeline (or this project's own `bench/load.py --release-file`) writes after a
load test, for `catalog releases import`:

    {"format": "failure-catalog-release-evidence", "version": 1,
     "releases": [{"service": "…", "tag": "…", "deployed_at": "…Z", …release fields…,
                   "source": "wrk",
                   "load_tests": [{"tier": "1x", "rps": …, "p50_ms": …, "p95_ms": …,
                                   "p99_ms": …, "error_rate": …, "requests": …}]}]}

Every release and tier passes the same rules as one typed in; the first bad one stops
the import with its place (`releases[0].load_tests[2].p99_ms`) and nothing is written.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from catalog.errors import FieldErrors, ValidationError
from catalog.releases.models import Release
from catalog.releases.service import create_release, record_load_test
from catalog.releases.spec import LOAD_SOURCES, LOAD_TEST, RELEASE, RELEASE_TIMES
from catalog.timefmt import parse_timestamp
from catalog.uploads import read_json, read_text

FORMAT = "failure-catalog-release-evidence"
VERSION = 1
MAX_BYTES = 2 * 2**20
MAX_RELEASES = 100


def read_evidence(raw: bytes) -> dict[str, Any]:
    def refuse(message: str) -> ValidationError:
        return ValidationError({"file": [message]}, f"The evidence file is refused: {message}")

    if len(raw) > MAX_BYTES:
        raise refuse(f"The file is larger than {MAX_BYTES // 2**20} MiB.")
    try:
        document = read_json(read_text(raw))
    except ValidationError as exc:
        raise refuse(exc.fields["file"][0]) from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValidationError(
            {"format": [f'Not a release-evidence file: expected "format": "{FORMAT}".']}
        )
    if type(document.get("version")) is not int or document["version"] != VERSION:
        raise ValidationError({"version": [f"Version must be {VERSION}."]})
    releases = document.get("releases")
    if not isinstance(releases, list) or not releases:
        raise ValidationError({"releases": ["Must be a list of at least one release."]})
    if len(releases) > MAX_RELEASES:
        raise ValidationError({"releases": [f"At most {MAX_RELEASES} releases per file."]})
    unknown = set(document) - {"format", "version", "releases"}
    if unknown:
        raise ValidationError({str(k)[:60]: ["Unknown field."] for k in unknown})
    return document


def import_evidence(session: Session, document: dict[str, Any]) -> list[Release]:
    """Create each release and its tiers; flushes, never commits (the caller does)."""
    created = []
    for index, record in enumerate(document["releases"]):
        where = f"releases[{index}]"
        refused = f"Record {where} is refused; nothing was imported."
        if not isinstance(record, dict):
            raise ValidationError({where: ["Each release must be an object."]}, refused)
        errors = FieldErrors()
        for key in record:
            if key not in (*RELEASE.names, "load_tests", "source"):
                errors.add(f"{where}.{str(key)[:60]}", "Unknown field.")
        data = {k: v for k, v in record.items() if k in RELEASE.names}
        for name in RELEASE_TIMES:
            if name in data:
                data[name] = parse_timestamp(errors, f"{where}.{name}", data[name])
        source = record.get("source", "typed")
        if source not in LOAD_SOURCES:
            errors.add(f"{where}.source", f"Source must be one of: {', '.join(LOAD_SOURCES)}.")
        tiers = record.get("load_tests", [])
        if not isinstance(tiers, list):
            errors.add(f"{where}.load_tests", "Must be a list.")
        errors.raise_if_any()
        try:
            release = create_release(session, data)
        except ValidationError as exc:
            raise _placed(exc, where, refused) from exc
        for number, tier in enumerate(tiers):
            at = f"{where}.load_tests[{number}]"
            if not isinstance(tier, dict):
                raise ValidationError({at: ["Each tier must be an object."]}, refused)
            extra = set(tier) - set(LOAD_TEST.names)
            if extra:
                raise ValidationError(
                    {f"{at}.{str(k)[:60]}": ["Unknown field."] for k in extra}, refused
                )
            try:
                record_load_test(session, release, tier, source=source)
            except ValidationError as exc:
                raise _placed(exc, at, refused) from exc
        created.append(release)
    return created


def _placed(exc: ValidationError, where: str, message: str) -> ValidationError:
    return ValidationError({f"{where}.{k}": v for k, v in exc.fields.items()}, message)
