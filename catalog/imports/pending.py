"""A dry run's file, kept for a short time so that *Import these N incidents* applies it.

After a dry run the user should not have to find the file again and untick a box:
the bytes it checked are kept in the instance folder under a random token, with
who uploaded them and the options they chose. Applying reads exactly those bytes
(the summary the user saw is about them), only for the same account, and only
within KEEP_MINUTES; then they are deleted. Every worker process of one server
sees the same folder; on several hosts behind one address a token made on
another host is "expired" and the user chooses the file again (docs/decisions.md).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

KEEP_MINUTES = 30
TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")


class PendingGone(LookupError):
    """No such dry run for this account, or it expired: the user chooses the file again."""


@dataclass(frozen=True)
class PendingImport:
    """What a dry run checked: the options, beside the bytes in `<token>.bin`."""

    owner_id: int
    fmt: str
    filename: str
    vector: str | None
    rules: list[str] = field(default_factory=list)
    created: float = 0.0


def private_folder(instance_path: str, name: str) -> Path:
    """`instance/imports/<name>`, made readable by the app's user only (uploads in it)."""
    folder = Path(instance_path) / "imports" / name
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _folder(instance_path: str) -> Path:
    return private_folder(instance_path, "pending")


def keep(instance_path: str, pending: PendingImport, raw: bytes) -> str:
    """Store a dry run's file and options; the token names them (and nothing else can)."""
    folder = _folder(instance_path)
    sweep(instance_path)
    token = secrets.token_urlsafe(24)
    meta = {**asdict(pending), "created": time.time()}
    for suffix, data in ((".bin", raw), (".json", json.dumps(meta).encode("utf-8"))):
        path = folder / f"{token}{suffix}"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
    return token


def take(instance_path: str, token: str, owner_id: int) -> tuple[PendingImport, bytes]:
    """The options and bytes of a dry run of `owner_id`'s; PendingGone otherwise."""
    if not TOKEN.fullmatch(token or ""):
        raise PendingGone(token)
    folder = _folder(instance_path)
    try:
        meta = json.loads((folder / f"{token}.json").read_text("utf-8"))
        raw = (folder / f"{token}.bin").read_bytes()
    except (OSError, ValueError) as exc:
        raise PendingGone(token) from exc
    pending = PendingImport(**meta)
    if pending.owner_id != owner_id or time.time() - pending.created > KEEP_MINUTES * 60:
        raise PendingGone(token)
    return pending, raw


def drop(instance_path: str, token: str) -> None:
    if not TOKEN.fullmatch(token or ""):
        return
    for suffix in (".bin", ".json"):
        (_folder(instance_path) / f"{token}{suffix}").unlink(missing_ok=True)


def sweep(instance_path: str) -> None:
    """Delete what is older than KEEP_MINUTES: a dry run nobody applied."""
    remove_older_than(_folder(instance_path), KEEP_MINUTES * 60)


def remove_older_than(folder: Path, seconds: float) -> None:
    """Delete the files of `folder` last written more than `seconds` ago (another worker
    may be deleting them too: a file gone meanwhile is fine)."""
    cutoff = time.time() - seconds
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        except OSError:
            continue
