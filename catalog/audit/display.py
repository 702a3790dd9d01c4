"""The audit trail as people read it: each change a row of before and after, times in the
reader's zone, a long text shown as the lines that changed with the whole a click away."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

SHORT = 160
"""Characters of a value shown in the row; a longer one is shortened, with *show all*."""
DIFF_LINES = 6
"""Changed lines shown of a long text, each side."""

# What the audit trail stores for a time: datetime.isoformat() of an aware UTC value.
_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00")


@dataclass(frozen=True)
class ChangeRow:
    field: str
    before: str
    after: str
    before_full: str | None = None
    """The whole value, when the row shows less of it."""
    after_full: str | None = None


def change_rows(changes: Mapping[str, Any], zone: ZoneInfo) -> list[ChangeRow]:
    """One row per changed field, in field order."""
    rows = []
    for name, pair in sorted(changes.items()):
        before, after = (_text(v, zone) for v in _pair(pair))
        label = name.replace("_", " ")
        if _long(before) or _long(after):
            short_before, short_after = _changed_lines(before, after)
            rows.append(
                ChangeRow(
                    label,
                    short_before,
                    short_after,
                    before if short_before != before else None,
                    after if short_after != after else None,
                )
            )
        else:
            rows.append(ChangeRow(label, before, after))
    return rows


def _pair(pair: Any) -> tuple[Any, Any]:
    if isinstance(pair, list | tuple) and len(pair) == 2:
        return pair[0], pair[1]
    return None, pair


def _text(value: Any, zone: ZoneInfo) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    text = str(value)
    if _ISO.fullmatch(text):
        return datetime.fromisoformat(text).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")
    return text


def _long(text: str) -> bool:
    return len(text) > SHORT or "\n" in text


def _changed_lines(before: str, after: str) -> tuple[str, str]:
    """The lines only one side has: what was removed, what was added."""
    old, new = before.splitlines(), after.splitlines()
    removed: list[str] = []
    added: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag in ("replace", "delete"):
            removed.extend(old[i1:i2])
        if tag in ("replace", "insert"):
            added.extend(new[j1:j2])
    return _few(removed, before), _few(added, after)


def _few(lines: list[str], whole: str) -> str:
    if not lines:
        return "(unchanged lines only)" if whole != "—" else "—"
    shown = [_clip(line) for line in lines[:DIFF_LINES] if line.strip()] or ["(blank lines)"]
    more = len(lines) - DIFF_LINES
    if more > 0:
        shown.append(f"… {more} more changed line{'' if more == 1 else 's'}")
    return "\n".join(shown)


def _clip(line: str) -> str:
    return line if len(line) <= SHORT else line[: SHORT - 1] + "…"
