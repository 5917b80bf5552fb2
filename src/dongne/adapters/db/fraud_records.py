"""Reading what the fraud rules look at, and writing alerts, holds and the scan cursor."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Select, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from dongne.adapters.db.driver_statements import DriverStatement, member_of
from dongne.adapters.db.fraud_tables import fraud_alerts, fraud_scan_cursors, merchant_day_takings
from dongne.adapters.db.table_store import TableStore
from dongne.adapters.db.tables import citizens, merchants, payments, purchases, wallets
from dongne.domain.fraud import AlertStatus, FraudAlertNotFound, Hit, PaymentFact


@dataclass(frozen=True)
class CheckedPayment:
    """A payment and what the rules compare it with."""

    fact: PaymentFact
    region_id: int
    wallet_id: int
    citizen_phone: str | None
    merchant_phone: str | None


@dataclass(frozen=True)
class PaymentTime:
    payment_id: int
    wallet_id: int
    merchant_id: int
    paid_at: datetime


@dataclass(frozen=True)
class AlertRow:
    id: int
    region_id: int
    rule: str
    subject: str
    period: str
    merchant_id: int
    citizen_id: int | None
    payment_id: int | None
    details: dict[str, Any]
    status: str
    created_at: datetime
    resolved_at: datetime | None
    resolved_by_user_id: int | None
    note: str | None


_ALERT_COLUMNS = [fraud_alerts.c[name] for name in AlertRow.__dataclass_fields__]


def _payment(on_postgresql: bool) -> Select[Any]:
    return (
        select(
            payments.c.id,
            payments.c.region_id,
            payments.c.wallet_id,
            payments.c.merchant_id,
            payments.c.amount_won,
            payments.c.paid_at,
            wallets.c.citizen_id,
            citizens.c.phone.label("citizen_phone"),
            merchants.c.phone.label("merchant_phone"),
        )
        .join(wallets, wallets.c.id == payments.c.wallet_id)
        .join(citizens, citizens.c.id == wallets.c.citizen_id)
        .join(merchants, merchants.c.id == payments.c.merchant_id)
        .where(member_of(payments.c.id, "b_payments", postgresql=on_postgresql))
    )


def _payment_times(on_postgresql: bool) -> Select[Any]:
    return select(
        payments.c.id, payments.c.wallet_id, payments.c.merchant_id, payments.c.paid_at
    ).where(
        member_of(payments.c.wallet_id, "b_wallets", postgresql=on_postgresql),
        member_of(payments.c.merchant_id, "b_merchants", postgresql=on_postgresql),
        payments.c.paid_at >= bindparam("b_since"),
    )


def _last_purchases(on_postgresql: bool) -> Select[Any]:
    return (
        select(purchases.c.wallet_id, func.max(purchases.c.purchased_at))
        .where(
            member_of(purchases.c.wallet_id, "b_wallets", postgresql=on_postgresql),
            purchases.c.purchased_at <= bindparam("b_at"),
        )
        .group_by(purchases.c.wallet_id)
    )


def _takings(on_postgresql: bool) -> Select[Any]:
    takings = merchant_day_takings.c
    return (
        select(takings.merchant_id, func.sum(takings.takings_won))
        .where(
            member_of(takings.merchant_id, "b_merchants", postgresql=on_postgresql),
            takings.day >= bindparam("b_first", type_=Date),
            takings.day <= bindparam("b_last", type_=Date),
        )
        .group_by(takings.merchant_id)
    )


# The online check runs these reads for every batch of payments, so they are built once (an
# ``in_`` built per call coerced each id into a bound parameter of its own, which cost more
# CPU than running the read) and run on the driver (``DriverStatement``), whose execution
# costs less than SQLAlchemy's.
_PAYMENT, _PAYMENT_TIMES, _LAST_PURCHASES, _TAKINGS = (
    DriverStatement(build(False), postgresql=build(True))
    for build in (_payment, _payment_times, _last_purchases, _takings)
)


class FraudRecords(TableStore):
    # -- what the rules read ----------------------------------------------------------------

    def checked_payments(self, payment_ids: Collection[int]) -> dict[int, CheckedPayment]:
        """The payments of ``payment_ids`` that exist, by id, with what the rules compare."""
        rows = _PAYMENT.execute(self.connection, {"b_payments": list(payment_ids)})
        return {
            row.id: CheckedPayment(
                PaymentFact(row.id, row.citizen_id, row.merchant_id, row.amount_won, row.paid_at),
                row.region_id,
                row.wallet_id,
                row.citizen_phone,
                row.merchant_phone,
            )
            for row in rows
        }

    def payment_times(
        self, wallet_ids: Collection[int], merchant_ids: Collection[int], since: datetime
    ) -> list[PaymentTime]:
        """When those wallets paid those merchants, from ``since`` on (every pair of them: the
        caller keeps the pairs it asked about)."""
        rows = _PAYMENT_TIMES.execute(
            self.connection,
            {"b_wallets": list(wallet_ids), "b_merchants": list(merchant_ids), "b_since": since},
        )
        return [PaymentTime(*row) for row in rows]

    def last_purchases_at(self, wallet_ids: Collection[int], at: datetime) -> dict[int, datetime]:
        """Each wallet's latest purchase at or before ``at``; a wallet with none is left out."""
        rows = _LAST_PURCHASES.execute(self.connection, {"b_wallets": list(wallet_ids), "b_at": at})
        return {row.wallet_id: row[1] for row in rows}

    def takings_by_merchant(
        self, merchant_ids: Collection[int], first_day: date, last_day: date
    ) -> dict[int, int]:
        """Each merchant's voucher payments over the Seoul days ``first_day`` to ``last_day``
        (both included), from the running totals (``day_takings``); 0 for none."""
        rows = _TAKINGS.execute(
            self.connection,
            {"b_merchants": list(merchant_ids), "b_first": first_day, "b_last": last_day},
        )
        found = {merchant_id: int(total) for merchant_id, total in rows}
        return {merchant_id: found.get(merchant_id, 0) for merchant_id in merchant_ids}

    # -- alerts -----------------------------------------------------------------------------

    def add_alert(
        self, hit: Hit, *, region_id: int, payment_id: int | None, at: datetime
    ) -> int | None:
        """The new alert's id, or None when one of that rule, subject and window exists."""
        dialect_insert = postgresql.insert if self._postgres else sqlite.insert
        statement = (
            dialect_insert(fraud_alerts)
            .on_conflict_do_nothing(index_elements=["region_id", "rule", "subject", "period"])
            .returning(fraud_alerts.c.id)
        )
        inserted = self.connection.execute(
            statement,
            {
                "region_id": region_id,
                "rule": hit.rule.value,
                "subject": hit.subject,
                "period": hit.period,
                "merchant_id": hit.merchant_id,
                "citizen_id": hit.citizen_id,
                "payment_id": payment_id,
                "details": hit.details,
                "status": AlertStatus.OPEN.value,
                "created_at": at,
            },
        ).first()
        return None if inserted is None else int(inserted.id)

    def alert(self, alert_id: int, *, lock: bool = False) -> AlertRow:
        query = select(*_ALERT_COLUMNS).where(fraud_alerts.c.id == alert_id)
        if lock and self._postgres:
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        if row is None:
            raise FraudAlertNotFound(f"no fraud alert {alert_id}", alert_id=alert_id)
        return AlertRow(*row)

    def alerts(
        self, region_id: int, status: AlertStatus | None, after_id: int, limit: int
    ) -> list[AlertRow]:
        query = (
            select(*_ALERT_COLUMNS)
            .where(fraud_alerts.c.region_id == region_id, fraud_alerts.c.id > after_id)
            .order_by(fraud_alerts.c.id)
            .limit(limit)
        )
        if status is not None:
            query = query.where(fraud_alerts.c.status == status.value)
        return [AlertRow(*row) for row in self.connection.execute(query)]

    def resolve(
        self,
        alert_id: int,
        status: AlertStatus,
        *,
        user_id: int | None,
        note: str | None,
        at: datetime,
    ) -> bool:
        """Resolve an open alert; False if it was resolved already."""
        result = self.connection.execute(
            update(fraud_alerts)
            .where(fraud_alerts.c.id == alert_id, fraud_alerts.c.status == AlertStatus.OPEN.value)
            .values(status=status.value, resolved_at=at, resolved_by_user_id=user_id, note=note)
        )
        return result.rowcount == 1

    def open_alert_count(self, merchant_id: int) -> int:
        count = self.connection.execute(
            select(func.count()).where(
                fraud_alerts.c.merchant_id == merchant_id,
                fraud_alerts.c.status == AlertStatus.OPEN.value,
            )
        ).scalar_one()
        return int(count)

    def set_settlement_held(self, merchant_id: int, held: bool) -> None:
        self.connection.execute(
            update(merchants).where(merchants.c.id == merchant_id).values(settlement_held=held)
        )

    # -- the batch scan ---------------------------------------------------------------------

    def scan_cursor(self, region_id: int, at: datetime) -> int:
        """The last payment id the region's scan checked, its row locked (PostgreSQL) so two
        scans of one region take turns."""
        dialect_insert = postgresql.insert if self._postgres else sqlite.insert
        self.connection.execute(
            dialect_insert(fraud_scan_cursors).on_conflict_do_nothing(index_elements=["region_id"]),
            {"region_id": region_id, "last_payment_id": 0, "scanned_at": at},
        )
        query = select(fraud_scan_cursors.c.last_payment_id).where(
            fraud_scan_cursors.c.region_id == region_id
        )
        if self._postgres:
            query = query.with_for_update()
        return int(self.connection.execute(query).scalar_one())

    def move_scan_cursor(self, region_id: int, last_payment_id: int, at: datetime) -> None:
        self.connection.execute(
            update(fraud_scan_cursors)
            .where(fraud_scan_cursors.c.region_id == region_id)
            .values(last_payment_id=last_payment_id, scanned_at=at)
        )

    def payment_ids_after(
        self, region_id: int, after_id: int, paid_before: datetime, limit: int
    ) -> list[int]:
        """Ids of the region's payments after ``after_id``, in order, up to the first one paid
        after ``paid_before`` (whose transaction may be young: an older id may still commit)."""
        rows = self.connection.execute(
            select(payments.c.id, payments.c.paid_at)
            .where(payments.c.region_id == region_id, payments.c.id > after_id)
            .order_by(payments.c.id)
            .limit(limit)
        ).all()
        ids = []
        for row in rows:
            if row.paid_at > paid_before:
                break
            ids.append(row.id)
        return ids
