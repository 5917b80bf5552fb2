"""Settlement files: the bank transfer file of a run (CSV) and a merchant's statement (text).

The transfer file has one row per merchant paid, with a header::

    bank_code,account_number,account_holder,amount_won,reference

UTF-8, comma-separated, fields quoted only where needed (RFC 4180), ``\\r\\n`` line ends.
Held merchants and lines with nothing to pay never appear in it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import astuple, dataclass, fields
from datetime import date
from typing import ClassVar

from dongne.domain.merchants import format_business_number


@dataclass(frozen=True)
class Transfer:
    """One row of the transfer file; its fields, in order, are the file's columns."""

    bank_code: str
    account_number: str
    account_holder: str
    amount_won: int
    reference: str


TRANSFER_FILE_HEADER = tuple(column.name for column in fields(Transfer))


@dataclass(frozen=True)
class Statement:
    """One merchant's settlement line, as its statement (and the API) shows it."""

    # The API describes each field with the docstring under it: pydantic reads this plain dict
    # as the dataclass's config, so the one field list serves the response model too.
    __pydantic_config__: ClassVar[dict[str, bool]] = {"use_attribute_docstrings": True}

    merchant_name: str
    business_number: str
    business_day: date
    reference: str
    payment_count: int
    takings_won: int
    cancellation_count: int
    cancellations_won: int
    brought_forward_won: int
    """From the previous run: + owed, - deduction"""
    due_won: int
    fee_won: int
    transfer_won: int
    carried_forward_won: int
    status: str
    """transferred, held or nothing_due"""
    hold_reason: str | None
    """settlement_held or no_bank_details"""
    bank_code: str | None
    bank_account_number: str | None
    bank_account_holder: str | None


def write_transfer_file(transfers: Iterable[Transfer]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(TRANSFER_FILE_HEADER)
    for transfer in transfers:
        if transfer.amount_won <= 0:
            raise ValueError(f"a transfer file carries positive amounts, not {transfer}")
        writer.writerow(astuple(transfer))
    return out.getvalue()


def read_transfer_file(text: str) -> list[Transfer]:
    """The transfers in a file ``write_transfer_file`` wrote (for checks and tests)."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or tuple(rows[0]) != TRANSFER_FILE_HEADER:
        raise ValueError("not a dongne transfer file: the header is missing")
    return [
        Transfer(bank, number, holder, int(amount), ref)
        for bank, number, holder, amount, ref in rows[1:]
    ]


def _won(amount: int) -> str:
    return f"{amount:,} won"


def render_statement(statement: Statement) -> str:
    s = statement
    if s.transfer_won:
        account = f"{s.bank_code} {s.bank_account_number} ({s.bank_account_holder})"
        paid = f"{_won(s.transfer_won)} to {account}"
    else:
        paid = "nothing"
    lines = [
        "dongne settlement statement (정산 명세서)",
        f"merchant:         {s.merchant_name} ({format_business_number(s.business_number)})",
        f"business day:     {s.business_day.isoformat()}",
        f"reference:        {s.reference}",
        f"payments:         {s.payment_count}, {_won(s.takings_won)}",
        f"cancellations:    {s.cancellation_count}, {_won(s.cancellations_won)}",
        f"brought forward:  {_won(s.brought_forward_won)}",
        f"due:              {_won(s.due_won)}",
        f"fee:              {_won(s.fee_won)}",
        f"transferred:      {paid}",
        f"carried forward:  {_won(s.carried_forward_won)}",
        f"status:           {s.status}" + (f" ({s.hold_reason})" if s.hold_reason else ""),
    ]
    return "\n".join(lines) + "\n"
