"""The console's CSV downloads: a BOM for Excel, a header row, formulas defused."""

from __future__ import annotations

import csv
import io

from dongne.entrypoints.web.csv_download import csv_response, csv_text


def test_the_file_starts_with_a_byte_order_mark_and_a_header_row() -> None:
    text = csv_text(["가맹점", "금액"], [["김밥천국", 12_300], ["꽃집, 동네", 0]])
    assert text.startswith("\ufeff가맹점,금액\r\n")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows == [["가맹점", "금액"], ["김밥천국", "12300"], ["꽃집, 동네", "0"]]


def test_a_cell_that_reads_as_a_formula_is_defused() -> None:
    text = csv_text(["name"], [["=HYPERLINK(1)"], ["@cmd"], [None], [-5]])
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[1:] == [["'=HYPERLINK(1)"], ["'@cmd"], [""], ["-5"]]


def test_the_response_is_an_attachment_in_utf8_with_the_korean_name_kept() -> None:
    response = csv_response("가맹점 신청.csv", ["a"], [[1]])
    assert response.media_type == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="')
    assert "filename*=UTF-8''%EA%B0%80" in disposition
    assert bytes(response.body).startswith("\ufeffa\r\n1\r\n".encode())
    assert response.headers["cache-control"] == "no-store"
