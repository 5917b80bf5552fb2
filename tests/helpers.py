"""Small helpers for service tests: short calls for the steps a story repeats, what the
database holds (snapshots, lots, budgets), and the checks every money test ends with."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from dongne.adapters.db.ledger_tables import account_balances, accounts, ledger_transactions
from dongne.adapters.db.tables import lots, merchants, metadata
from dongne.bootstrap import App
from dongne.domain.errors import DongneError
from dongne.domain.program import VoucherProgram
from dongne.services import accounts as account_services
from dongne.services import (
    authentication,
    gifts,
    payments,
    purchases,
    read_models,
    refunds,
    registry,
)
from dongne.services.accounts import SignedUp
from dongne.services.results import (
    GiftResult,
    PaymentCancellationResult,
    PaymentResult,
    PurchaseResult,
    RefundResult,
)
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, unique_key


def days(count: float) -> datetime:
    """``count`` days after ``NOW``: tests move time forward by passing later instants."""
    return NOW + timedelta(days=count)


# -- what the database holds -------------------------------------------------------------------


def snapshot(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, ordered by primary key: equal snapshots mean nothing changed."""
    with engine.connect() as connection:
        return {
            table.name: [
                dict(row._mapping)
                for row in connection.execute(
                    select(table).order_by(*table.primary_key.columns)
                ).all()
            ]
            for table in metadata.sorted_tables
        }


@contextmanager
def refused(engine: Engine, code: str) -> Iterator[pytest.ExceptionInfo[DongneError]]:
    """Expect the block to fail with a domain error of ``code`` and to change nothing."""
    before = snapshot(engine)
    with pytest.raises(DongneError) as raised:
        yield raised
    assert raised.value.code == code, raised.value.as_dict()
    assert snapshot(engine) == before


def assert_ledger_sound(uow: UnitOfWork) -> None:
    assert read_models.ledger_problems(uow) == []


def transaction_count(engine: Engine) -> int:
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(ledger_transactions))
        return int(count.scalar_one())


@dataclass(frozen=True)
class LotView:
    kind: str
    face_won: int
    paid_won: int
    remaining_won: int
    expires_at: datetime


def wallet_lots(engine: Engine, wallet_id: int) -> list[LotView]:
    """Every lot the wallet ever held, emptied ones too, oldest first."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(lots).where(lots.c.wallet_id == wallet_id).order_by(lots.c.id)
        ).all()
    return [
        LotView(row.kind, row.face_won, row.paid_won, row.remaining_won, row.expires_at)
        for row in rows
    ]


def budget_won(engine: Engine, region_id: int, month: str) -> int:
    """The balance of one month's discount budget (0 before it is first used)."""
    return _balance(engine, region_id, f"discount_budget:{month}")


def payable_won(engine: Engine, merchant_id: int) -> int:
    """What the region owes a merchant."""
    with engine.connect() as connection:
        account_id = connection.execute(
            select(merchants.c.account_id).where(merchants.c.id == merchant_id)
        ).scalar_one()
        total = connection.execute(
            select(func.coalesce(func.sum(account_balances.c.balance_won), 0)).where(
                account_balances.c.account_id == account_id
            )
        )
        return int(total.scalar_one())


def _balance(engine: Engine, region_id: int, key: str) -> int:
    with engine.connect() as connection:
        total = connection.execute(
            select(func.coalesce(func.sum(account_balances.c.balance_won), 0))
            .join(accounts, accounts.c.id == account_balances.c.account_id)
            .where(accounts.c.region_id == region_id, accounts.c.key == key)
        )
        return int(total.scalar_one())


def balance_won(uow: UnitOfWork, wallet_id: int, *, now: datetime = NOW) -> int:
    return read_models.wallet_balance(uow, wallet_id=wallet_id, now=now).balance_won


# -- the steps stories repeat ------------------------------------------------------------------


