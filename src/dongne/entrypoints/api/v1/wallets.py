"""Wallets: balances, histories, and what citizens do with their own money.

Money-moving POSTs take an Idempotency-Key. The key is scoped to the caller and the operation
before it reaches the service, so one citizen's key can never replay another's response.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from dongne.entrypoints.api.deps import AppDep, CallerDep, ClockDep, KeyDep, TokenDep, now
from dongne.entrypoints.api.fields import PositiveWon, RequestModel
from dongne.entrypoints.api.pagination import Page, PageDep, page_of, rendered_as
from dongne.entrypoints.api.v1.problems import PROBLEMS
from dongne.services import (
    gifts,
    purchases,
    read_models,
    refunds,
    resources,
    sale_batches,
    sale_queue,
)
from dongne.services.idempotency import caller_scope, scoped_key
from dongne.services.results import PurchaseResult

router = APIRouter(tags=["wallets"])

WalletId = Path(description="The wallet's id", ge=1)
PurchaseId = Path(description="The purchase's id", ge=1)


class WalletOut(BaseModel):
    id: int
    region_id: int
    created_at: datetime


class BalanceOut(BaseModel):
    wallet_id: int
    region_id: int
    balance_won: int = Field(description="The wallet's ledger balance")
    usable_won: int = Field(description="Value not yet expired")
    by_kind_won: dict[str, int] = Field(description="purchased, gifted, cashback")


class HistoryLineOut(BaseModel):
    transaction_id: int
    kind: str = Field(examples=["purchase", "payment", "gift"])
    at: datetime
    amount_won: int = Field(description="Positive into the wallet, negative out of it")


class NewPurchase(RequestModel):
    face_won: PositiveWon = Field(examples=[100_000], description="A multiple of the unit")


class PurchaseOut(BaseModel):
    purchase_id: int
    transaction_id: int
    wallet_id: int
    face_won: int
    paid_won: int = Field(description="Charged to the citizen's linked bank account")
    bonus_won: int = Field(description="The discount, from the city's budget")


class PurchaseCancelled(BaseModel):
    purchase_id: int
    transaction_id: int
    refunded_won: int
    returned_to_budget_won: int


class RefundOut(BaseModel):
    refund_id: int
    transaction_id: int
    wallet_id: int
    value_won: int = Field(description="Voucher value taken out of the wallet")
    refund_won: int = Field(description="Paid back to the citizen's bank account")
    returned_to_budget_won: int


class NewGift(RequestModel):
    to_phone: str = Field(max_length=20, examples=["010-2345-6789"])
    amount_won: PositiveWon = Field(examples=[30_000])


class GiftOut(BaseModel):
    gift_id: int
    transaction_id: int
    sender_wallet_id: int
    receiver_wallet_id: int
    amount_won: int


def _history_line(row: Any) -> HistoryLineOut:
    return HistoryLineOut(
        transaction_id=row.transaction_id,
        kind=row.kind,
        at=row.created_at,
        amount_won=row.amount_won,
    )


@router.get("/wallets", response_model=Page[WalletOut], responses=PROBLEMS)
def list_wallets(app: AppDep, caller: CallerDep, page: PageDep) -> Page[WalletOut]:
    """The caller's own wallets (citizens)."""
    rows = resources.wallets_page(app.reader(), caller, after_id=page.after_id, fetch=page.fetch)
    return page_of(rows, page, id_of=lambda row: row.id, render=rendered_as(WalletOut))


@router.get("/wallets/{wallet_id}", response_model=BalanceOut, responses=PROBLEMS)
def wallet_balance(app: AppDep, caller: CallerDep, wallet_id: int = WalletId) -> BalanceOut:
    """A wallet's balance: its citizen, or an official of its region."""
    with app.reader() as reader:
        resources.visible_wallet(reader, caller, wallet_id, acting=False)
    balance = read_models.wallet_balance(app.reader(), wallet_id=wallet_id, now=now())
    return BalanceOut(**vars(balance))


