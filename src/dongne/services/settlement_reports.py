"""Reading settlement: runs, statements, the bank transfer file, and the reconciliation of a
run with the ledger."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from dongne.adapters.db.settlement_records import CounterLine, DayTotals, RunRow
from dongne.adapters.settlement_files import Statement, Transfer, write_transfer_file
from dongne.domain.ledger import AccountType
from dongne.services.ports import SettlementStore
from dongne.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Reconciliation:
    """A run checked against the ledger, and every payable of the region against the lines."""

    region_id: int
    business_day: str
    run_id: int
    transaction_count: int
    lines_transfer_won: int
    lines_fee_won: int
    ledger_out_of_payables_won: int
    ledger_to_merchant_bank_won: int
    ledger_to_fees_won: int
    problems: list[str] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        return not self.problems


def run_of(uow: UnitOfWork, *, region_id: int, business_day: date) -> RunRow:
    with uow:
        return uow.settlements.run(region_id, business_day)


def list_runs(uow: UnitOfWork, *, region_id: int, limit: int = 31) -> list[RunRow]:
    with uow:
        uow.records.region(region_id)
        return uow.settlements.runs(region_id, limit)


def run_statements(uow: UnitOfWork, *, region_id: int, business_day: date) -> list[Statement]:
    """Every merchant's statement in the run of ``business_day``."""
    with uow:
        records = uow.settlements
        run = records.run(region_id, business_day)
        return [_statement(row, business_day) for row in records.lines(run.id)]


def merchant_statements(uow: UnitOfWork, *, merchant_id: int, limit: int = 31) -> list[Statement]:
    """A merchant's latest statements, newest first."""
    with uow:
        uow.records.merchant(merchant_id)
        rows = uow.settlements.merchant_lines(merchant_id, limit)
        return [_statement(row, row.business_day) for row in rows]


def merchant_counter_lines(
    uow: UnitOfWork, *, merchant_id: int, business_day: date
) -> list[CounterLine]:
    """The payments and cancellations a merchant's statement of ``business_day`` is made of,
    each with the staff member who made it at the counter."""
    with uow:
        merchant = uow.records.merchant(merchant_id).merchant
        run = uow.settlements.run(merchant.region_id, business_day)
        return uow.settlements.counter_lines(merchant_id, run.window_start, run.window_end)


def transfer_file(uow: UnitOfWork, *, region_id: int, business_day: date) -> str:
    """The bank transfer file (CSV) of the run: one row per merchant paid."""
    statements = run_statements(uow, region_id=region_id, business_day=business_day)
    return write_transfer_file(
        Transfer(
            s.bank_code or "",
            s.bank_account_number or "",
            s.bank_account_holder or "",
            s.transfer_won,
            s.reference,
        )
        for s in statements
        if s.transfer_won > 0
    )


_LINE_FIELDS = tuple(
    column.name
    for column in fields(Statement)
    if column.name not in {"merchant_name", "business_day"}
)
"""What a statement copies from its settlement line as it is; the merchant's name and the
business day come from the merchant and the run."""


def _statement(row: Any, business_day: date) -> Statement:
    return Statement(
        merchant_name=row.name,
        business_day=business_day,
        **{name: getattr(row, name) for name in _LINE_FIELDS},
    )


def reconcile(uow: UnitOfWork, *, region_id: int, business_day: date) -> Reconciliation:
    """The run's lines must add up to its ledger transaction's movements out of the merchants'
    payables (transfers to MERCHANT_BANK, fees to SETTLEMENT_FEES); and every merchant's
    payable must hold what the latest run carried forward plus what it took (net of
    cancellations) since that run's window ended."""
    with uow:
        records = uow.settlements
        run = records.run(region_id, business_day)
        lines = records.lines(run.id)
        transfer = sum(line.transfer_won for line in lines)
        fee = sum(line.fee_won for line in lines)
        moved = records.movements_by_account_type(run.id)
        out_of_payables = -moved.get(AccountType.MERCHANT_PAYABLE.value, 0)
        to_bank = moved.get(AccountType.MERCHANT_BANK.value, 0)
        to_fees = moved.get(AccountType.SETTLEMENT_FEES.value, 0)
        problems = []
        if transfer + fee != out_of_payables:
            problems.append(
                f"lines pay out {transfer + fee} but the ledger took {out_of_payables}"
                " out of merchant payables"
            )
        if transfer != to_bank:
            problems.append(f"lines transfer {transfer} but the ledger moved {to_bank} to banks")
        if fee != to_fees:
            problems.append(f"lines withhold {fee} in fees but the ledger moved {to_fees}")
        if (run.transfer_won, run.fee_won) != (transfer, fee):
            problems.append("the run's totals differ from its lines'")
        problems += _payable_problems(records, region_id)
        return Reconciliation(
            region_id=region_id,
            business_day=business_day.isoformat(),
            run_id=run.id,
            transaction_count=run.transaction_count,
            lines_transfer_won=transfer,
            lines_fee_won=fee,
            ledger_out_of_payables_won=out_of_payables,
            ledger_to_merchant_bank_won=to_bank,
            ledger_to_fees_won=to_fees,
            problems=problems,
        )


def _payable_problems(records: SettlementStore, region_id: int) -> list[str]:
    latest = records.last_run(region_id)
    if latest is None:
        return []
    carried = records.carried_forward(latest.id)
    since = records.day_totals(region_id, latest.window_end, None)
    balances = records.region_payable_balances(region_id)
    problems = []
    for merchant_id, balance in sorted(balances.items()):
        later = since.get(merchant_id, DayTotals())
        expected = carried.get(merchant_id, 0) + later.takings_won - later.cancellations_won
        if balance != expected:
            problems.append(
                f"merchant {merchant_id}'s payable holds {balance}, but settlement accounts for"
                f" {expected}"
            )
    return problems
