"""Read models of the city console's dashboard: a region's voucher totals, its discount
budget's month, its payments by merchant category and by day, and how many take part.

Every figure is one aggregate query: the database sums, so the dashboard costs the same
whether the region has a hundred payments or ten million. Nothing here changes state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, distinct, func, select

from dongne.adapters.db.ledger_tables import (
    account_balances,
    accounts,
    ledger_entries,
    ledger_transactions,
)
from dongne.adapters.db.table_store import TableStore
from dongne.adapters.db.tables import merchants, payments, purchases, wallets
from dongne.domain.ledger import AccountType, TransactionKind
from dongne.domain.merchants import MerchantStatus


@dataclass(frozen=True)
class VoucherTotals:
    sold_won: int
    """Face value of the purchases not cancelled."""
    spent_won: int
    """Payments to merchants, less what was cancelled of them."""
    outstanding_won: int
    """What the region's wallets hold now (bought, granted and earned value alike)."""


@dataclass(frozen=True)
class BudgetMonth:
    funded_won: int
    """What the city put into the month's discount budget."""
    balance_won: int
    """What is left of it."""


@dataclass(frozen=True)
class PaymentGroup:
    """Payments grouped under one label (a category, or a day's index from the first)."""

    key: str
    count: int
    amount_won: int


@dataclass(frozen=True)
class Participation:
    active_merchants: int
    wallets: int
    """Wallets in the region: one per citizen who holds its vouchers."""
    paying_wallets: int
    """Wallets in the region: one per citizen who holds its vouchers."""
    """Wallets that paid at least once since the period's start."""


def _net_payment() -> Any:
    return payments.c.amount_won - payments.c.cancelled_won


class ConsoleQueries(TableStore):
    def voucher_totals(self, region_id: int) -> VoucherTotals:
        sold = select(func.coalesce(func.sum(purchases.c.face_won), 0)).where(
            purchases.c.region_id == region_id, purchases.c.cancelled_at.is_(None)
        )
        spent = select(func.coalesce(func.sum(_net_payment()), 0)).where(
            payments.c.region_id == region_id
        )
        outstanding = (
            select(func.coalesce(func.sum(account_balances.c.balance_won), 0))
            .join(accounts, accounts.c.id == account_balances.c.account_id)
            .where(accounts.c.region_id == region_id, accounts.c.type == AccountType.WALLET.value)
        )
        row = self.connection.execute(
            select(sold.scalar_subquery(), spent.scalar_subquery(), outstanding.scalar_subquery())
        ).one()
        return VoucherTotals(int(row[0]), int(row[1]), int(row[2]))

    def budget_month(self, region_id: int, month: str) -> BudgetMonth:
        """The month's discount budget from its entries: what funding put in, what is left."""
        funding = ledger_transactions.c.kind == TransactionKind.BUDGET_FUNDING.value
        row = self.connection.execute(
            select(
                func.coalesce(func.sum(case((funding, ledger_entries.c.amount_won), else_=0)), 0),
                func.coalesce(func.sum(ledger_entries.c.amount_won), 0),
            )
            .select_from(ledger_entries)
            .join(accounts, accounts.c.id == ledger_entries.c.account_id)
            .join(ledger_transactions, ledger_transactions.c.id == ledger_entries.c.transaction_id)
            .where(
                accounts.c.region_id == region_id,
                accounts.c.type == AccountType.DISCOUNT_BUDGET.value,
                accounts.c.key == f"{AccountType.DISCOUNT_BUDGET.value}:{month}",
            )
        ).one()
        return BudgetMonth(int(row[0]), int(row[1]))

    def payments_by_category(
        self, region_id: int, since: datetime, until: datetime
    ) -> list[PaymentGroup]:
        """Payments made in [since, until) per merchant category, the largest first."""
        rows = self.connection.execute(
            select(merchants.c.category, func.count(), func.sum(_net_payment()))
            .select_from(payments)
            .join(merchants, merchants.c.id == payments.c.merchant_id)
            .where(
                payments.c.region_id == region_id,
                payments.c.paid_at >= since,
                payments.c.paid_at < until,
            )
            .group_by(merchants.c.category)
            .order_by(func.sum(_net_payment()).desc(), merchants.c.category)
        ).all()
        return [PaymentGroup(row[0], int(row[1]), int(row[2] or 0)) for row in rows]

    def payments_by_period(
        self, region_id: int, bounds: Sequence[datetime]
    ) -> dict[int, PaymentGroup]:
        """Payments per period between consecutive ``bounds`` (ascending), by the period's
        index; periods without payments are absent. The periods are the caller's (Seoul
        days, say), so no engine's date functions or time zones are involved."""
        if len(bounds) < 2:
            return {}
        period = case(
            *((payments.c.paid_at < bound, index) for index, bound in enumerate(bounds[1:])),
            else_=len(bounds) - 1,
        )
        # Grouped by the subquery's column, not by the CASE itself: PostgreSQL does not take
        # two copies of an expression with bound parameters as the same grouping.
        dated = (
            select(period.label("period"), _net_payment().label("amount_won"))
            .where(
                payments.c.region_id == region_id,
                payments.c.paid_at >= bounds[0],
                payments.c.paid_at < bounds[-1],
            )
            .subquery()
        )
        rows = self.connection.execute(
            select(dated.c.period, func.count(), func.sum(dated.c.amount_won)).group_by(
                dated.c.period
            )
        ).all()
        return {
            int(row[0]): PaymentGroup(str(row[0]), int(row[1]), int(row[2] or 0)) for row in rows
        }

    def settlement_held(self, merchant_id: int) -> bool:
        """Whether a fraud alert holds the merchant's settlement (False for no such merchant)."""
        held = self.connection.execute(
            select(merchants.c.settlement_held).where(merchants.c.id == merchant_id)
        ).scalar_one_or_none()
        return bool(held)

    def participation(self, region_id: int, since: datetime) -> Participation:
        active = select(func.count()).where(
            merchants.c.region_id == region_id, merchants.c.status == MerchantStatus.ACTIVE.value
        )
        held = select(func.count()).select_from(wallets).where(wallets.c.region_id == region_id)
        paying = select(func.count(distinct(payments.c.wallet_id))).where(
            and_(payments.c.region_id == region_id, payments.c.paid_at >= since)
        )
        row = self.connection.execute(
            select(active.scalar_subquery(), held.scalar_subquery(), paying.scalar_subquery())
        ).one()
        return Participation(int(row[0]), int(row[1]), int(row[2]))