@router.get(
    "/wallets/{wallet_id}/transactions", response_model=Page[HistoryLineOut], responses=PROBLEMS
)
def wallet_transactions(
    app: AppDep, caller: CallerDep, page: PageDep, wallet_id: int = WalletId
) -> Page[HistoryLineOut]:
    """The wallet's ledger history, newest first."""
    rows = resources.history_page(
        app.standby_reader(), caller, wallet_id, before_id=page.after_id, fetch=page.fetch
    )
    return page_of(rows, page, id_of=lambda row: row.entry_id, render=_history_line)


@router.post(
    "/wallets/{wallet_id}/purchases",
    status_code=201,
    response_model=PurchaseOut,
    responses=PROBLEMS,
)
def buy_vouchers(
    body: NewPurchase,
    app: AppDep,
    token: TokenDep,
    key: KeyDep,
    *,
    clock: ClockDep,
    wallet_id: int = WalletId,
) -> PurchaseOut:
    """Buy vouchers at the program's discount (the wallet's citizen; Idempotency-Key)."""
    # The month-start rush's path: the token is checked in the poll's transaction, and the
    # poll and the purchase each commit with those of the buyers arriving at once
    # (``sale_batches``); the wallet must be the caller's.
    bought = app.sale_batcher().buy(
        sale_batches.PurchaseInTurn(
            wallet_id,
            body.face_won,
            sale_queue.Bearer(token, key, now()),
            sale_queue.sale_queue_policy(app.settings),
            clock,
        )
    )
    return purchase_out(bought)


def purchase_out(bought: PurchaseResult) -> PurchaseOut:
    return PurchaseOut(
        purchase_id=bought.purchase_id,
        transaction_id=bought.transaction_id,
        wallet_id=bought.wallet_id,
        face_won=bought.face_won,
        paid_won=bought.paid_won,
        bonus_won=bought.bonus_won,
    )


@router.post(
    "/purchases/{purchase_id}/cancel", response_model=PurchaseCancelled, responses=PROBLEMS
)
def cancel_purchase(
    app: AppDep, caller: CallerDep, key: KeyDep, purchase_id: int = PurchaseId
) -> PurchaseCancelled:
    """Cancel an untouched purchase within the window (청약철회); the full paid amount returns."""
    caller.citizen()
    purchase = resources.purchase_of_caller(app.reader(), caller, purchase_id)
    resources.wallet_to_act_on(app.reader(), caller, purchase.wallet_id)
    cancelled = purchases.cancel_purchase(
        app.unit_of_work(),
        purchase_id=purchase_id,
        idempotency_key=scoped_key("cancel-purchase", caller_scope(caller), key),
        now=now(),
    )
    return PurchaseCancelled(**vars(cancelled))


@router.post("/wallets/{wallet_id}/refund", response_model=RefundOut, responses=PROBLEMS)
def refund_balance(
    app: AppDep, caller: CallerDep, key: KeyDep, wallet_id: int = WalletId
) -> RefundOut:
    """Refund what is left of lots spent past the threshold (잔액환불)."""
    resources.wallet_to_act_on(app.reader(), caller, wallet_id)
    refunded = refunds.refund_balance(
        app.unit_of_work(),
        wallet_id=wallet_id,
        idempotency_key=scoped_key("refund", caller_scope(caller), key),
        now=now(),
    )
    return RefundOut(**vars(refunded))


@router.post(
    "/wallets/{wallet_id}/gifts", status_code=201, response_model=GiftOut, responses=PROBLEMS
)
def send_gift(
    body: NewGift, app: AppDep, caller: CallerDep, key: KeyDep, wallet_id: int = WalletId
) -> GiftOut:
    """Send purchased value to another citizen of the same region, found by phone number."""
    sender = resources.wallet_to_act_on(app.reader(), caller, wallet_id)
    receiver = resources.gift_recipient_wallet(app.reader(), body.to_phone, sender.region_id)
    sent = gifts.send_gift(
        app.unit_of_work(),
        sender_wallet_id=wallet_id,
        receiver_wallet_id=receiver,
        amount_won=body.amount_won,
        idempotency_key=scoped_key("gift", caller_scope(caller), key),
        now=now(),
    )
    return GiftOut(**vars(sent))
