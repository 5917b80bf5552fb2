"""Paper vouchers' reports: the stock and float by state, the check that they add up, and
what the printer is sent.

The stock equation: every voucher printed is in exactly one state, so the face value per
state (unissued, with agents, sold, redeemed, exchanged, destroyed) sums to the print orders'
face value. ``paper_problems`` checks it three ways: the voucher rows against the print
orders, the rows against the ledger's paper accounts, and the redeemed and exchanged rows
against their redemptions and exchanges. ``dongne check`` and ``dongne audit`` report it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dongne.adapters.db.paper_records import PrintOrderRow
from dongne.adapters.secrets import Secrets
from dongne.domain.ledger import AccountType
from dongne.domain.paper import (
    PaperPrintOrderNotFound,
    PaperVoucherState,
    PrintedVoucher,
    PrintSheet,
    parse_serial,
    voucher_code,
)
from dongne.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class StateTotals:
    count: int = 0
    face_won: int = 0


@dataclass(frozen=True)
class StockReport:
    region_id: int
    printed: StateTotals
    by_state: dict[str, StateTotals]
    by_denomination: dict[str, dict[str, int]] = field(default_factory=dict)
    """Vouchers per denomination (won, as text) and state."""
    float_won: int = 0
    """The ledger's paper in circulation: sold and not yet redeemed or exchanged."""

    @property
    def balances(self) -> bool:
        return (
            sum(t.count for t in self.by_state.values()) == self.printed.count
            and sum(t.face_won for t in self.by_state.values()) == self.printed.face_won
        )


def _report(uow: UnitOfWork, region_id: int) -> StockReport:
    paper = uow.paper
    totals = {state.value: StateTotals() for state in PaperVoucherState}
    by_denomination: dict[str, dict[str, int]] = {}
    for line in paper.stock(region_id):
        before = totals[line.state.value]
        totals[line.state.value] = StateTotals(
            before.count + line.count, before.face_won + line.face_won
        )
        by_denomination.setdefault(str(line.denomination_won), {})[line.state.value] = line.count
    float_account = uow.ledger.existing_account(region_id, AccountType.PAPER_CIRCULATION)
    float_won = 0 if float_account is None else uow.ledger.balance(float_account.id)
    return StockReport(
        region_id, StateTotals(*paper.printed(region_id)), totals, by_denomination, float_won
    )


def stock_report(uow: UnitOfWork, *, region_id: int) -> StockReport:
    """The region's paper stock and float by state."""
    with uow:
        uow.records.region(region_id)
        return _report(uow, region_id)


def print_orders(uow: UnitOfWork, *, region_id: int) -> list[PrintOrderRow]:
    """The region's print runs, oldest first."""
    with uow:
        return uow.paper.print_orders(region_id)


def _ledger_by_state(uow: UnitOfWork, region_id: int) -> dict[str, int]:
    """The paper accounts' balances, summed per type (the agents' accounts together)."""
    totals = uow.ledger_queries.account_totals(region_id)
    return {
        account_type.value: totals.get(account_type.value, 0)
        for account_type in (
            AccountType.PAPER_PRINTED,
            AccountType.PAPER_UNISSUED,
            AccountType.PAPER_WITH_AGENTS,
            AccountType.PAPER_SOLD,
            AccountType.PAPER_DESTROYED,
            AccountType.PAPER_CIRCULATION,
        )
    }


def _problems_of(uow: UnitOfWork, region_id: int) -> list[str]:
    report = _report(uow, region_id)
    face = {state: totals.face_won for state, totals in report.by_state.items()}
    ledger = _ledger_by_state(uow, region_id)
    redeemed_won, exchanged_won = uow.paper.spent_won(region_id)
    spent = face["sold"] + face["redeemed"] + face["exchanged"]
    expected = [
        ("the vouchers' face value", sum(face.values()), "printed", report.printed.face_won),
        ("paper_printed", -ledger["paper_printed"], "printed", report.printed.face_won),
        ("paper_unissued", ledger["paper_unissued"], "unissued vouchers", face["unissued"]),
        ("paper_with_agents", ledger["paper_with_agents"], "agents' vouchers", face["with_agent"]),
        ("paper_sold", ledger["paper_sold"], "sold, redeemed and exchanged vouchers", spent),
        ("paper_destroyed", ledger["paper_destroyed"], "destroyed vouchers", face["destroyed"]),
        ("paper_circulation", ledger["paper_circulation"], "sold vouchers", face["sold"]),
        ("redemptions", redeemed_won, "redeemed vouchers", face["redeemed"]),
        ("exchanges", exchanged_won, "exchanged vouchers", face["exchanged"]),
    ]
    return [
        f"region {region_id}: paper: {name} is {got:,} won but the {what} come to {want:,}"
        for name, got, what, want in expected
        if got != want
    ]


def paper_problems(uow: UnitOfWork, region_id: int | None = None) -> list[str]:
    """Where paper stock, the ledger and the print orders disagree (inside an open ``uow``);
    empty when the stock equation holds in every region with paper."""
    regions = uow.paper.regions_with_paper() if region_id is None else [region_id]
    return [problem for region in regions for problem in _problems_of(uow, region)]


def print_sheet(uow: UnitOfWork, secrets: Secrets, *, print_order_id: int) -> PrintSheet:
    """Every voucher of a print order with its security code, for the printer's files."""
    with uow:
        order = uow.paper.print_order(print_order_id)
        if order is None:
            raise PaperPrintOrderNotFound(
                f"no print order {print_order_id}", print_order_id=print_order_id
            )
        region = uow.records.region(order.region_id)
        brand = uow.records.program(order.region_id, at=order.ordered_at).brand_name
        rows = uow.paper.vouchers_of_order(print_order_id)
    vouchers = []
    for row in rows:
        serial = parse_serial(row.serial)
        security = secrets.paper_security_code(row.serial)
        vouchers.append(
            PrintedVoucher(
                row.serial,
                serial.display,
                security,
                voucher_code(serial, security),
                row.denomination_won,
                row.valid_until,
            )
        )
    return PrintSheet(print_order_id, order.region_id, region.name, brand, vouchers)
