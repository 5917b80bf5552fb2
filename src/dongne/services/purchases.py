"""Buying vouchers and cancelling an untouched purchase (청약철회)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial

from dongne.adapters.db.ledger_store import AccountRef
from dongne.domain.calendar import months_of_year, require_aware, seoul_day, seoul_month
from dongne.domain.ledger import AccountType, Posting, TransactionKind
from dongne.domain.lots import LotKind, Take, holding_won
from dongne.domain.sale_queue import HeldAdmission
from dongne.services.idempotency import Once, once_within, run_in_transaction
from dongne.services.results import PurchaseCancellationResult, PurchaseResult
from dongne.services.unit_of_work import UnitOfWork


def wallet_account(account_id: int) -> AccountRef:
    return AccountRef.of(account_id, AccountType.WALLET)


class AdmissionNotHeld(Exception):
    """A purchase asked to spend a sale-queue admission the wallet no longer holds (it lapsed,
    or a parallel purchase of the same wallet spent it): nothing was bought. The sale queue's
    ``purchase_in_turn`` catches it and sends the wallet back to the line; never shown."""


@dataclass(frozen=True)
class VoucherPurchase:
    """One purchase asked for: ``purchase_vouchers``'s arguments, as a value a batch can hold
    (``purchase_batches``)."""

    wallet_id: int
    face_won: int
    idempotency_key: str
    now: datetime
    admission: HeldAdmission | None = None


Buyer = Callable[[VoucherPurchase], PurchaseResult]
"""What makes a purchase and answers it: alone (``buying_alone``) or in a group commit."""


def buying_alone(uow: UnitOfWork) -> Buyer:
    """Each purchase in a transaction of its own, on ``uow``."""
    return lambda purchase: purchase_vouchers(
        uow,
        wallet_id=purchase.wallet_id,
        face_won=purchase.face_won,
        idempotency_key=purchase.idempotency_key,
        now=purchase.now,
        admission=purchase.admission,
    )


def purchase_vouchers(
    uow: UnitOfWork,
    *,
    wallet_id: int,
    face_won: int,
    idempotency_key: str,
    now: datetime,
    admission: HeldAdmission | None = None,
) -> PurchaseResult:
    """Sell ``face_won`` of vouchers; the discount is drawn atomically from this month's budget.

    With ``admission`` (during a sale), the wallet's sale-queue admission is checked and spent
    in the purchase's own transaction: a purchase refused for any reason keeps it, and one
    admission never buys twice (``AdmissionNotHeld`` if it is not held)."""
    purchase = VoucherPurchase(wallet_id, face_won, idempotency_key, require_aware(now), admission)
    return run_in_transaction(uow, _buying(uow, purchase), once=_once(purchase))


def purchase_attempt(uow: UnitOfWork, purchase: VoucherPurchase) -> Callable[[], PurchaseResult]:
    """One try at ``purchase`` inside ``uow``'s open transaction, at most once per key: for a
    batch of purchases in one transaction (``purchase_batches``)."""
    purchase = replace(purchase, now=require_aware(purchase.now))
    return partial(once_within, uow, _once(purchase), _buying(uow, purchase))


def _once(purchase: VoucherPurchase) -> Once[PurchaseResult]:
    return Once(
        operation="purchase",
        key=purchase.idempotency_key,
        # as in stored_purchase
        request={"wallet_id": purchase.wallet_id, "face_won": purchase.face_won},
        now=purchase.now,
        result_type=PurchaseResult,
    )


def _buying(uow: UnitOfWork, purchase: VoucherPurchase) -> Callable[[], PurchaseResult]:
    wallet_id, face_won, now = purchase.wallet_id, purchase.face_won, purchase.now
    admission = purchase.admission

    def action() -> PurchaseResult:
        wallet = uow.records.wallet(wallet_id, lock=True)
        day, month = seoul_day(now), seoul_month(now)
        reads = uow.records.purchase_reads(
            wallet_id, region_id=wallet.region_id, month=month, at=now, admission=admission
        )
        if not reads.admission_spent:
            raise AdmissionNotHeld(wallet_id)
        program = uow.records.program(wallet.region_id, at=now)
        year_months = months_of_year(day.year)
        annual = program.annual_purchase_limit_won is not None
        program.check_purchase(
            face_won,
            purchased_this_month_won=reads.purchased_this_month_won,
            purchased_this_year_won=(
                uow.records.purchased_face_won(wallet_id, months=year_months) if annual else 0
            ),
            holding_won=holding_won(reads.lots, now),
            is_resident=wallet.home_region_id == wallet.region_id,
        )
        budget = uow.ledger.account(wallet.region_id, AccountType.DISCOUNT_BUDGET, month)
        wanted_bonus = program.discount_bonus_won(face_won, day)
        # Read without locking: the draw declared with the posting is made at commit, and
        # only if the budget still holds it. Less what this transaction's earlier purchases
        # (a batch's) declared: a batch grants the discount to exactly those it covers.
        covered = wanted_bonus > 0 and uow.ledger.budget_left(budget) >= wanted_bonus
        terms = program.purchase_terms(face_won, day, budget_covers_bonus=covered)
        citizen_bank = uow.ledger.account(wallet.region_id, AccountType.CITIZEN_BANK)
        holder = wallet_account(wallet.account_id)
        transaction_id = uow.ledger.post(
            region_id=wallet.region_id,
            kind=TransactionKind.PURCHASE,
            postings=[
                Posting(holder.id, terms.face_won),
                Posting(citizen_bank.id, -terms.paid_won),
                Posting(budget.id, -terms.bonus_won),
            ],
            at=now,
            idempotency_key=purchase.idempotency_key,
            accounts_by_id={a.id: a for a in (holder, citizen_bank, budget)},
            budget_draw=(budget, terms.bonus_won),
            may_wait=True,
        )
        lot_id = uow.records.add_lot(
            region_id=wallet.region_id,
            wallet_id=wallet_id,
            kind=LotKind.PURCHASED,
            face_won=terms.face_won,
            paid_won=terms.paid_won,
            acquired_at=now,
            expires_at=now + timedelta(days=program.validity_days),
            transaction_id=transaction_id,
            may_wait=True,
        )
        purchase_id = uow.records.add_purchase(
            region_id=wallet.region_id,
            wallet_id=wallet_id,
            lot_id=lot_id,
            face_won=terms.face_won,
            paid_won=terms.paid_won,
            bonus_won=terms.bonus_won,
            month=month,
            purchased_at=now,
            transaction_id=transaction_id,
            may_wait=True,
        )
        return PurchaseResult(
            purchase_id,
            transaction_id,
            wallet_id,
            lot_id,
            terms.face_won,
            terms.paid_won,
            terms.bonus_won,
        )

    return action


def stored_purchase(
    uow: UnitOfWork, *, wallet_id: int, face_won: int, idempotency_key: str
) -> PurchaseResult | None:
    """The answer of a purchase already made with this key and request, without buying: a
    retry whose first attempt went through must get that answer even where it could no longer
    buy (its sale-queue admission was spent by that very purchase). Read only. The same key
    with another request is ``IdempotencyKeyReused``, as ``purchase_vouchers`` would say."""
    with uow:
        return replayed_purchase(
            uow, wallet_id=wallet_id, face_won=face_won, idempotency_key=idempotency_key
        )


def replayed_purchase(
    uow: UnitOfWork, *, wallet_id: int, face_won: int, idempotency_key: str
) -> PurchaseResult | None:
    """``stored_purchase`` inside the caller's open unit of work."""
    request = {"wallet_id": wallet_id, "face_won": face_won}
    stored = uow.ledger.stored_response(idempotency_key, "purchase", request)
    return None if stored is None else PurchaseResult(**stored)


