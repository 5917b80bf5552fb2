"""Reading recipient lists: CSV in UTF-8 or CP949, XLSX, and every way a file can be bad."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from dongne.adapters.recipient_files import MAX_FILE_BYTES, read_recipients
from dongne.adapters.secrets import Secrets
from dongne.domain.allowances import RecipientFileInvalid

HEADER = "주민등록번호,이름,전화번호,금액\n"
GOOD = "900101-1234567,홍길동,010-1234-5678,\n850505-2345678,김영희,01098765432,50000\n"


def digest(identity: str) -> str:
    return f"hmac({identity})"


def reason_of(data: bytes, filename: str = "list.csv") -> str:
    with pytest.raises(RecipientFileInvalid) as raised:
        read_recipients(data, filename, digest)
    return str(raised.value.details["reason"])


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp949"])
def test_a_csv_is_read_in_utf8_or_cp949(encoding: str) -> None:
    parsed = read_recipients((HEADER + GOOD).encode(encoding), "list.csv", digest)
    assert parsed.format == "csv"
    assert [
        (r.row_number, r.identity_hmac, r.name, r.phone, r.amount_won) for r in parsed.rows
    ] == [
        (2, "hmac(9001011234567)", "홍길동", "01012345678", None),
        (3, "hmac(8505052345678)", "김영희", "01098765432", 50_000),
    ]


def test_english_headers_in_any_order_and_blank_lines_are_fine() -> None:
    data = b"\nphone,name,ci\n\n010-1111-2222,Kim," + b"A" * 86 + b"==\n"
    (row,) = read_recipients(data, "x.csv", digest).rows
    assert (row.row_number, row.identity_hmac, row.amount_won) == (4, f"hmac({'A' * 86}==)", None)


def test_the_clear_identity_never_leaves_the_reader() -> None:
    secrets = Secrets(pin_key=b"p", identity_key=b"server-key")
    parsed = read_recipients((HEADER + GOOD).encode(), "list.csv", secrets.identity_digest)
    assert "9001011234567" not in repr(parsed)
    assert parsed.rows[0].identity_hmac == secrets.identity_digest("900101-1234567")


def test_bad_rows_are_kept_with_their_reason() -> None:
    data = (
        HEADER + "12345,이름,010-1234-5678,\n900101-1234567,,010-1234-5678,\n"
        "900101-1234567,박,02-123-4567,\n900101-1234567,최,010-1234-5678,1.5\n"
    ).encode()
    rows = read_recipients(data, "list.csv", digest).rows
    assert [(r.identity_hmac, r.problem) for r in rows] == [
        (None, "the identity key is neither a CI (88 characters) nor 13 digits"),
        (None, "the name is empty"),
        (None, "the phone number is not a mobile number like 010-1234-5678"),
        (None, "the amount is not a whole number of won"),
    ]


def test_a_file_in_neither_encoding_is_refused() -> None:
    assert reason_of((HEADER + GOOD).encode("utf-16")) == "encoding"
    assert reason_of(b"\xff\xfe\xfa\xfb" * 10) == "encoding"


@pytest.mark.parametrize(
    ("header", "missing"),
    [("이름,전화번호\n", ["identity"]), ("주민등록번호,금액\n", ["name", "phone"])],
)
def test_missing_columns_are_named(header: str, missing: list[str]) -> None:
    with pytest.raises(RecipientFileInvalid) as raised:
        read_recipients((header + "a,b\n").encode(), "list.csv", digest)
    assert raised.value.details == {"reason": "missing_columns", "missing": missing}


@pytest.mark.parametrize("data", [b"", b"  \n\n", HEADER.encode(), b"\xef\xbb\xbf"])
def test_an_empty_file_or_a_header_alone_is_refused(data: bytes) -> None:
    assert reason_of(data) == "empty"


def test_a_file_over_the_limit_is_refused_before_it_is_read() -> None:
    big = HEADER.encode() + b"x" * (MAX_FILE_BYTES - len(HEADER.encode()) + 1)
    with pytest.raises(RecipientFileInvalid) as raised:
        read_recipients(big, "list.csv", digest)
    assert raised.value.code == "RECIPIENT_FILE_TOO_LARGE"
    assert raised.value.details["limit_bytes"] == MAX_FILE_BYTES


def xlsx(*rows: tuple[object, ...]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for values in rows:
        sheet.append(list(values))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_an_xlsx_is_read_with_numbers_that_lost_their_leading_zeros() -> None:
    data = xlsx(
        ("성명", "휴대폰", "주민번호", "지급액"),
        ("홍길동", 1012345678, 9001011234567, 300_000),
        ("아기", "010-2222-3333", 101013234567, None),
    )
    rows = read_recipients(data, "명단.xlsx", digest).rows
    assert [(r.identity_hmac, r.phone, r.amount_won, r.problem) for r in rows] == [
        ("hmac(9001011234567)", "01012345678", 300_000, None),
        ("hmac(0101013234567)", "01022223333", None, None),
    ]


def test_a_broken_xlsx_is_refused() -> None:
    assert reason_of(b"PK\x03\x04 not really a zip", "list.xlsx") == "format"
    assert reason_of(xlsx(("이름", "전화번호"), ("김", "010")), "list.xlsx") == "missing_columns"
