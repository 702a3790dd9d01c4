"""Field rules shared by every entity: text limits, control characters, time bounds.

SPEC §2: names and titles at most 200 characters, other short fields at most
100, Markdown at most 100,000; control characters other than newline and tab
refused; no timestamp more than 5 minutes in the future or before 2000-01-01.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import UTC, datetime, timedelta

from catalog.errors import FieldErrors

TITLE_MAX = 200
SHORT_MAX = 100
MARKDOWN_MAX = 100_000
URL_MAX = 2000
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(minutes=5)

# C0 controls except \t and \n, DEL, C1 controls. \r is tolerated only as part
# of \r\n, which browsers send for textarea line breaks; it is normalised away.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Lone UTF-16 surrogates (JSON "\ud800") are not encodable text: no database can store them.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


MAX_ID = 2**31 - 1  # ids are INTEGER columns; a larger one cannot exist
NAME_KEY_MAX = 2 * TITLE_MAX  # NFKC can expand a character: a longer key is refused


# Format characters (Unicode category Cf): bidi overrides and isolates, zero-width
# space/joiners, word joiner, BOM, soft hyphen... Invisible, they make two names
# that look the same differ, or make a title read backwards. One-line fields
# refuse them; Markdown prose keeps them (a ZWJ emoji sequence, Arabic or Hebrew
# text with marks), since it is rendered through a sanitiser and never compared.
def _invisible(value: str) -> str | None:
    """The first format character in `value`, as U+XXXX, or None."""
    for char in value:
        if unicodedata.category(char) == "Cf":
            return f"U+{ord(char):04X}"
    return None


def name_key(name: str) -> str:
    """What makes two names the same name: NFKC, case folded, whitespace runs as one space.

    "Cache Miss", "cache  miss" and fullwidth "ＣＡＣＨＥ MISS" share one key; the
    database holds it in a UNIQUE column so that two concurrent requests cannot
    both create the name.
    """
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return " ".join(folded.split())


# ASCII only: str.isdigit() is true for "²" (int() then fails) and int() reads
# "١٢" (Arabic-Indic), "１２" (fullwidth), " 12 " and "1_2" as 12.
_WHOLE_NUMBER = re.compile(r"-?[0-9]+")
_WHOLE_NUMBER_DIGITS = 4000  # below Python's int-from-str limit (4300)


def parse_whole_number(text: str | None) -> int | None:
    """A query-string or form integer: optional minus, ASCII digits; None for anything else."""
    if text is None or len(text) > _WHOLE_NUMBER_DIGITS or not _WHOLE_NUMBER.fullmatch(text):
        return None
    return int(text)


def finite_number(value: object) -> bool:
    """A JSON number that is finite: not a bool, not NaN or infinite, and not an integer
    too large for a float (math.isfinite raises on those)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def is_storable(value: str) -> bool:
    """False for text no checked field can hold; such a value matches nothing, so skip the query."""
    return not _CONTROL.search(value) and not _SURROGATE.search(value)


def storable(value: str) -> str:
    """`value` without what no text field may hold (control characters but newline and
    tab, lone surrogates), newlines normalised: for text another system wrote that we
    keep as it is rather than refuse (a Statuspage update on import)."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _SURROGATE.sub("", _CONTROL.sub("", value))


def normalise_newlines(value: str) -> str:
    return value.replace("\r\n", "\n")


def check_text(
    errors: FieldErrors,
    field: str,
    value: object,
    *,
    max_length: int,
    required: bool = False,
    label: str | None = None,
    prose: bool = False,
) -> str | None:
    """Check one text value and return it cleaned (stripped for one-line fields).
    `prose` (Markdown, of any length) keeps format characters; see _invisible."""
    label = label or field.replace("_", " ").capitalize()
    if value is None:
        if required:
            errors.add(field, f"{label} is required.")
        return None
    if not isinstance(value, str):
        errors.add(field, f"{label} must be text.")
        return None
    value = normalise_newlines(value)
    if max_length <= SHORT_MAX or max_length == TITLE_MAX:
        value = value.strip()
    if required and not value:
        errors.add(field, f"{label} is required.")
        return None
    if _CONTROL.search(value):
        errors.add(field, f"{label} contains control characters; only newline and tab are allowed.")
        return None
    if _SURROGATE.search(value):
        errors.add(field, f"{label} contains invalid Unicode (a lone surrogate).")
        return None
    if not prose and max_length < MARKDOWN_MAX and (invisible := _invisible(value)):
        errors.add(
            field,
            f"{label} contains invisible formatting characters ({invisible}); "
            "type the text plainly.",
        )
        return None
    if len(value) > max_length:
        errors.add(
            field, f"{label} must be at most {max_length:,} characters (got {len(value):,})."
        )
        return None
    return value


def check_timestamp(
    errors: FieldErrors, field: str, value: datetime | None, *, now: datetime, label: str
) -> None:
    """Bounds every stored timestamp shares."""
    if value is None:
        return
    if value.tzinfo is None:
        errors.add(field, f"{label} must include a time zone offset.")
        return
    if value < EARLIEST:
        errors.add(field, f"{label} cannot be before 2000-01-01.")
    elif value > now + FUTURE_SLACK:
        errors.add(field, f"{label} cannot be more than 5 minutes in the future.")
