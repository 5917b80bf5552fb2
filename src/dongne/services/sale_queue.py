"""The sale queue: join or poll a place in line, and let admitted buyers through to buy.

What a poll does to a region's line, under which lock and at which instant, is
``sale_line``'s. The discount budget is not the queue's business: an admitted buyer still
buys through ``purchase_vouchers``, which draws the budget atomically and, in the same
transaction, checks and spends the admission.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dongne.adapters.db.sale_queue_records import WalletLine
from dongne.adapters.secrets import token_digest
from dongne.config import Settings
from dongne.domain.calendar import require_aware
from dongne.domain.errors import SaleQueueWaiting, WalletNotFound
from dongne.domain.sale_queue import (
    SaleQueuePolicy,
    estimated_wait_seconds,
    held_admission,
    poll_after_seconds,
)
from dongne.services import purchases
from dongne.services.authentication import (
    PARTNER_KEY_PREFIX,
    authenticate_within,
    authenticated_user,
)
from dongne.services.idempotency import caller_scope, scoped_key
from dongne.services.results import PurchaseResult
from dongne.services.sale_line import (
    OUTSIDE_A_SALE,
    Clock,
    TicketStatus,
    polled,
    seen_on_arrival,
    waiting,
)
from dongne.services.unit_of_work import UnitOfWork

__all__ = ["OUTSIDE_A_SALE", "Clock", "TicketStatus", "waiting"]


def join_or_poll(
    uow: UnitOfWork, *, wallet_id: int, clock: Clock, policy: SaleQueuePolicy
) -> TicketStatus:
    """Take a place in line, or keep it: a retry refreshes the same ticket; a ticket that was
    abandoned, used, lapsed or left from an earlier sale starts again at the back.

    ``clock`` is read on arrival, to find the sale window and whether the wallet holds a live
    admission already (then nothing in the line changes and the region's lock is not taken),
    and again once the region's counter row is locked, for everything the poll decides (see
    ``sale_line``'s docstring)."""
    with uow:
        status, _ = polled(
            uow, seen_on_arrival(uow, wallet_id, clock, policy), wallet_id, clock, policy
        )
        uow.commit()
        return status


def admit_purchase(
    uow: UnitOfWork, *, wallet_id: int, clock: Clock, policy: SaleQueuePolicy
) -> TicketStatus:
    """Let the wallet buy if it holds a live admission; otherwise it joins (or keeps) its place
    and ``SaleQueueWaiting`` says where it stands."""
    status = join_or_poll(uow, wallet_id=wallet_id, clock=clock, policy=policy)
    if not status.admitted:
        raise waiting(status)
    return status


@dataclass(frozen=True)
class Bearer:
    """An API buyer not yet authenticated: their bearer token (checked as at ``now``) and the
    Idempotency-Key they sent. ``poll_for_purchase`` checks the token in the poll's transaction
    (the route's own check took a transaction and a worker thread of its own) and scopes the key
    to the caller as the route did."""

    token: str
    client_key: str
    now: datetime

    def check(self, uow: UnitOfWork, wallet_id: int) -> tuple[int, str, WalletLine]:
        """The acting citizen, their scoped key and the wallet's line, inside ``uow``'s open
        transaction: a user's token and the line in one read (a partner's key, which may not
        buy, is refused as ``authenticate_within`` refuses it)."""
        if self.token.startswith(PARTNER_KEY_PREFIX):
            authenticate_within(uow, token=self.token, now=self.now).principal.citizen()
        user, line = uow.sale_queue.bearer_and_wallet_line(
            wallet_id, token_hash=token_digest(self.token), now=require_aware(self.now)
        )
        caller = authenticated_user(user).principal
        citizen_id = caller.citizen()
        if line is None:
            raise WalletNotFound(f"no wallet {wallet_id}", wallet_id=wallet_id)
        return citizen_id, scoped_key("purchase", caller_scope(caller), self.client_key), line


@dataclass(frozen=True)
class PurchaseTurn:
    """Where a purchase stands after its poll (``poll_for_purchase``)."""

    citizen_id: int | None
    idempotency_key: str
    status: TicketStatus
    opened: datetime | None
    """The sale window its admission belongs to; None outside a sale."""
    replayed: PurchaseResult | None = None
    """A retry of a purchase that went through: its first answer, and the line untouched."""

    def purchase(
        self, wallet_id: int, face_won: int, now: datetime, policy: SaleQueuePolicy
    ) -> purchases.VoucherPurchase:
        """The purchase this admitted turn makes at ``now``, spending its admission."""
        admission = None if self.opened is None else held_admission(self.opened, policy)
        return purchases.VoucherPurchase(
            wallet_id, face_won, self.idempotency_key, now=now, admission=admission
        )


def poll_for_purchase(
    uow: UnitOfWork,
    *,
    wallet_id: int,
    face_won: int,
    idempotency_key: str,
    policy: SaleQueuePolicy,
    clock: Clock,
    citizen_id: int | None,
    bearer: Bearer | None,
) -> PurchaseTurn:
    """``purchase_in_turn``'s poll, inside ``uow``'s open transaction (a batch's, in
    ``sale_batches``); the caller commits it unless the turn is ``replayed``."""
    line = None
    if bearer is not None:
        citizen_id, idempotency_key, line = bearer.check(uow, wallet_id)
    seen = seen_on_arrival(uow, wallet_id, clock, policy, citizen_id=citizen_id, line=line)
    replayed = seen.spent_in_this_sale() and purchases.replayed_purchase(
        uow, wallet_id=wallet_id, face_won=face_won, idempotency_key=idempotency_key
    )
    if replayed:
        return PurchaseTurn(citizen_id, idempotency_key, OUTSIDE_A_SALE, None, replayed)
    status, opened = polled(uow, seen, wallet_id, clock, policy)
    return PurchaseTurn(citizen_id, idempotency_key, status, opened)


ADMISSION_ATTEMPTS = 3
"""Polls a purchase makes when its admission is gone by the time it buys (a parallel purchase
of the same wallet spent it): each sends the wallet to the back of the line, so the next one
is told to wait unless the bucket admits it at once."""


def purchase_in_turn(
    uow: UnitOfWork,
    *,
    wallet_id: int,
    face_won: int,
    idempotency_key: str,
    policy: SaleQueuePolicy,
    clock: Clock,
    citizen_id: int | None = None,
    buy: purchases.Buyer | None = None,
) -> PurchaseResult:
    """Buy vouchers once the sale's line admits the wallet (``SaleQueueWaiting`` until then);
    the discount budget still decides, atomically, who gets the discount. With ``citizen_id``
    (the acting citizen, from the entrypoints) the wallet must be theirs, checked by the poll's
    first read (``WalletNotFound`` otherwise, before anything is written): no transaction of
    its own to read the wallet first.

    Two transactions for a buyer the poll admits, one for a buyer admitted already: the poll
    (which takes the region's lock only if the line changes), then the purchase, which checks
    and spends the admission itself, so a refused purchase keeps it and one admission never
    buys twice. A retry of a purchase that went through (and so spent its admission) is
    answered as the first time: looked up only where the wallet's ticket of this sale is spent,
    or the line holds it back, so an admitted purchase pays no extra read. The purchase is made
    at the clock's reading after the admission, never before it was granted.

    ``buy`` makes the purchase once admitted: in a transaction of its own on ``uow`` by default,
    or with others (``PurchaseBatcher.buy``). The API batches the polls too (``sale_batches``)."""
    buy = buy or purchases.buying_alone(uow)
    for _ in range(ADMISSION_ATTEMPTS):
        with uow:
            turn = poll_for_purchase(
                uow,
                wallet_id=wallet_id,
                face_won=face_won,
                idempotency_key=idempotency_key,
                policy=policy,
                clock=clock,
                citizen_id=citizen_id,
                bearer=None,
            )
            if turn.replayed is not None:
                return turn.replayed  # answered before the ticket would go back in line
            uow.commit()
        if not turn.status.admitted:
            replayed = purchases.stored_purchase(
                uow, wallet_id=wallet_id, face_won=face_won, idempotency_key=idempotency_key
            )
            if replayed is None:
                raise waiting(turn.status)
            return replayed
        try:
            return buy(turn.purchase(wallet_id, face_won, clock(), policy))
        except purchases.AdmissionNotHeld:
            continue
    raise admission_used_elsewhere(policy)


def admission_used_elsewhere(policy: SaleQueuePolicy) -> SaleQueueWaiting:
    """The refusal of a purchase whose admission every poll found spent by another."""
    return SaleQueueWaiting(
        "the sale is busy: your admission was used by another purchase",
        position=1,
        estimated_wait_seconds=estimated_wait_seconds(1, policy),
        retry_after_seconds=poll_after_seconds(1, policy),
    )


def sale_queue_policy(settings: Settings) -> SaleQueuePolicy:
    """The line's pace and patience, from the ``DONGNE_SALE_QUEUE_*`` settings."""
    return SaleQueuePolicy(
        admissions_per_second=settings.sale_queue_admissions_per_second,
        burst=settings.sale_queue_burst,
        month_start_days=settings.sale_queue_month_start_days,
        abandon_seconds=settings.sale_queue_abandon_seconds,
        admission_seconds=settings.sale_queue_admission_seconds,
    )
