"""The card partner's daily clearing file: CSV, UTF-8, one header row, then one line per
captured card payment (layout in ``docs/card-host.md``)::

    terminal_id,stan,rrn,merchant_id,pan_last_four,amount_won,currency,approval_code
    TERM0001,000123,534714000123,DONGNE000000001,8395,12000,410,000017
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from dongne.domain.card_clearing import ClearingFileInvalid, ClearingLine

COLUMNS = (
    "terminal_id",
    "stan",
    "rrn",
    "merchant_id",
    "pan_last_four",
    "amount_won",
    "currency",
    "approval_code",
)
LINES_MAX = 1_000_000


def read_clearing_file(text: str) -> list[ClearingLine]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or tuple(column.strip() for column in header) != COLUMNS:
        raise ClearingFileInvalid(
            f"a clearing file starts with the header {','.join(COLUMNS)}", line=1
        )
    lines: list[ClearingLine] = []
    for number, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(lines) == LINES_MAX:
            raise ClearingFileInvalid(f"a clearing file has at most {LINES_MAX:,} lines")
        lines.append(_line(number, row))
    return lines


def _line(number: int, row: list[str]) -> ClearingLine:
    if len(row) != len(COLUMNS):
        raise ClearingFileInvalid(f"line {number} has {len(row)} columns, not 8", line=number)
    terminal, stan, rrn, merchant, last_four, amount, currency, approval = (
        cell.strip() for cell in row
    )
    if not amount.isdigit() or int(amount) <= 0:
        raise ClearingFileInvalid(f"line {number}: the amount is whole won", line=number)
    if currency != "410":
        raise ClearingFileInvalid(f"line {number}: the currency is 410 (won)", line=number)
    if not (terminal and len(terminal) <= 8 and stan.isdigit() and len(stan) == 6 and rrn):
        raise ClearingFileInvalid(f"line {number}: terminal, STAN or RRN malformed", line=number)
    return ClearingLine(
        line_number=number,
        terminal_id=terminal,
        stan=stan,
        rrn=rrn[:12],
        acceptor_id=merchant[:15],
        last_four=last_four,
        amount_won=int(amount),
        currency=currency,
        approval_code=approval,
    )


def write_clearing_file(lines: Iterable[ClearingLine]) -> str:
    """The file for ``lines`` (the simulator and tests play the card partner with it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for line in lines:
        writer.writerow(
            (
                line.terminal_id,
                line.stan,
                line.rrn,
                line.acceptor_id,
                line.last_four,
                line.amount_won,
                line.currency,
                line.approval_code,
            )
        )
    return out.getvalue()
