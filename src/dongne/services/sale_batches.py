"""Group commit for purchases in the sale's turn: the polls waiting at once in one transaction,
the purchases waiting at once in another (``purchase_batches``), on two threads.

The API's purchase route hands ``sale_queue.purchase_in_turn`` to its process's ``SaleBatcher``.
A buyer's poll waits for the polls arriving with it, their purchase for the purchases arriving
with it; each batch is one transaction, and the two kinds run on threads of their own, so that
while one batch of purchases is in the database the next batch of polls is too:

- the polls run one after another, each in a savepoint of its own, exactly as alone
  (``sale_queue.poll_for_purchase``: the bearer token, the wallet's place, the region's lock if
  the line changes); a refused poll (a bad token, another's wallet) is undone alone. The
  region's counter row is locked by the first poll that changes the line and held to the
  commit, so the batch's polls take their places in its order, and a poll of another process
  waits for the batch once rather than for each of its polls. A buyer the line holds back, or
  whose purchase went through already, is answered from this transaction;
- the poll transaction commits before the purchase is made, so an admission is granted, and
  kept, whatever happens to the purchase; the purchase then spends it in its own batch, as
  alone. One whose admission is gone by the time it buys (a parallel purchase of the same
  wallet) polls again, as ``purchase_in_turn`` does;
- a batch of polls that fails as a whole polls each buyer again alone, in a transaction of its
  own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dongne.domain.errors import DongneError
from dongne.domain.sale_queue import SaleQueuePolicy
from dongne.services import purchases
from dongne.services.batching import RUN_ALONE, BatchingWorker, Outcome, together_or_alone
from dongne.services.purchase_batches import PurchaseBatcher
from dongne.services.results import PurchaseResult
from dongne.services.sale_queue import (
    ADMISSION_ATTEMPTS,
    Bearer,
    Clock,
    PurchaseTurn,
    admission_used_elsewhere,
    poll_for_purchase,
    waiting,
)
from dongne.services.unit_of_work import UnitOfWork

logger = logging.getLogger("dongne.sale_batches")


@dataclass(frozen=True)
class PurchaseInTurn:
    """One buyer's request: ``purchase_in_turn``'s arguments, as the API has them."""

    wallet_id: int
    face_won: int
    bearer: Bearer
    policy: SaleQueuePolicy
    clock: Clock


class SaleBatcher:
    def __init__(
        self,
        make_uow: Callable[[], UnitOfWork],
        *,
        max_batch: int = 64,
        linger_seconds: float = 0.0,
    ):
        self._make_uow = make_uow
        self._polls: BatchingWorker[PurchaseInTurn, PurchaseTurn] = BatchingWorker(
            "dongne-poll-batcher",
            self.poll_batch,
            max_batch=max_batch,
            linger_seconds=linger_seconds,
        )
        self._purchases = PurchaseBatcher(
            make_uow, max_batch=max_batch, linger_seconds=linger_seconds
        )

    def buy(self, request: PurchaseInTurn) -> PurchaseResult:
        """``purchase_in_turn`` for ``request``, its poll and its purchase each with the others
        waiting; it raises what ``purchase_in_turn`` would, once its batch has committed."""
        for _ in range(ADMISSION_ATTEMPTS):
            turn = self._polls.submit(request).result()
            if turn.replayed is not None:
                return turn.replayed
            if not turn.status.admitted:
                raise waiting(turn.status)
            purchase = turn.purchase(
                request.wallet_id, request.face_won, request.clock(), request.policy
            )
            try:
                return self._purchases.buy(purchase)
            except purchases.AdmissionNotHeld:
                continue
        raise admission_used_elsewhere(request.policy)

    def stop(self) -> None:
        self._polls.stop()
        self._purchases.stop()

    def poll_batch(self, batch: Sequence[PurchaseInTurn]) -> list[Outcome[PurchaseTurn]]:
        """Poll ``batch``'s buyers in one transaction; return each one's turn or refusal."""
        return together_or_alone(
            batch,
            range(len(batch)),
            self._in_one_transaction,
            self._poll_alone,
            failed=(logger, "a batch of %d polls failed; each polls alone"),
        )

    def _in_one_transaction(
        self, batch: Sequence[PurchaseInTurn]
    ) -> list[Outcome[PurchaseTurn] | None]:
        uow = self._make_uow()
        with uow:
            uow.keep_writes_to_commit()  # the program read once for the batch
            uow.hold_sale_counters()  # the region's counter too, and written once
            outcomes = [_within(uow, request) for request in batch]
            uow.commit()
        return outcomes

    def _poll_alone(self, request: PurchaseInTurn) -> Outcome[PurchaseTurn]:
        uow = self._make_uow()
        try:
            with uow:
                turn = _turn(uow, request)
                uow.commit()
                return turn
        except Exception as error:
            return error


def _turn(uow: UnitOfWork, request: PurchaseInTurn) -> PurchaseTurn:
    """The buyer's poll; for one the line holds back, the answer of a purchase already made
    under their key, as ``purchase_in_turn`` looks it up."""
    turn = poll_for_purchase(
        uow,
        wallet_id=request.wallet_id,
        face_won=request.face_won,
        idempotency_key="",
        policy=request.policy,
        clock=request.clock,
        citizen_id=None,
        bearer=request.bearer,
    )
    if turn.replayed is not None or turn.status.admitted:
        return turn
    replayed = purchases.replayed_purchase(
        uow,
        wallet_id=request.wallet_id,
        face_won=request.face_won,
        idempotency_key=turn.idempotency_key,
    )
    return PurchaseTurn(turn.citizen_id, turn.idempotency_key, turn.status, turn.opened, replayed)


def _within(uow: UnitOfWork, request: PurchaseInTurn) -> Outcome[PurchaseTurn] | None:
    try:
        with uow.savepoint():
            return _turn(uow, request)
    except DongneError as refused:  # undone alone: nothing of it stays in the line
        return refused
    except Exception:  # a database error: its own transaction will tell what it was
        return RUN_ALONE
