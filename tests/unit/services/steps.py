"""The steps service tests repeat, as one-line calls of the real services on a fake world."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from dongne.domain.lots import LotKind
from dongne.domain.program import BonusMode, VoucherProgram
from dongne.services.payments import cancel_payment, pay_merchant
from dongne.services.purchases import purchase_vouchers
from dongne.services.results import PaymentCancellationResult, PaymentResult, PurchaseResult
from tests.fakes import FakeWorld

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
"""12:00 in Seoul, 26 November 2026, as the database tests count from."""

CASHBACK = VoucherProgram(brand_name="시루", bonus_mode=BonusMode.CASHBACK)
"""A program whose bonus is cashback on payments rather than a discount on purchases."""

MakeWorld = Callable[[VoucherProgram], FakeWorld]
"""The ``make_world`` fixture: a region with this program, its money checked after the test."""


def buy(
    world: FakeWorld, wallet_id: int, face_won: int, *, key: str = "buy", now: datetime = NOW
) -> PurchaseResult:
    return purchase_vouchers(
        world.uow, wallet_id=wallet_id, face_won=face_won, idempotency_key=key, now=now
    )


def pay(
    world: FakeWorld,
    wallet_id: int,
    merchant_id: int,
    amount_won: int,
    *,
    key: str = "pay",
    now: datetime = NOW,
) -> PaymentResult:
    return pay_merchant(
        world.uow,
        wallet_id=wallet_id,
        merchant_id=merchant_id,
        amount_won=amount_won,
        idempotency_key=key,
        now=now,
    )


def cancel(
    world: FakeWorld,
    payment_id: int,
    amount_won: int | None = None,
    *,
    key: str = "cancel",
    now: datetime = NOW,
) -> PaymentCancellationResult:
    return cancel_payment(
        world.uow, payment_id=payment_id, amount_won=amount_won, idempotency_key=key, now=now
    )


def remaining_by_kind(world: FakeWorld, wallet_id: int) -> dict[LotKind, int]:
    """What the wallet's lots hold, per kind."""
    held: dict[LotKind, int] = {}
    for lot in world.lots(wallet_id):
        held[lot.kind] = held.get(lot.kind, 0) + lot.remaining_won
    return held
