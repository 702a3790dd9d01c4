"""CSV that is safe to open in a spreadsheet.

Written with the standard library's csv module; the one thing it does not do
is stop a cell such as `=HYPERLINK(...)` from running as a formula when the
file is opened in Excel, LibreOffice or Google Sheets (CSV injection, OWASP).
Text that starts with one of those characters gets a leading apostrophe,
which spreadsheets hide and treat as "this is text". Numbers are written as
numbers: a negative duration is still a number, not a formula. Text that
already starts with an apostrophe gets one too, so that taking one leading
apostrophe off (`unguard_cell`, the CSV import) always gives the text back.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


GUARDED_STARTS = (*FORMULA_STARTS, "'")


def safe_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(GUARDED_STARTS):
        return "'" + value
    return "" if value is None else value


def unguard_cell(cell: str) -> str:
    """The text `safe_cell` guarded: `'=x` back to `=x`, `''x` back to `'x`."""
    if cell.startswith("'") and cell[1:].startswith(GUARDED_STARTS):
        return cell[1:]
    return cell


def csv_rows(rows: Iterable[Sequence[object]]) -> str:
    """CSV lines (RFC 4180, CRLF) for the rows, every cell made safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    return csv_rows([header]) + csv_rows(rows)
