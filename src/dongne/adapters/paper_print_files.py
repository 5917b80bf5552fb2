"""The printer's files for a paper voucher print order: a PDF proof with every voucher's Code
128 barcode and QR code, and a CSV the security printer feeds its own presses from.

Both carry the same 25 digits per voucher (``domain.paper.voucher_code``: the serial, then the
security code), so the printer's output, a scanner at the counter and a clerk typing read the
same thing. The PDF lays out ten vouchers to an A4 page; Korean text uses one of the CID fonts
PDF readers bring (HYSMyeongJo), so nothing is embedded and the file stays small.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import segno
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from dongne.domain.paper import PrintedVoucher, PrintSheet

CSV_COLUMNS = (
    "serial",
    "serial_display",
    "security_code",
    "code",
    "denomination_won",
    "valid_until",
    "region",
    "brand",
)
KOREAN_FONT = "HYSMyeongJo-Medium"
COLUMNS, ROWS = 2, 5
"""Vouchers per A4 page: two across, five down."""
CELL_WIDTH, CELL_HEIGHT = 95 * mm, 54 * mm
MARGIN_X, MARGIN_Y = 10 * mm, 13 * mm
QR_SIZE = 30 * mm


def write_print_csv(sheet: PrintSheet) -> str:
    """One row per voucher, in print order (denomination, then sequence)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for voucher in sheet.vouchers:
        writer.writerow(
            [
                voucher.serial,
                voucher.display,
                voucher.security_code,
                voucher.code,
                voucher.denomination_won,
                voucher.valid_until.isoformat(),
                sheet.region_name,
                sheet.brand_name,
            ]
        )
    return out.getvalue()


def read_print_csv(text: str) -> list[dict[str, str]]:
    """The rows ``write_print_csv`` wrote (for checks and tests)."""
    rows = list(csv.DictReader(io.StringIO(text)))
    if rows and tuple(rows[0]) != CSV_COLUMNS:
        raise ValueError("not a dongne paper print file: the columns differ")
    return rows


def write_print_pdf(
    sheet: PrintSheet, on_progress: Callable[[int, int], None] | None = None
) -> bytes:
    """A proof of every voucher: brand, region, face value, serial, security code, validity,
    the Code 128 barcode and the QR code of its 25 digits. ``on_progress(done, total)`` is
    called after each page (a run of thousands takes a while)."""
    _register_font()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle(f"{sheet.brand_name} paper vouchers, print order {sheet.print_order_id}")
    per_page = COLUMNS * ROWS
    for index, voucher in enumerate(sheet.vouchers):
        if index and index % per_page == 0:
            canvas.showPage()
        column, row = (index % per_page) % COLUMNS, (index % per_page) // COLUMNS
        x = MARGIN_X + column * CELL_WIDTH
        y = A4[1] - MARGIN_Y - (row + 1) * CELL_HEIGHT
        _draw_voucher(canvas, sheet, voucher, x, y)
        if on_progress is not None and (index + 1) % per_page == 0:
            on_progress(index + 1, len(sheet.vouchers))
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def _register_font() -> None:
    if KOREAN_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(KOREAN_FONT))


def _draw_voucher(
    canvas: Canvas, sheet: PrintSheet, voucher: PrintedVoucher, x: float, y: float
) -> None:
    canvas.rect(x + 2 * mm, y + 2 * mm, CELL_WIDTH - 4 * mm, CELL_HEIGHT - 4 * mm)
    left, top = x + 6 * mm, y + CELL_HEIGHT - 10 * mm
    canvas.setFont(KOREAN_FONT, 10)
    canvas.drawString(left, top, f"{sheet.region_name} {sheet.brand_name} 지역사랑상품권")
    canvas.setFont(KOREAN_FONT, 18)
    canvas.drawString(left, top - 9 * mm, f"{voucher.denomination_won:,}원")
    canvas.setFont("Courier", 9)
    canvas.drawString(left, top - 15 * mm, voucher.display)
    code = voucher.security_code
    canvas.drawString(left, top - 20 * mm, f"SEC {code[:5]}-{code[5:]}")
    canvas.setFont(KOREAN_FONT, 7)
    canvas.drawString(left, top - 25 * mm, f"유효기간 valid until {voucher.valid_until:%Y-%m-%d}")
    barcode = Code128(voucher.code, barHeight=9 * mm, barWidth=0.3 * mm, quiet=False)
    barcode.drawOn(canvas, left, y + 5 * mm)
    _draw_qr(canvas, voucher.code, x + CELL_WIDTH - QR_SIZE - 5 * mm, top - QR_SIZE + 6 * mm)


def _draw_qr(canvas: Canvas, data: str, x: float, y: float) -> None:
    """The QR code as vector squares (segno's matrix, its quiet zone included): one rectangle
    per run of dark modules in a row, a third of the drawing operations of one per module."""
    qr = segno.make_qr(data, error="m")
    matrix = [list(row) for row in qr.matrix_iter(scale=1, border=2)]
    module = QR_SIZE / len(matrix)
    canvas.setFillColorRGB(0, 0, 0)
    path = canvas.beginPath()
    for row_index, row in enumerate(matrix):
        top = y + QR_SIZE - (row_index + 1) * module
        column = 0
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            start = column
            while column < len(row) and row[column]:
                column += 1
            path.rect(x + start * module, top, (column - start) * module, module)
    canvas.drawPath(path, stroke=0, fill=1)
