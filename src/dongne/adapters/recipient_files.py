"""Reading an allowance program's recipient list from a CSV or XLSX file.

Cities export these lists from spreadsheets and older systems, so a CSV may be UTF-8 (with or
without a byte-order mark) or CP949 (Korean Windows), and an XLSX cell may hold a phone or a
resident number as a number that lost its leading zero. The header names the columns, in
Korean or English, in any order. Each identity key is checked and turned into its HMAC as its
row is read; the clear value goes no further than this module. A file that cannot be read at
all raises ``RecipientFileInvalid``; a row with a bad field is kept with the reason, for the
preview.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from dongne.domain.allowances import (
    MalformedRow,
    RecipientFileInvalid,
    RecipientFileTooLarge,
    RecipientRow,
    normalize_identity_key,
    normalize_name,
    normalize_phone,
    parse_amount,
)

MAX_FILE_BYTES = 32 * 1024 * 1024
"""About 250,000 rows with CIs: a city's largest list fits, a runaway export does not."""
MAX_ROWS = 500_000

COLUMN_ALIASES = {
    "identity": (
        "identity",
        "identity_key",
        "ci",
        "national_id",
        "resident_number",
        "주민등록번호",
        "주민번호",
        "연계정보",
    ),
    "name": ("name", "이름", "성명"),
    "phone": ("phone", "mobile", "전화번호", "휴대폰", "휴대전화", "연락처"),
    "amount": ("amount", "amount_won", "금액", "지급액"),
}
REQUIRED_COLUMNS = ("identity", "name", "phone")
_XLSX_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class RecipientFile:
    format: str
    rows: list[RecipientRow]


def check_size(size_bytes: int) -> None:
    if size_bytes > MAX_FILE_BYTES:
        raise RecipientFileTooLarge(
            f"the file has {size_bytes:,} bytes; a recipient list has at most {MAX_FILE_BYTES:,}",
            reason="too_large",
            limit_bytes=MAX_FILE_BYTES,
        )


def read_recipients(
    data: bytes, filename: str, identity_digest: Callable[[str], str]
) -> RecipientFile:
    """Every row of the list, identities hashed with ``identity_digest``."""
    check_size(len(data))
    if not data.strip():
        raise RecipientFileInvalid("the file is empty", reason="empty")
    is_xlsx = data.startswith(_XLSX_MAGIC) or filename.lower().endswith(".xlsx")
    table = _xlsx_cells(data) if is_xlsx else _csv_cells(data)
    rows = list(_recipient_rows(table, identity_digest))
    if not rows:
        raise RecipientFileInvalid("the file has a header but no recipients", reason="empty")
    return RecipientFile("xlsx" if is_xlsx else "csv", rows)


def _csv_cells(data: bytes) -> Iterator[list[Any]]:
    for encoding in ("utf-8-sig", "cp949"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return csv.reader(io.StringIO(text, newline=""))
    raise RecipientFileInvalid(
        "the file is neither UTF-8 nor CP949 text, nor an XLSX workbook", reason="encoding"
    )


def _xlsx_cells(data: bytes) -> Iterator[list[Any]]:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise RecipientFileInvalid(
            "the file is not a readable XLSX workbook", reason="format"
        ) from error
    sheet = workbook.worksheets[0]
    return (list(row) for row in sheet.iter_rows(values_only=True))


_NUMBER_WIDTH = {"identity": 13, "phone": 11}
"""A spreadsheet stores 01012345678 typed into a number cell as 1012345678, and a resident
number of someone born in 2000-2009 without its leading zeros: put them back."""


def _text(value: Any, column: str) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        width = _NUMBER_WIDTH.get(column)
        return str(value).zfill(width) if width else str(value)
    return str(value)


def _header(cells: list[Any]) -> dict[str, int]:
    names = [_text(cell, "").strip().lower() for cell in cells]
    columns: dict[str, int] = {}
    for column, aliases in COLUMN_ALIASES.items():
        for index, name in enumerate(names):
            if name in aliases:
                columns[column] = index
                break
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if missing:
        raise RecipientFileInvalid(
            f"the header lacks the column(s) {', '.join(missing)}"
            f" (e.g. {', '.join(COLUMN_ALIASES[m][0] for m in missing)})",
            reason="missing_columns",
            missing=missing,
        )
    return columns


def _recipient_rows(
    table: Iterable[list[Any]], identity_digest: Callable[[str], str]
) -> Iterator[RecipientRow]:
    columns: dict[str, int] | None = None
    try:
        for line_number, cells in enumerate(table, start=1):
            if not any(_text(cell, "").strip() for cell in cells):
                continue
            if columns is None:
                columns = _header(cells)
                continue
            if line_number > MAX_ROWS + 1:
                raise RecipientFileInvalid(
                    f"a recipient list has at most {MAX_ROWS:,} rows", reason="too_many_rows"
                )
            yield _row(line_number, cells, columns, identity_digest)
    except csv.Error as error:
        raise RecipientFileInvalid(f"the CSV is malformed: {error}", reason="format") from error
    if columns is None:
        raise RecipientFileInvalid("the file is empty", reason="empty")


def _row(
    line_number: int,
    cells: list[Any],
    columns: dict[str, int],
    identity_digest: Callable[[str], str],
) -> RecipientRow:
    def cell(column: str) -> str:
        index = columns.get(column)
        value = cells[index] if index is not None and index < len(cells) else None
        return _text(value, column)

    raw_name, raw_phone = cell("name"), cell("phone")
    name, phone = raw_name.strip()[:100], raw_phone.strip()[:20]
    try:
        identity = identity_digest(normalize_identity_key(cell("identity")))
        name = normalize_name(raw_name)
        phone = normalize_phone(raw_phone)
        amount = parse_amount(cell("amount"))
    except MalformedRow as problem:
        return RecipientRow(line_number, None, name, phone, None, str(problem))
    return RecipientRow(line_number, identity, name, phone, amount)
