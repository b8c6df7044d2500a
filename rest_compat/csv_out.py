"""CSV downloads: the text of models.csv_text as an attachment response (SPEC section 3)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from starlette.responses import Response

from models.csv_text import render, safe_cell

__all__ = ["csv_response", "render", "safe_cell"]


def csv_response(filename: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> Response:
    return Response(
        render(columns, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
