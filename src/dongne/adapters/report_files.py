"""A report as a file: CSV (UTF-8 with a byte-order mark, so Excel reads the Korean) or XLSX
(openpyxl: a title, the region and period, bold headers, won with thousands separators)."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from dongne.domain.reports import ReportTable

WON_FORMAT = "#,##0"


def _header(table: ReportTable) -> list[str]:
    return [f"{c.korean} ({c.english})" for c in table.columns]


def to_csv(table: ReportTable) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_header(table))
    writer.writerows(table.rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(table: ReportTable) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # noqa: S101 - a new workbook has its sheet
    korean, english = table.title
    sheet.title = table.name.value[:31]
    sheet.append([f"{korean} ({english})"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([f"{table.region_name} · {table.period.label}"])
    sheet.append([])
    sheet.append(_header(table))
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
    for row in table.rows:
        sheet.append(list(row))
        for column, cell in zip(table.columns, sheet[sheet.max_row], strict=True):
            if column.money and isinstance(cell.value, int):
                cell.number_format = WON_FORMAT
    sheet.append([])
    for note in table.notes:
        sheet.append([note])
    for index, column in enumerate(table.columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(14, len(column.english) + 6)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
