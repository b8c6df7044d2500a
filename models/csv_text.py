"""CSV text: RFC 4180, header row, formula-injection guard (SPEC section 3). Pure: shared by the CSV
downloads (rest_compat.csv_out) and the daily summary's attachment (notifications)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A cell a spreadsheet will not run: text starting like a formula gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)  # a number is never a formula, and -5 must stay -5
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def render(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    return buffer.getvalue()
