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
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from dongne.domain.allowances import (
    MAX_GRANT_WON,
    MAX_NAME_LENGTH,
    MalformedRow,
    RecipientFileInvalid,
    RecipientFileTooLarge,
    RecipientRow,
    normalize_identity_key,
    normalize_name,
    normalize_phone,
    parse_amount,
)
from dongne.domain.people import CI, MOBILE_PHONE, RESIDENT_NUMBER

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
_WHOLE_WON = re.compile(r"[1-9][0-9]{0,8}")
"""An amount cell as ``parse_amount`` reads it unchanged: ASCII digits, no comma, no zero
first (larger than ``MAX_GRANT_WON`` is refused after)."""


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
    rows = list(_recipient_rows(table, identity_digest, text_cells=not is_xlsx))
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
    table: Iterable[list[Any]], identity_digest: Callable[[str], str], *, text_cells: bool
) -> Iterator[RecipientRow]:
    """Each recipient row after the header. ``text_cells``: every cell is a ``str`` (a CSV),
    so a row whose cells are already in their normal form takes ``_quick_row``'s path."""
    numbered = enumerate(table, start=1)
    try:
        columns = _first_header(numbered)
        quick = _quick_row(columns, identity_digest) if text_cells else None
        for line_number, cells in numbered:
            row = quick(line_number, cells) if quick is not None else None
            if row is None:
                if _is_blank(cells):
                    continue
                row = _row(line_number, cells, columns, identity_digest)
            if line_number > MAX_ROWS + 1:
                raise RecipientFileInvalid(
                    f"a recipient list has at most {MAX_ROWS:,} rows", reason="too_many_rows"
                )
            yield row
    except csv.Error as error:
        raise RecipientFileInvalid(f"the CSV is malformed: {error}", reason="format") from error


def _is_blank(cells: list[Any]) -> bool:
    return not any(_text(cell, "").strip() for cell in cells)


def _first_header(numbered: Iterator[tuple[int, list[Any]]]) -> dict[str, int]:
    """The columns named by the first row that is not blank."""
    for _, cells in numbered:
        if not _is_blank(cells):
            return _header(cells)
    raise RecipientFileInvalid("the file is empty", reason="empty")


def _quick_row(
    columns: dict[str, int], identity_digest: Callable[[str], str]
) -> Callable[[int, list[str]], RecipientRow | None]:
    """The reading of a CSV row whose every field is already normal, without ``_row``'s
    layers and exceptions; None for any other row, which ``_row`` then reads (so every
    malformed field still gets its reason there, and only there). What this path accepts it
    reads exactly as ``_row`` does: ``tests/unit/test_recipient_files_quick.py`` checks both
    on random rows."""
    identity_at, name_at, phone_at = (columns[c] for c in REQUIRED_COLUMNS)
    amount_at = columns.get("amount")
    width = max(identity_at, name_at, phone_at)
    mobile_phone = MOBILE_PHONE.fullmatch
    normal_identity = _quick_identity()

    def quick(line_number: int, cells: list[str]) -> RecipientRow | None:
        if len(cells) <= width:
            return None
        name, phone = cells[name_at].strip(), cells[phone_at]
        amount_cell = cells[amount_at] if amount_at is not None and amount_at < len(cells) else ""
        amount = _quick_amount(amount_cell)
        identity = normal_identity(cells[identity_at])
        if (
            identity is None
            or amount == _NOT_QUICK
            or not name
            or len(name) > MAX_NAME_LENGTH
            or mobile_phone(phone) is None
        ):
            return None
        phone = phone.replace("-", "").replace(" ", "")
        return RecipientRow(line_number, identity_digest(identity), name, phone, amount)

    return quick


_NOT_QUICK = -1


def _quick_amount(cell: str) -> int | None:
    """``parse_amount`` of a cell that is empty or plain digits; ``_NOT_QUICK`` otherwise."""
    if not cell:
        return None
    if _WHOLE_WON.fullmatch(cell) is None:
        return _NOT_QUICK
    amount = int(cell)
    return amount if amount <= MAX_GRANT_WON else _NOT_QUICK


def _quick_identity() -> Callable[[str], str | None]:
    """``normalize_identity_key`` of a CI or a resident number written without spaces; None
    for anything else. Whether a birth date is valid is asked once per date and century."""
    resident_number, ci = RESIDENT_NUMBER.fullmatch, CI.fullmatch
    birth_valid: dict[str, bool] = {}

    def normal_identity(cell: str) -> str | None:
        number = resident_number(cell)
        if number is None:
            return cell if ci(cell) is not None else None
        birth, rest = number.groups()
        valid = birth_valid.get(birth + rest[0])
        if valid is None:
            valid = birth_valid[birth + rest[0]] = _has_valid_birth_date(birth + rest)
        return birth + rest if valid else None

    return normal_identity


def _has_valid_birth_date(number: str) -> bool:
    """Whether 13 digits make a resident number sign-up takes: it depends on the birth date
    and the century digit only, so ``_quick_row`` asks once per birth date and century."""
    try:
        normalize_identity_key(number)
    except MalformedRow:
        return False
    return True


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
