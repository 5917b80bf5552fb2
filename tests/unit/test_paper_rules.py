"""Paper voucher serials, security codes, ranges and the printer's files, without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pypdfium2
import pytest
import zxingcpp
from hypothesis import given
from hypothesis import strategies as st

from dongne.adapters.paper_print_files import read_print_csv, write_print_csv, write_print_pdf
from dongne.adapters.secrets import Secrets
from dongne.domain.paper import (
    DENOMINATIONS,
    SEQUENCE_MAX,
    PaperCheckDigitWrong,
    PaperRangeInvalid,
    PaperSerialMalformed,
    PrintedVoucher,
    PrintSheet,
    Serial,
    SerialRange,
    check_print_counts,
    damm_check_digit,
    paid_share_won,
    parse_serial,
    parse_voucher_code,
    validity_ends_at,
    voucher_code,
)

serials = st.builds(
    Serial,
    region_id=st.integers(1, 9_999),
    year=st.integers(2000, 2099),
    denomination_won=st.sampled_from(DENOMINATIONS),
    sequence=st.integers(1, SEQUENCE_MAX),
)


@given(serials)
def test_a_serial_reads_back_from_its_text_and_its_display(serial: Serial) -> None:
    assert parse_serial(serial.text) == serial
    assert parse_serial(serial.display) == serial
    assert len(serial.text) == 15


@given(serials, st.integers(0, 14), st.integers(1, 9))
def test_any_single_wrong_digit_fails_the_check_digit(
    serial: Serial, position: int, shift: int
) -> None:
    text = serial.text
    wrong = text[:position] + str((int(text[position]) + shift) % 10) + text[position + 1 :]
    with pytest.raises((PaperCheckDigitWrong, PaperSerialMalformed)):
        parse_serial(wrong)


@given(serials, st.integers(0, 13))
def test_any_swap_of_two_different_neighbours_fails_the_check_digit(
    serial: Serial, position: int
) -> None:
    text = serial.text
    if text[position] == text[position + 1]:
        return
    swapped = text[:position] + text[position + 1] + text[position] + text[position + 2 :]
    with pytest.raises((PaperCheckDigitWrong, PaperSerialMalformed)):
        parse_serial(swapped)


def test_the_damm_digit_of_the_worked_example_is_4() -> None:
    assert damm_check_digit("572") == 4  # Damm's worked example (Wikipedia, "Damm algorithm")


def test_what_is_not_a_serial_is_refused_before_any_lookup() -> None:
    for text in ("", "abc", "１２３", "0001262000000", "0001-26-2-0000001-7-1"):
        with pytest.raises(PaperSerialMalformed):
            parse_serial(text)
    with pytest.raises(PaperSerialMalformed):
        parse_voucher_code(Serial(1, 2026, 10_000, 1).text)  # the code is missing


def test_the_security_code_is_keyed_and_separate_from_every_other_use_of_the_key() -> None:
    serial = Serial(1, 2026, 10_000, 1).text
    ours = Secrets(pin_key=b"a" * 32, identity_key=b"b" * 32)
    theirs = Secrets(pin_key=b"c" * 32, identity_key=b"b" * 32)
    code = ours.paper_security_code(serial)
    assert len(code) == 10
    assert code.isdigit()
    assert ours.paper_security_code(serial) == code
    assert theirs.paper_security_code(serial) != code
    assert ours.paper_security_code(Serial(1, 2026, 10_000, 2).text) != code
    assert ours.paper_security_code_matches(serial, code)
    assert not ours.paper_security_code_matches(serial, theirs.paper_security_code(serial))


def test_a_voucher_code_is_the_serial_then_the_security_code() -> None:
    serial = Serial(12, 2026, 50_000, 345)
    code = voucher_code(serial, "0123456789")
    assert parse_voucher_code(code) == (serial, "0123456789")
    assert parse_voucher_code(f"{serial.display} 01234-56789") == (serial, "0123456789")


def test_a_range_is_of_one_region_year_and_denomination_in_order() -> None:
    first = Serial(1, 2026, 10_000, 5)
    assert SerialRange(first, first.with_sequence(9)).count == 5
    assert SerialRange(first, first.with_sequence(9)).face_won == 50_000
    for last in (
        first.with_sequence(4),
        Serial(1, 2026, 5_000, 9),
        Serial(2, 2026, 10_000, 9),
        Serial(1, 2027, 10_000, 9),
        first.with_sequence(100_005),
    ):
        with pytest.raises(PaperRangeInvalid):
            SerialRange(first, last)


def test_print_counts_name_known_denominations_and_positive_counts() -> None:
    assert check_print_counts({50_000: 2, 5_000: 3, 10_000: 0}) == {5_000: 3, 50_000: 2}
    with pytest.raises(PaperSerialMalformed):
        check_print_counts({1_000: 5})
    with pytest.raises(PaperRangeInvalid):
        check_print_counts({10_000: -1})
    with pytest.raises(PaperRangeInvalid):
        check_print_counts({10_000: 0})
    with pytest.raises(PaperRangeInvalid):
        check_print_counts({10_000: 60_000, 50_000: 40_001})


def test_an_exchanged_voucher_keeps_its_share_of_the_sale_and_its_last_day() -> None:
    assert paid_share_won(10_000, 40_000, 36_000) == 9_000
    assert paid_share_won(5_000, 15_000, 13_501) == 4_500  # rounded down
    assert validity_ends_at(date(2031, 11, 25)) == datetime(2031, 11, 25, 15, tzinfo=UTC)


def _sheet(count: int) -> PrintSheet:
    secrets = Secrets(pin_key=b"a" * 32, identity_key=b"b" * 32)
    vouchers = []
    for sequence in range(1, count + 1):
        serial = Serial(1, 2026, 10_000, sequence)
        security = secrets.paper_security_code(serial.text)
        vouchers.append(
            PrintedVoucher(
                serial.text,
                serial.display,
                security,
                voucher_code(serial, security),
                10_000,
                date(2031, 11, 25),
            )
        )
    return PrintSheet(7, 1, "시흥시", "시루", vouchers)


def test_the_printers_csv_carries_each_vouchers_code_as_the_barcode_does() -> None:
    sheet = _sheet(3)
    rows = read_print_csv(write_print_csv(sheet))
    assert [row["code"] for row in rows] == [v.code for v in sheet.vouchers]
    assert rows[0]["serial_display"] == sheet.vouchers[0].display
    assert {row["brand"] for row in rows} == {"시루"}
    assert parse_voucher_code(rows[2]["code"])[0] == Serial(1, 2026, 10_000, 3)


def test_the_pdf_proof_has_ten_vouchers_a_page_and_a_scanner_reads_each_ones_codes() -> None:
    sheet = _sheet(12)
    progress: list[tuple[int, int]] = []
    document = pypdfium2.PdfDocument(
        write_print_pdf(sheet, on_progress=lambda *p: progress.append(p))
    )
    assert len(document) == 2
    assert progress == [(10, 12)]
    read: dict[str, set[str]] = {}
    for page in document:
        for found in zxingcpp.read_barcodes(page.render(scale=4).to_pil()):
            read.setdefault(found.format.name, set()).add(found.text)
    codes = {voucher.code for voucher in sheet.vouchers}
    assert read == {"QRCode": codes, "Code128": codes}
