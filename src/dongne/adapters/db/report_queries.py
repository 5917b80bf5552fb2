"""Read model of the statutory and management reports: a region's ledger over a period.

Every figure is a sum of ledger entries (by transaction kind and account type) or a count over
the tables the ledger's transactions came with, so each report reconciles with the ledger by
construction, and the tests check it against the ledger by another road.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, distinct, func, select

from dongne.adapters.db.card_tables import card_authorizations
from dongne.adapters.db.ledger_tables import accounts, ledger_entries, ledger_transactions
from dongne.adapters.db.paper_tables import paper_exchanges, paper_movements, paper_redemptions
from dongne.adapters.db.tables import (
    merchants,
    payment_cancellations,
    payments,
    purchases,
    wallets,
)


@dataclass(frozen=True)
class CategoryLine:
    category: str
    payments: int
    paid_won: int
    cancelled_won: int


@dataclass(frozen=True)
class Activity:
    merchants_registered: int
    merchants_active: int
    wallets_open: int
    wallets_active: int


@dataclass(frozen=True)
class CardLine:
    """Payments made by card (an approved authorization's payment) and their cancellations."""

    payments: int
    paid_won: int
    cancelled_won: int


@dataclass(frozen=True)
class PaperCounts:
    """How many paper vouchers were sold, redeemed at merchants and exchanged into wallets."""

    sold: int
    redeemed: int
    exchanged: int


Flows = dict[tuple[str, str], int]
"""Net won moved in the period, by (transaction kind, account type)."""


class ReportQueries:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def flows(self, region_id: int, start: datetime, end: datetime) -> Flows:
        query = (
            select(
                ledger_transactions.c.kind, accounts.c.type, func.sum(ledger_entries.c.amount_won)
            )
            .select_from(
                ledger_entries.join(
                    ledger_transactions, ledger_transactions.c.id == ledger_entries.c.transaction_id
                ).join(accounts, accounts.c.id == ledger_entries.c.account_id)
            )
            .where(
                ledger_entries.c.region_id == region_id,
                ledger_transactions.c.created_at >= start,
                ledger_transactions.c.created_at < end,
            )
            .group_by(ledger_transactions.c.kind, accounts.c.type)
        )
        return {
            (kind, kind_of): int(total) for kind, kind_of, total in self.connection.execute(query)
        }

    def flows_by_account(
        self, region_id: int, account_type: str, start: datetime, end: datetime
    ) -> dict[tuple[str, str], int]:
        """Net won by (account key, transaction kind) for one type of account."""
        query = (
            select(
                accounts.c.key, ledger_transactions.c.kind, func.sum(ledger_entries.c.amount_won)
            )
            .select_from(
                ledger_entries.join(
                    ledger_transactions, ledger_transactions.c.id == ledger_entries.c.transaction_id
                ).join(accounts, accounts.c.id == ledger_entries.c.account_id)
            )
            .where(
                ledger_entries.c.region_id == region_id,
                accounts.c.type == account_type,
                ledger_transactions.c.created_at >= start,
                ledger_transactions.c.created_at < end,
            )
            .group_by(accounts.c.key, ledger_transactions.c.kind)
        )
        return {(key, kind): int(total) for key, kind, total in self.connection.execute(query)}

    def balance_at(self, region_id: int, account_type: str, at: datetime) -> int:
        """What the region's accounts of a type held at the instant ``at``."""
        query = (
            select(func.coalesce(func.sum(ledger_entries.c.amount_won), 0))
            .select_from(
                ledger_entries.join(
                    ledger_transactions, ledger_transactions.c.id == ledger_entries.c.transaction_id
                ).join(accounts, accounts.c.id == ledger_entries.c.account_id)
            )
            .where(
                ledger_entries.c.region_id == region_id,
                accounts.c.type == account_type,
                ledger_transactions.c.created_at < at,
            )
        )
        return int(self.connection.execute(query).scalar_one())

    def payments_by_category(
        self, region_id: int, start: datetime, end: datetime
    ) -> list[CategoryLine]:
        paid = {
            category: (count, int(total))
            for category, count, total in self.connection.execute(
                select(merchants.c.category, func.count(), func.sum(payments.c.amount_won))
                .join(merchants, merchants.c.id == payments.c.merchant_id)
                .where(
                    payments.c.region_id == region_id,
                    payments.c.paid_at >= start,
                    payments.c.paid_at < end,
                )
                .group_by(merchants.c.category)
            )
        }
        cancelled = {
            category: int(total)
            for category, total in self.connection.execute(
                select(merchants.c.category, func.sum(payment_cancellations.c.amount_won))
                .select_from(
                    payment_cancellations.join(
                        payments, payments.c.id == payment_cancellations.c.payment_id
                    ).join(merchants, merchants.c.id == payments.c.merchant_id)
                )
                .where(
                    payments.c.region_id == region_id,
                    payment_cancellations.c.cancelled_at >= start,
                    payment_cancellations.c.cancelled_at < end,
                )
                .group_by(merchants.c.category)
            )
        }
        lines = []
        for category in sorted(set(paid) | set(cancelled)):
            count, won = paid.get(category, (0, 0))
            lines.append(CategoryLine(category, count, won, cancelled.get(category, 0)))
        return lines

    def activity(self, region_id: int, start: datetime, end: datetime) -> Activity:
        in_period = and_(
            ledger_transactions.c.created_at >= start, ledger_transactions.c.created_at < end
        )
        active_wallets = (
            select(func.count(distinct(wallets.c.id)))
            .select_from(
                wallets.join(
                    ledger_entries, ledger_entries.c.account_id == wallets.c.account_id
                ).join(
                    ledger_transactions, ledger_transactions.c.id == ledger_entries.c.transaction_id
                )
            )
            .where(wallets.c.region_id == region_id, in_period)
        )
        active_merchants = select(func.count(distinct(payments.c.merchant_id))).where(
            payments.c.region_id == region_id, payments.c.paid_at >= start, payments.c.paid_at < end
        )
        registered = (
            select(func.count()).select_from(merchants).where(merchants.c.region_id == region_id)
        )
        opened = (
            select(func.count())
            .select_from(wallets)
            .where(wallets.c.region_id == region_id, wallets.c.created_at < end)
        )
        run = self.connection.execute
        return Activity(
            merchants_registered=int(run(registered).scalar_one()),
            merchants_active=int(run(active_merchants).scalar_one()),
            wallets_open=int(run(opened).scalar_one()),
            wallets_active=int(run(active_wallets).scalar_one()),
        )

    def card_payments(self, region_id: int, start: datetime, end: datetime) -> CardLine:
        by_card = payments.c.id.in_(
            select(card_authorizations.c.payment_id).where(
                card_authorizations.c.region_id == region_id,
                card_authorizations.c.payment_id.is_not(None),
            )
        )
        paid = select(func.count(), func.coalesce(func.sum(payments.c.amount_won), 0)).where(
            payments.c.region_id == region_id,
            payments.c.paid_at >= start,
            payments.c.paid_at < end,
            by_card,
        )
        cancelled = (
            select(func.coalesce(func.sum(payment_cancellations.c.amount_won), 0))
            .select_from(
                payment_cancellations.join(
                    payments, payments.c.id == payment_cancellations.c.payment_id
                )
            )
            .where(
                payments.c.region_id == region_id,
                payment_cancellations.c.cancelled_at >= start,
                payment_cancellations.c.cancelled_at < end,
                by_card,
            )
        )
        count, paid_won = self.connection.execute(paid).one()
        cancelled_won = self.connection.execute(cancelled).scalar_one()
        return CardLine(int(count), int(paid_won), int(cancelled_won))

    def paper_counts(self, region_id: int, start: datetime, end: datetime) -> PaperCounts:
        sold = select(func.coalesce(func.sum(paper_movements.c.voucher_count), 0)).where(
            paper_movements.c.region_id == region_id,
            paper_movements.c.kind == "sale",
            paper_movements.c.created_at >= start,
            paper_movements.c.created_at < end,
        )
        redeemed = (
            select(func.count())
            .select_from(paper_redemptions)
            .where(
                paper_redemptions.c.region_id == region_id,
                paper_redemptions.c.redeemed_at >= start,
                paper_redemptions.c.redeemed_at < end,
            )
        )
        exchanged = (
            select(func.count())
            .select_from(paper_exchanges)
            .where(
                paper_exchanges.c.region_id == region_id,
                paper_exchanges.c.exchanged_at >= start,
                paper_exchanges.c.exchanged_at < end,
            )
        )
        run = self.connection.execute
        return PaperCounts(
            sold=int(run(sold).scalar_one()),
            redeemed=int(run(redeemed).scalar_one()),
            exchanged=int(run(exchanged).scalar_one()),
        )

    def purchase_counts(self, region_id: int, start: datetime, end: datetime) -> tuple[int, int]:
        """Mobile purchases made in the period, and purchases cancelled in it."""
        made = (
            select(func.count())
            .select_from(purchases)
            .where(
                purchases.c.region_id == region_id,
                purchases.c.purchased_at >= start,
                purchases.c.purchased_at < end,
            )
        )
        cancelled = (
            select(func.count())
            .select_from(purchases)
            .where(
                purchases.c.region_id == region_id,
                purchases.c.cancelled_at >= start,
                purchases.c.cancelled_at < end,
            )
        )
        run = self.connection.execute
        return int(run(made).scalar_one()), int(run(cancelled).scalar_one())
