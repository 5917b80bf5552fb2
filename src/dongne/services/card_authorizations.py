"""Deciding the card network's requests as the card's issuer: authorizations (0100),
financial messages (0200) and reversals (0400).

An approval is a mobile payment: ``pay_merchant_within`` on the wallet the card is linked to,
with the same lots, spending order, region, category and revenue-cap rules and the same
ledger posting, in one transaction with the authorization's row. A refusal rolls that
transaction back whole and is recorded as the first answer in a transaction of its own.

- **Repeats.** A message is named by its terminal (DE41), STAN (DE11) and RRN (DE37). Its row
  is claimed before anything else is written (``INSERT … ON CONFLICT DO NOTHING``), so a
  repeat, or a copy racing the first, gets the first answer: the same approval code for the
  same money, which moved once. A repeat with other content (card, amount, merchant) is 94.
- **Reversals** return what was approved, once, through ``cancel_payment_within``. A reversal
  that arrives before its original leaves the original's row taken, so an original that
  arrives late is declined (94) and never approved after its reversal.
- **Fail closed.** ``deadline`` (a ``time.monotonic()`` instant) is checked before anything is
  written and again just before the commit; past it, ``DeadlinePassed`` rolls everything back
  and the host answers 91. A database that does not answer raises its own error, which the
  host also answers with 91. Neither is recorded: a 91 is no decision, and a retry of the
  message is decided afresh.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from dongne.adapters.db.card_records import AuthorizationRow
from dongne.adapters.secrets import Secrets
from dongne.domain.calendar import require_aware
from dongne.domain.card_clearing import AuthorizationClearing
from dongne.domain.cards import (
    CardDeclined,
    CardRequest,
    CardState,
    ResponseCode,
    approval_code,
    message_digest,
    normalize_pan,
    response_code_for,
)
from dongne.domain.errors import DongneError
from dongne.services.idempotency import run_in_transaction
from dongne.services.payments import cancel_payment_within, pay_merchant_within
from dongne.services.unit_of_work import UnitOfWork

REVERSED_FIRST = "0400"
"""The message type of a row a reversal took before its original arrived."""


class DeadlinePassed(Exception):
    """No decision before the network's deadline: nothing is committed, the answer is 91.
    Not a ``DongneError``: it is no refusal of the request, and is never recorded."""


@dataclass(frozen=True)
class CardAnswer:
    response_code: str
    approval_code: str | None
    approved_won: int
    authorization_id: int | None
    newly_approved: bool = False
    """This call moved the money (a repeat's answer did not): what the host reverses if the
    answer could not be given in time."""


@dataclass(frozen=True)
class ReversalAnswer:
    response_code: str
    returned_won: int
    """What this reversal gave back: the approved amount the first time, 0 on a repeat."""
    authorization_id: int | None


def authorize(
    uow: UnitOfWork,
    secrets: Secrets,
    request: CardRequest,
    *,
    now: datetime,
    deadline: float | None = None,
) -> CardAnswer:
    """Decide an 0100 or 0200: approve it as a payment, or decline it with its reason."""
    now = require_aware(now)
    digest = message_digest(request, secrets.card_message_key())
    try:
        return run_in_transaction(
            uow, lambda: _approve(uow, secrets, request, digest=digest, now=now, deadline=deadline)
        )
    except DongneError as refusal:
        code = response_code_for(refusal)
    return run_in_transaction(
        uow,
        lambda: _record_decline(
            uow, secrets, request, digest=digest, code=code, now=now, deadline=deadline
        ),
    )


def reverse(
    uow: UnitOfWork,
    request: CardRequest,
    *,
    now: datetime,
    deadline: float | None = None,
) -> ReversalAnswer:
    """Decide an 0400 for the original ``request`` names (terminal, original STAN, RRN)."""
    now = require_aware(now)

    def attempt() -> ReversalAnswer:
        _check(uow, deadline)
        row = _original_or_tombstone(uow, request, now)
        if row is None:
            return ReversalAnswer(ResponseCode.APPROVED, 0, None)
        returned = _reverse_row(uow, row, now)
        _check(uow, deadline, bound_waits=False)
        return ReversalAnswer(ResponseCode.APPROVED, returned, row.id)

    return run_in_transaction(uow, attempt)


def reverse_late_approval(uow: UnitOfWork, authorization_id: int, *, now: datetime) -> int:
    """Give back an approval whose answer the network never got (the host answered 91 when
    its deadline passed and the decision committed after): returns the won given back."""
    now = require_aware(now)

    def attempt() -> int:
        row = uow.cards.authorization_by_id(authorization_id)
        if row is None:
            return 0
        locked = uow.cards.authorization(row.terminal_id, row.stan, row.rrn, lock=True)
        return _reverse_row(uow, locked or row, now)

    return run_in_transaction(uow, attempt)


# -- an attempt's steps ---------------------------------------------------------------------


def _approve(
    uow: UnitOfWork,
    secrets: Secrets,
    request: CardRequest,
    *,
    digest: str,
    now: datetime,
    deadline: float | None,
) -> CardAnswer:
    _check(uow, deadline)
    claimed = uow.cards.claim_authorization(
        **_row_values(request, digest, ResponseCode.ISSUER_UNAVAILABLE, now)
    )
    if claimed is None:
        return _first_answer(uow, request, digest)
    request.check()
    card = uow.cards.card_by_pan(secrets.pan_digest(normalize_pan(request.pan)), lock=True)
    if card is None:
        raise CardDeclined("no such card", response_code=ResponseCode.INVALID_CARD)
    CardState(card.status).check_usable()
    merchant_id = uow.cards.merchant_of_acceptor(request.acceptor_id)
    if merchant_id is None:
        raise CardDeclined(
            "this card merchant id is no member merchant", response_code=ResponseCode.NOT_PERMITTED
        )
    payment = pay_merchant_within(
        uow,
        wallet_id=card.wallet_id,
        merchant_id=merchant_id,
        amount_won=request.amount_won,
        idempotency_key=f"card-authorization:{claimed}",
        now=now,
    )
    single_message = request.message_type == "0200"
    code = approval_code(claimed)
    uow.cards.update_authorization(
        claimed,
        region_id=card.region_id,
        card_id=card.id,
        merchant_id=merchant_id,
        response_code=ResponseCode.APPROVED.value,
        approval_code=code,
        payment_id=payment.payment_id,
        clearing=(
            AuthorizationClearing.CLEARED if single_message else AuthorizationClearing.OPEN
        ).value,
        cleared_won=request.amount_won if single_message else 0,
    )
    _check(uow, deadline, bound_waits=False)
    return CardAnswer(ResponseCode.APPROVED, code, request.amount_won, claimed, newly_approved=True)


def _record_decline(
    uow: UnitOfWork,
    secrets: Secrets,
    request: CardRequest,
    *,
    digest: str,
    code: ResponseCode,
    now: datetime,
    deadline: float | None,
) -> CardAnswer:
    _check(uow, deadline)
    values = _row_values(request, digest, code, now)
    try:
        card = uow.cards.card_by_pan(secrets.pan_digest(normalize_pan(request.pan)))
    except DongneError:
        card = None
    if card is not None:
        values |= {"card_id": card.id, "region_id": card.region_id}
    claimed = uow.cards.claim_authorization(**values)
    if claimed is None:
        return _first_answer(uow, request, digest)
    _check(uow, deadline, bound_waits=False)
    return CardAnswer(code, None, 0, claimed)


def _first_answer(uow: UnitOfWork, request: CardRequest, digest: str) -> CardAnswer:
    """The answer a repeat gets: the first one, unless the repeat carries other content or
    the approval has since been reversed (then 94: it is no new request, and approving it
    again would spend twice)."""
    row = uow.cards.authorization(request.terminal_id, request.stan, request.rrn)
    assert row is not None  # noqa: S101 - the claim just found it
    if (
        row.message_type == REVERSED_FIRST
        or row.message_digest != digest
        or row.reversed_at is not None
    ):
        return CardAnswer(ResponseCode.DUPLICATE, None, 0, row.id)
    approved = row.amount_won if row.response_code == ResponseCode.APPROVED else 0
    return CardAnswer(row.response_code, row.approval_code, approved, row.id)


def _original_or_tombstone(
    uow: UnitOfWork, request: CardRequest, now: datetime
) -> AuthorizationRow | None:
    """The original's row, locked; if it never arrived, take its place (None), so that it is
    declined when it does."""
    key = (request.terminal_id, request.stan, request.rrn)
    row = uow.cards.authorization(*key, lock=True)
    if row is not None:
        return row
    values = _row_values(request, None, ResponseCode.DUPLICATE, now)
    values |= {"message_type": REVERSED_FIRST, "reversed_at": now}
    if uow.cards.claim_authorization(**values) is not None:
        return None
    # The original committed between the read and the claim: reverse it after all.
    return uow.cards.authorization(*key, lock=True)


def _reverse_row(uow: UnitOfWork, row: AuthorizationRow, now: datetime) -> int:
    if row.reversed_at is not None:
        return 0
    returned = 0
    if row.payment_id is not None:
        payment = uow.records.payment(row.payment_id)
        returned = payment.amount_won - payment.cancelled_won
        if returned:
            cancel_payment_within(
                uow,
                payment_id=row.payment_id,
                amount_won=returned,
                idempotency_key=f"card-reversal:{row.id}",
                now=now,
            )
    clearing = AuthorizationClearing.REVERSED.value if row.payment_id is not None else None
    uow.cards.update_authorization(row.id, reversed_at=now, clearing=clearing)
    return returned


def _row_values(
    request: CardRequest, digest: str | None, code: ResponseCode, now: datetime
) -> dict[str, object]:
    return {
        "terminal_id": request.terminal_id,
        "stan": request.stan,
        "rrn": request.rrn,
        "message_type": request.message_type,
        "message_digest": digest,
        "acceptor_id": request.acceptor_id,
        "mcc": request.mcc,
        "local_time": request.local_time,
        "amount_won": max(request.amount_won, 0),
        "response_code": code.value,
        "created_at": now,
    }


def _check(uow: UnitOfWork, deadline: float | None, *, bound_waits: bool = True) -> None:
    """Past the deadline, give up; before it, bound the transaction's waits by what is left
    (once, at its start: the last check, just before the commit, waits for nothing)."""
    if deadline is None:
        return
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeadlinePassed("no decision before the network's deadline")
    if bound_waits:
        uow.cards.limit_waits(int(left * 1000))
