"""Payment codes and remote payment requests: the rows behind the ways to pay besides QR.

Deciding a code or a request is a conditional UPDATE (``WHERE used_at IS NULL``, ``WHERE
status = 'pending'``) whose row count says whether this transaction won: two counters scanning
one code, or an approve racing a decline, cannot both succeed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Select, insert, select, update

from dongne.adapters.db.access_tables import payment_codes, payment_requests
from dongne.adapters.db.tables import citizens, merchants, regions, wallets


@dataclass(frozen=True)
class PaymentCodeRow:
    id: int
    region_id: int
    wallet_id: int
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class PaymentRequestRow:
    id: int
    region_id: int
    merchant_id: int
    merchant_name: str
    wallet_id: int
    citizen_id: int
    amount_won: int
    memo: str
    status: str
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    payment_id: int | None


_REQUESTS: Select[tuple[object, ...]] = (
    select(
        payment_requests.c.id,
        payment_requests.c.region_id,
        payment_requests.c.merchant_id,
        merchants.c.name.label("merchant_name"),
        payment_requests.c.wallet_id,
        wallets.c.citizen_id,
        payment_requests.c.amount_won,
        payment_requests.c.memo,
        payment_requests.c.status,
        payment_requests.c.created_at,
        payment_requests.c.expires_at,
        payment_requests.c.decided_at,
        payment_requests.c.payment_id,
    )
    .join(merchants, merchants.c.id == payment_requests.c.merchant_id)
    .join(wallets, wallets.c.id == payment_requests.c.wallet_id)
)


class ChannelRecords:
    def __init__(self, connection: Connection):
        self.connection = connection
        self._postgres = connection.dialect.name == "postgresql"

    # -- wallets, as the channels look them up ----------------------------------------------

    def wallets_of_citizen(self, citizen_id: int) -> dict[int, int]:
        """The citizen's wallets: region id -> wallet id."""
        rows = self.connection.execute(
            select(wallets.c.region_id, wallets.c.id).where(wallets.c.citizen_id == citizen_id)
        ).all()
        return {row.region_id: row.id for row in rows}

    def home_region(self, citizen_id: int) -> int | None:
        return self.connection.execute(
            select(citizens.c.region_id).where(citizens.c.id == citizen_id)
        ).scalar_one_or_none()

    def wallet_by_phone(self, phone: str, region_id: int) -> int | None:
        return self.connection.execute(
            select(wallets.c.id)
            .join(citizens, citizens.c.id == wallets.c.citizen_id)
            .where(citizens.c.phone == phone, wallets.c.region_id == region_id)
        ).scalar_one_or_none()

    def region_code(self, region_id: int) -> tuple[str, str]:
        """A region's code (ASCII, for the QR's city) and its name (Korean)."""
        row = self.connection.execute(
            select(regions.c.code, regions.c.name).where(regions.c.id == region_id)
        ).one()
        return row.code, row.name

    # -- payment codes ----------------------------------------------------------------------

    def add_payment_code(
        self,
        *,
        region_id: int,
        wallet_id: int,
        code_hmac: str,
        created_at: datetime,
        expires_at: datetime,
    ) -> int:
        return int(
            self.connection.execute(
                insert(payment_codes)
                .values(
                    region_id=region_id,
                    wallet_id=wallet_id,
                    code_hmac=code_hmac,
                    created_at=created_at,
                    expires_at=expires_at,
                )
                .returning(payment_codes.c.id)
            ).scalar_one()
        )

    def payment_code(self, code_hmac: str, *, lock: bool = False) -> PaymentCodeRow | None:
        query = select(
            payment_codes.c.id,
            payment_codes.c.region_id,
            payment_codes.c.wallet_id,
            payment_codes.c.expires_at,
            payment_codes.c.used_at,
        ).where(payment_codes.c.code_hmac == code_hmac)
        if lock and self._postgres:
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        return PaymentCodeRow(**row._mapping) if row else None

    def use_payment_code(self, code_id: int, *, at: datetime, payment_id: int) -> bool:
        """Mark the code used; False if another transaction used it first."""
        result = self.connection.execute(
            update(payment_codes)
            .where(payment_codes.c.id == code_id, payment_codes.c.used_at.is_(None))
            .values(used_at=at, payment_id=payment_id)
        )
        return result.rowcount == 1

    # -- payment requests -------------------------------------------------------------------

    def add_payment_request(
        self,
        *,
        region_id: int,
        merchant_id: int,
        wallet_id: int,
        amount_won: int,
        memo: str,
        created_at: datetime,
        expires_at: datetime,
    ) -> int:
        return int(
            self.connection.execute(
                insert(payment_requests)
                .values(
                    region_id=region_id,
                    merchant_id=merchant_id,
                    wallet_id=wallet_id,
                    amount_won=amount_won,
                    memo=memo,
                    status="pending",
                    created_at=created_at,
                    expires_at=expires_at,
                )
                .returning(payment_requests.c.id)
            ).scalar_one()
        )

    def payment_request(self, request_id: int, *, lock: bool = False) -> PaymentRequestRow | None:
        query = _REQUESTS.where(payment_requests.c.id == request_id)
        if lock and self._postgres:
            query = query.with_for_update(of=payment_requests)
        row = self.connection.execute(query).first()
        return PaymentRequestRow(**row._mapping) if row else None

    def payment_requests(
        self,
        *,
        merchant_id: int | None = None,
        citizen_id: int | None = None,
        before_id: int | None,
        limit: int,
    ) -> list[PaymentRequestRow]:
        """Newest first; ``before_id`` continues a page."""
        query = _REQUESTS.order_by(payment_requests.c.id.desc()).limit(limit)
        if merchant_id is not None:
            query = query.where(payment_requests.c.merchant_id == merchant_id)
        if citizen_id is not None:
            query = query.where(wallets.c.citizen_id == citizen_id)
        if before_id is not None:
            query = query.where(payment_requests.c.id < before_id)
        return [PaymentRequestRow(**row._mapping) for row in self.connection.execute(query)]

    def decide_payment_request(
        self, request_id: int, *, status: str, at: datetime, payment_id: int | None
    ) -> bool:
        """Close a pending request; False if another transaction decided it first."""
        result = self.connection.execute(
            update(payment_requests)
            .where(payment_requests.c.id == request_id, payment_requests.c.status == "pending")
            .values(status=status, decided_at=at, payment_id=payment_id)
        )
        return result.rowcount == 1
