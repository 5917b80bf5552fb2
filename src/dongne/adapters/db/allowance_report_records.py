"""The queries behind an allowance program's report: grants, flows, spending, expiry."""

from __future__ import annotations

from sqlalchemy import and_, func, select

from dongne.adapters.db.allowance_tables import (
    allowance_grants,
)
from dongne.adapters.db.ledger_tables import ledger_entries, ledger_transactions
from dongne.adapters.db.table_store import TableStore
from dongne.adapters.db.tables import lot_movements, lots, merchants, payment_allocations, payments
from dongne.domain.ledger import TransactionKind


class AllowanceReportRecords(TableStore):
    # -- reports ----------------------------------------------------------------------------

    def grant_totals(self, program_id: int) -> dict[str, tuple[int, int]]:
        """(people, won) per grant status."""
        rows = self.connection.execute(
            select(
                allowance_grants.c.status,
                func.count(),
                func.coalesce(func.sum(allowance_grants.c.amount_won), 0),
            )
            .where(allowance_grants.c.program_id == program_id)
            .group_by(allowance_grants.c.status)
        ).all()
        return {row[0]: (int(row[1]), int(row[2])) for row in rows}

    def account_flows(self, account_id: int) -> dict[str, tuple[int, int]]:
        """(credits, debits) of an account per transaction kind."""
        amount = ledger_entries.c.amount_won
        positive = func.coalesce(func.sum(amount).filter(amount > 0), 0)
        negative = func.coalesce(func.sum(amount).filter(amount < 0), 0)
        rows = self.connection.execute(
            select(ledger_transactions.c.kind, positive, negative)
            .join(ledger_transactions, ledger_transactions.c.id == ledger_entries.c.transaction_id)
            .where(ledger_entries.c.account_id == account_id)
            .group_by(ledger_transactions.c.kind)
        ).all()
        return {row[0]: (int(row[1]), int(-row[2])) for row in rows}

    def spent_by_category(self, funder_account_id: int) -> dict[str, int]:
        """What the program's lots paid merchants, net of cancellations, per category."""
        net = func.sum(payment_allocations.c.amount_won - payment_allocations.c.returned_won)
        rows = self.connection.execute(
            select(merchants.c.category, net)
            .select_from(payment_allocations)
            .join(lots, lots.c.id == payment_allocations.c.lot_id)
            .join(payments, payments.c.id == payment_allocations.c.payment_id)
            .join(merchants, merchants.c.id == payments.c.merchant_id)
            .where(lots.c.funder_account_id == funder_account_id)
            .group_by(merchants.c.category)
            .order_by(merchants.c.category)
        ).all()
        return {row[0]: int(row[1]) for row in rows if row[1]}

    def expired_from_lots_won(self, funder_account_id: int) -> int:
        total = self.connection.execute(
            select(func.coalesce(func.sum(-lot_movements.c.amount_won), 0))
            .join(lots, lots.c.id == lot_movements.c.lot_id)
            .join(
                ledger_transactions,
                and_(
                    ledger_transactions.c.id == lot_movements.c.transaction_id,
                    ledger_transactions.c.kind == TransactionKind.EXPIRY.value,
                ),
            )
            .where(lots.c.funder_account_id == funder_account_id, lot_movements.c.amount_won < 0)
        ).scalar_one()
        return int(total)