def buy(uow: UnitOfWork, wallet_id: int, face_won: int, *, now: datetime = NOW) -> PurchaseResult:
    return purchases.purchase_vouchers(
        uow, wallet_id=wallet_id, face_won=face_won, idempotency_key=unique_key("buy"), now=now
    )


def pay(
    uow: UnitOfWork, wallet_id: int, merchant_id: int, amount_won: int, *, now: datetime = NOW
) -> PaymentResult:
    return payments.pay_merchant(
        uow,
        wallet_id=wallet_id,
        merchant_id=merchant_id,
        amount_won=amount_won,
        idempotency_key=unique_key("pay"),
        now=now,
    )


def give(
    uow: UnitOfWork, sender: int, receiver: int, amount_won: int, *, now: datetime = NOW
) -> GiftResult:
    return gifts.send_gift(
        uow,
        sender_wallet_id=sender,
        receiver_wallet_id=receiver,
        amount_won=amount_won,
        idempotency_key=unique_key("gift"),
        now=now,
    )


def cancel(
    uow: UnitOfWork, payment_id: int, amount_won: int | None = None, *, now: datetime = NOW
) -> PaymentCancellationResult:
    return payments.cancel_payment(
        uow,
        payment_id=payment_id,
        amount_won=amount_won,
        idempotency_key=unique_key("cancel"),
        now=now,
    )


def refund(uow: UnitOfWork, wallet_id: int, *, now: datetime = NOW) -> RefundResult:
    return refunds.refund_balance(
        uow, wallet_id=wallet_id, idempotency_key=unique_key("refund"), now=now
    )


def books(uow: UnitOfWork, region_id: int) -> dict[str, int]:
    """The region's account totals without the accounts that hold nothing: the books as a story
    tells them. Every call also checks that they balance."""
    totals = read_models.account_totals(uow, region_id=region_id)
    assert sum(totals.values()) == 0, totals
    return {account_type: total for account_type, total in totals.items() if total}


def register(
    uow: UnitOfWork, region_id: int, number: str, *, now: datetime = NOW, **changes: Any
) -> int:
    """Register 동네빵집 under business ``number``; ``changes`` override its details."""
    request: dict[str, Any] = {
        "name": " 동네빵집 ",
        "category": "bakery",
        "annual_revenue_won": 200_000_000,
    } | changes
    return registry.register_merchant(
        uow, region_id=region_id, business_number=number, now=now, **request
    )


FIVE_YEARS = timedelta(days=5 * 365)
SECOND = timedelta(seconds=1)
UNKNOWN_ID = 999_999
"""An id no test creates."""


def world_with(uow: UnitOfWork, **settings: Any) -> World:
    """A region whose program changes the guideline defaults by ``settings``."""
    return World(uow, NOW, VoucherProgram(brand_name="시루", **settings))


def signed_in_citizen_token(
    app: App, *, region_id: int, phone: str, password: str, lifetime: timedelta, now: datetime
) -> str:
    """Sign a citizen up in the region and log them in: the bearer token an API test sends."""
    return signed_in_citizen(
        app, region_id=region_id, phone=phone, password=password, lifetime=lifetime, now=now
    )[1]


def signed_in_citizen(
    app: App, *, region_id: int, phone: str, password: str, lifetime: timedelta, now: datetime
) -> tuple[SignedUp, str]:
    """``signed_in_citizen_token``, with what the sign-up made (the user, the wallet)."""
    signed = account_services.sign_up_citizen(
        app.uow,
        app.secrets,
        phone=phone,
        password=password,
        name="김민준",
        region_id=region_id,
        identity_number=None,
        idempotency_key=unique_key("sign-up"),
        now=now,
    )
    token = authentication.log_in(
        app.unit_of_work(),
        app.secrets,
        login=phone.replace("-", ""),
        password=password,
        totp_code=None,
        lifetime=lifetime,
        now=now,
    ).token
    return signed, token