def cancel_purchase(
    uow: UnitOfWork, *, purchase_id: int, idempotency_key: str, now: datetime
) -> PurchaseCancellationResult:
    """Give back the full paid amount of an untouched purchase; the bonus returns to the
    budget of the month the cancellation happens in."""
    now = require_aware(now)

    def action() -> PurchaseCancellationResult:
        purchase = uow.records.purchase(purchase_id)
        wallet = uow.records.wallet(purchase.wallet_id, lock=True)
        # The cancellation window is a term of the sale: the one in force when it was bought.
        program = uow.records.program(wallet.region_id, at=purchase.purchased_at)
        purchase = uow.records.purchase(purchase_id)  # again, now that its wallet is locked
        lot = uow.records.lots_by_id([purchase.lot_id])[purchase.lot_id]
        program.check_purchase_cancellable(
            purchased_at=purchase.purchased_at,
            already_cancelled=purchase.cancelled_at is not None,
            lot=lot,
            now=now,
        )
        budget = uow.ledger.account(wallet.region_id, AccountType.DISCOUNT_BUDGET, seoul_month(now))
        citizen_bank = uow.ledger.account(wallet.region_id, AccountType.CITIZEN_BANK)
        holder = wallet_account(wallet.account_id)
        transaction_id = uow.ledger.post(
            region_id=wallet.region_id,
            kind=TransactionKind.PURCHASE_CANCELLATION,
            postings=[
                Posting(holder.id, -purchase.face_won),
                Posting(citizen_bank.id, purchase.paid_won),
                Posting(budget.id, purchase.bonus_won),
            ],
            at=now,
            idempotency_key=idempotency_key,
            accounts_by_id={a.id: a for a in (holder, citizen_bank, budget)},
        )
        uow.records.move_lots(wallet.region_id, transaction_id, [Take(lot.id, -lot.remaining_won)])
        uow.records.mark_purchase_cancelled(purchase_id, now, transaction_id)
        return PurchaseCancellationResult(
            purchase_id, transaction_id, purchase.paid_won, purchase.bonus_won
        )

    return run_in_transaction(
        uow,
        action,
        once=Once(
            operation="cancel_purchase",
            key=idempotency_key,
            request={"purchase_id": purchase_id},
            now=now,
            result_type=PurchaseCancellationResult,
        ),
    )
