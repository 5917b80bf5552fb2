"""Reading and writing settlement runs and lines, and the day totals a run is made of."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError

from dongne.adapters.db.access_tables import users
from dongne.adapters.db.ledger_tables import account_balances, accounts, ledger_entries
from dongne.adapters.db.paper_tables import paper_redemptions
from dongne.adapters.db.settlement_tables import settlement_lines, settlement_runs
from dongne.adapters.db.table_store import TableStore
from dongne.adapters.db.tables import merchants, payment_cancellations, payments, regions
from dongne.domain.settlement import SettlementAlreadyRun, SettlementNotFound


@dataclass(frozen=True)
class DayTotals:
    payment_count: int = 0
    takings_won: int = 0
    cancellation_count: int = 0
    cancellations_won: int = 0


@dataclass(frozen=True)
class MerchantSettlementDetails:
    id: int
    name: str
    business_number: str
    account_id: int
    annual_revenue_won: int
    settlement_held: bool
    bank_code: str | None
    bank_account_number: str | None
    bank_account_holder: str | None

    @property
    def has_bank_details(self) -> bool:
        return bool(self.bank_code and self.bank_account_number and self.bank_account_holder)


@dataclass(frozen=True)
class CounterLine:
    """A payment or cancellation at a shop as its statement lists it, with the login of the
    staff member who made it (None for a citizen's own payment at the shop's static QR)."""

    kind: str
    """payment or cancellation"""
    payment_id: int
    amount_won: int
    at: datetime
    staff_login: str | None


@dataclass(frozen=True)
class RunRow:
    id: int
    region_id: int
    business_day: date
    window_start: datetime | None
    window_end: datetime
    transaction_count: int
    line_count: int
    transfer_won: int
    fee_won: int
    held_won: int
    created_at: datetime


_RUN_COLUMNS = [settlement_runs.c[name] for name in RunRow.__dataclass_fields__]


class SettlementRecords(TableStore):
    def lock_region(self, region_id: int) -> None:
        """Serialize runs of one region (PostgreSQL; SQLite writers hold the database lock)."""
        if self._postgres:
            self.connection.execute(
                select(regions.c.id).where(regions.c.id == region_id).with_for_update()
            )

    def last_run(self, region_id: int) -> RunRow | None:
        row = self.connection.execute(
            select(*_RUN_COLUMNS)
            .where(settlement_runs.c.region_id == region_id)
            .order_by(settlement_runs.c.business_day.desc())
            .limit(1)
        ).first()
        return None if row is None else RunRow(*row)

    def run(self, region_id: int, business_day: date) -> RunRow:
        row = self.connection.execute(
            select(*_RUN_COLUMNS).where(
                settlement_runs.c.region_id == region_id,
                settlement_runs.c.business_day == business_day,
            )
        ).first()
        if row is None:
            raise SettlementNotFound(
                f"{business_day} is not settled", business_day=business_day.isoformat()
            )
        return RunRow(*row)

    def runs(self, region_id: int, limit: int) -> list[RunRow]:
        rows = self.connection.execute(
            select(*_RUN_COLUMNS)
            .where(settlement_runs.c.region_id == region_id)
            .order_by(settlement_runs.c.business_day.desc())
            .limit(limit)
        ).all()
        return [RunRow(*row) for row in rows]

    def is_settled(self, region_id: int, business_day: date) -> bool:
        found = self.connection.execute(
            select(settlement_runs.c.id).where(
                settlement_runs.c.region_id == region_id,
                settlement_runs.c.business_day == business_day,
            )
        ).first()
        return found is not None

    # -- what a run is made of --------------------------------------------------------------

    def day_totals(
        self, region_id: int, start: datetime | None, end: datetime | None
    ) -> dict[int, DayTotals]:
        """Per merchant: the payments (and paper vouchers redeemed) and the cancellations whose
        instants fall in the window (an open end where ``start`` or ``end`` is None)."""
        paid_in = [payments.c.region_id == region_id]
        cancelled_in = [payment_cancellations.c.region_id == region_id]
        if end is not None:
            paid_in.append(payments.c.paid_at < end)
            cancelled_in.append(payment_cancellations.c.cancelled_at < end)
        if start is not None:
            paid_in.append(payments.c.paid_at >= start)
            cancelled_in.append(payment_cancellations.c.cancelled_at >= start)
        taken = self.connection.execute(
            select(payments.c.merchant_id, func.count(), func.sum(payments.c.amount_won))
            .where(*paid_in)
            .group_by(payments.c.merchant_id)
        ).all()
        given_back = self.connection.execute(
            select(
                payments.c.merchant_id, func.count(), func.sum(payment_cancellations.c.amount_won)
            )
            .join(payments, payments.c.id == payment_cancellations.c.payment_id)
            .where(*cancelled_in)
            .group_by(payments.c.merchant_id)
        ).all()
        redeemed = self._paper_takings(region_id, start, end)
        totals: dict[int, DayTotals] = defaultdict(DayTotals)
        for merchant_id, count, amount in [*taken, *redeemed]:
            before = totals[merchant_id]
            totals[merchant_id] = DayTotals(
                before.payment_count + int(count), before.takings_won + int(amount)
            )
        for merchant_id, count, amount in given_back:
            before = totals[merchant_id]
            totals[merchant_id] = DayTotals(
                before.payment_count, before.takings_won, int(count), int(amount)
            )
        return dict(totals)

    def _paper_takings(
        self, region_id: int, start: datetime | None, end: datetime | None
    ) -> Sequence[Row[Any]]:
        """Paper vouchers a merchant redeemed are takings like payments (migration 0021)."""
        redeemed_in = [paper_redemptions.c.region_id == region_id]
        if end is not None:
            redeemed_in.append(paper_redemptions.c.redeemed_at < end)
        if start is not None:
            redeemed_in.append(paper_redemptions.c.redeemed_at >= start)
        return self.connection.execute(
            select(
                paper_redemptions.c.merchant_id,
                func.count(),
                func.sum(paper_redemptions.c.amount_won),
            )
            .where(*redeemed_in)
            .group_by(paper_redemptions.c.merchant_id)
        ).all()

    def carried_forward(self, run_id: int) -> dict[int, int]:
        """What a run's lines carried to the next run, per merchant (non-zero only)."""
        rows = self.connection.execute(
            select(settlement_lines.c.merchant_id, settlement_lines.c.carried_forward_won).where(
                settlement_lines.c.run_id == run_id, settlement_lines.c.carried_forward_won != 0
            )
        ).all()
        return {merchant_id: int(carried) for merchant_id, carried in rows}

    def merchant_details(self, merchant_ids: Iterable[int]) -> dict[int, MerchantSettlementDetails]:
        ids = sorted(set(merchant_ids))
        found: dict[int, MerchantSettlementDetails] = {}
        for chunk in _chunks(ids):
            rows = self.connection.execute(
                select(
                    *(merchants.c[name] for name in MerchantSettlementDetails.__dataclass_fields__)
                ).where(merchants.c.id.in_(chunk))
            ).all()
            found |= {row.id: MerchantSettlementDetails(*row) for row in rows}
        return found

    def payable_shards(self, account_ids: Iterable[int]) -> dict[int, list[tuple[int, int]]]:
        """Each account's (shard, balance) rows, locked on PostgreSQL until the commit, so no
        cancellation can take from a payable between reading it and paying it out."""
        shards: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for chunk in _chunks(sorted(set(account_ids))):
            query = (
                select(
                    account_balances.c.account_id,
                    account_balances.c.shard,
                    account_balances.c.balance_won,
                )
                .where(account_balances.c.account_id.in_(chunk))
                .order_by(account_balances.c.account_id, account_balances.c.shard)
            )
            if self._postgres:
                query = query.with_for_update()
            for account_id, shard, balance in self.connection.execute(query):
                shards[account_id].append((shard, int(balance)))
        return dict(shards)

    def debit_shards(self, debits: Sequence[tuple[int, int, int]]) -> None:
        """Take ``(account_id, shard, amount)`` from balance rows read (and locked) above."""
        if not debits:
            return
        self.connection.execute(
            update(account_balances)
            .where(
                account_balances.c.account_id == bindparam("b_account"),
                account_balances.c.shard == bindparam("b_shard"),
            )
            .values(balance_won=account_balances.c.balance_won - bindparam("b_amount")),
            [{"b_account": a, "b_shard": s, "b_amount": amount} for a, s, amount in debits],
        )

    # -- writing a run ----------------------------------------------------------------------

    def add_run(self, **values: Any) -> int:
        try:
            return self._insert(settlement_runs, **values)
        except IntegrityError as error:  # a run of the same day committed since we looked
            day = values["business_day"]
            raise SettlementAlreadyRun(
                f"{day} is already settled", business_day=day.isoformat()
            ) from error

    def add_lines(self, lines: list[dict[str, Any]]) -> None:
        if lines:
            self.connection.execute(settlement_lines.insert(), lines)

    def set_transaction_count(self, run_id: int, count: int) -> None:
        self.connection.execute(
            update(settlement_runs)
            .where(settlement_runs.c.id == run_id)
            .values(transaction_count=count)
        )

    # -- reading lines ----------------------------------------------------------------------

    def lines(self, run_id: int) -> list[Row[Any]]:
        return list(
            self.connection.execute(
                select(settlement_lines, merchants.c.name, merchants.c.business_number)
                .join(merchants, merchants.c.id == settlement_lines.c.merchant_id)
                .where(settlement_lines.c.run_id == run_id)
                .order_by(settlement_lines.c.merchant_id)
            ).all()
        )

    def merchant_lines(self, merchant_id: int, limit: int) -> list[Row[Any]]:
        return list(
            self.connection.execute(
                select(
                    settlement_lines,
                    merchants.c.name,
                    merchants.c.business_number,
                    settlement_runs.c.business_day,
                )
                .join(merchants, merchants.c.id == settlement_lines.c.merchant_id)
                .join(settlement_runs, settlement_runs.c.id == settlement_lines.c.run_id)
                .where(settlement_lines.c.merchant_id == merchant_id)
                .order_by(settlement_runs.c.business_day.desc())
                .limit(limit)
            ).all()
        )

    def counter_lines(
        self, merchant_id: int, start: datetime | None, end: datetime
    ) -> list[CounterLine]:
        """The merchant's payments and cancellations in a run's window, in time order."""
        paid = select(
            payments.c.id, payments.c.amount_won, payments.c.paid_at, users.c.login
        ).outerjoin(users, users.c.id == payments.c.made_by_user_id)
        paid = paid.where(payments.c.merchant_id == merchant_id, payments.c.paid_at < end)
        cancelled = (
            select(
                payment_cancellations.c.payment_id,
                payment_cancellations.c.amount_won,
                payment_cancellations.c.cancelled_at,
                users.c.login,
            )
            .join(payments, payments.c.id == payment_cancellations.c.payment_id)
            .outerjoin(users, users.c.id == payment_cancellations.c.made_by_user_id)
            .where(payments.c.merchant_id == merchant_id)
            .where(payment_cancellations.c.cancelled_at < end)
        )
        if start is not None:
            paid = paid.where(payments.c.paid_at >= start)
            cancelled = cancelled.where(payment_cancellations.c.cancelled_at >= start)
        lines = [
            CounterLine(kind, row[0], row[1], row[2], row[3])
            for kind, query in (("payment", paid), ("cancellation", cancelled))
            for row in self.connection.execute(query).all()
        ]
        return sorted(lines, key=lambda line: (line.at, line.payment_id))

    def movements_by_account_type(self, run_id: int) -> dict[str, int]:
        """The entries of the ledger transactions that paid the run's lines out, summed per
        account type."""
        paid_by = (
            select(settlement_lines.c.transaction_id)
            .where(
                settlement_lines.c.run_id == run_id, settlement_lines.c.transaction_id.is_not(None)
            )
            .distinct()
        )
        rows = self.connection.execute(
            select(accounts.c.type, func.sum(ledger_entries.c.amount_won))
            .join(accounts, accounts.c.id == ledger_entries.c.account_id)
            .where(ledger_entries.c.transaction_id.in_(paid_by))
            .group_by(accounts.c.type)
        ).all()
        return {kind: int(total) for kind, total in rows}

    def region_payable_balances(self, region_id: int) -> dict[int, int]:
        """What each of the region's merchants' payable accounts holds now."""
        rows = self.connection.execute(
            select(merchants.c.id, func.coalesce(func.sum(account_balances.c.balance_won), 0))
            .join(account_balances, account_balances.c.account_id == merchants.c.account_id)
            .where(merchants.c.region_id == region_id)
            .group_by(merchants.c.id)
        ).all()
        return {merchant_id: int(total) for merchant_id, total in rows}


_CHUNK = 5_000
"""Ids per IN (…) list: SQLite allows 32,766 parameters, and shorter lists plan faster."""


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]
