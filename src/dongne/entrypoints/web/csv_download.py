"""CSV downloads of the console's tables: one helper so every table exports alike.

A file opens in Excel with its Korean intact: UTF-8 with a byte-order mark (Excel reads a
BOM-less CSV as the system's legacy code page), a header row, CRLF line ends as RFC 4180 has
them. The file name is given both plainly (ASCII) and as RFC 5987's ``filename*`` so a
Korean name survives. A cell that begins like a formula (``=``, ``+``, ``-``, ``@``) is
prefixed with an apostrophe so a merchant's name cannot run in the official's spreadsheet
(CSV injection); numbers are written as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from urllib.parse import quote

from fastapi.responses import Response

from dongne.entrypoints.web.pages import HEADERS

BYTE_ORDER_MARK = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """The value as the file holds it: text that could read as a formula is defused."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The file's text, BOM first: the header row, then one line per row."""
    buffer = io.StringIO()
    buffer.write(BYTE_ORDER_MARK)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return buffer.getvalue()


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> Response:
    """A download of ``rows`` under ``header`` named ``filename`` (give it a ``.csv`` end)."""
    plain_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    disposition = f"attachment; filename=\"{plain_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(
        csv_text(header, rows).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={**HEADERS, "Content-Disposition": disposition},
    )
