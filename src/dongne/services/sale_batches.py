"""Group commit for purchases in the sale's turn: the polls waiting at once in one transaction,
then the purchases they admitted in one more (``purchase_batches``).

The API's purchase route hands its whole ``sale_queue.purchase_in_turn`` to one ``SaleBatcher``
per process. For a batch of n buyers that is two transactions, where each buyer took two:

- the polls run one after another in one transaction, each in a savepoint of its own, exactly
  as alone (``sale_queue.poll_for_purchase``: the bearer token, the wallet's place, the
  region's lock if the line changes); a refused poll (a bad token, another's wallet) is undone
  alone. The region's counter row is locked by the first poll that changes the line and held to
  the commit, so the batch's polls take their places in its order, and a poll of another
  process waits for the batch once rather than for each of its polls;
- the poll transaction commits before any purchase is made, so an admission is granted, and
  kept, whatever happens to the purchase; the admitted purchases then run as a batch of
  ``PurchaseBatcher``, each spending its admission in the purchase's transaction, as alone;
- a buyer the line holds back, or whose purchase went through already, is answered from the
  poll's transaction; one whose admission is gone by the time it buys (a parallel purchase of
  the same wallet) runs ``purchase_in_turn`` again alone, as would any buyer of a poll
  transaction that failed as a whole.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from dongne.domain.errors import DongneError
from dongne.domain.sale_queue import SaleQueuePolicy
from dongne.services import purchases
from dongne.services.batching import BatchingWorker, Outcome
from dongne.services.purchase_batches import PurchaseBatcher
from dongne.services.results import PurchaseResult
from dongne.services.sale_queue import (
    Bearer,
    Clock,
    PurchaseTurn,
    poll_for_purchase,
    purchase_in_turn,
    waiting,
)
from dongne.services.unit_of_work import UnitOfWork

logger = logging.getLogger("dongne.sale_batches")

RUN_ALONE = None
"""A buyer's outcome when their purchase has to run again alone (``purchase_in_turn``)."""


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
        self._purchases = PurchaseBatcher(make_uow)  # its batches, run on this worker's thread
        self._worker: BatchingWorker[PurchaseInTurn, PurchaseResult] = BatchingWorker(
            "dongne-sale-batcher",
            self.buy_batch,
            max_batch=max_batch,
            linger_seconds=linger_seconds,
        )

    def submit(self, request: PurchaseInTurn) -> Future[PurchaseResult]:
        return self._worker.submit(request)

    def buy(self, request: PurchaseInTurn) -> PurchaseResult:
        """``purchase_in_turn`` for ``request`` with the others waiting: answered once its
        purchase is committed; it raises what ``purchase_in_turn`` would."""
        return self.submit(request).result()

    def stop(self) -> None:
        self._worker.stop()

    def buy_batch(self, batch: Sequence[PurchaseInTurn]) -> list[Outcome[PurchaseResult]]:
        if len(batch) == 1:
            return [self._alone(batch[0])]
        try:
            turns = self._polled(batch)
        except Exception:
            logger.warning("a batch of %d polls failed; each buyer runs alone", len(batch))
            turns = [RUN_ALONE] * len(batch)
        outcomes: list[Outcome[PurchaseResult] | None] = [RUN_ALONE] * len(batch)
        admitted: list[tuple[int, purchases.VoucherPurchase]] = []
        for position, (request, turn) in enumerate(zip(batch, turns, strict=True)):
            if isinstance(turn, PurchaseTurn) and turn.replayed is None and turn.status.admitted:
                now = request.clock()
                purchase = turn.purchase(request.wallet_id, request.face_won, now, request.policy)
                admitted.append((position, purchase))
            elif isinstance(turn, PurchaseTurn):
                outcomes[position] = turn.replayed or waiting(turn.status)
            else:
                outcomes[position] = turn
        bought = (
            self._purchases.buy_batch([purchase for _, purchase in admitted]) if admitted else []
        )
        for (position, _), outcome in zip(admitted, bought, strict=True):
            gone = isinstance(outcome, purchases.AdmissionNotHeld)
            outcomes[position] = RUN_ALONE if gone else outcome
        return [
            self._alone(request) if outcome is RUN_ALONE else outcome
            for request, outcome in zip(batch, outcomes, strict=True)
        ]

    def _polled(self, batch: Sequence[PurchaseInTurn]) -> list[PurchaseTurn | BaseException | None]:
        """Every request's poll in one transaction, each in a savepoint; a buyer the line
        holds back is looked up for a purchase already made under their key, as alone."""
        uow = self._make_uow()
        with uow:
            uow.keep_writes_to_commit()  # the program read once for the batch
            turns = [_poll_within(uow, request) for request in batch]
            uow.commit()
        return turns

    def _alone(self, request: PurchaseInTurn) -> Outcome[PurchaseResult]:
        try:
            return purchase_in_turn(
                self._make_uow(),
                wallet_id=request.wallet_id,
                face_won=request.face_won,
                policy=request.policy,
                clock=request.clock,
                bearer=request.bearer,
            )
        except Exception as error:
            return error


def _poll_within(uow: UnitOfWork, request: PurchaseInTurn) -> PurchaseTurn | BaseException | None:
    try:
        with uow.savepoint():
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
            if turn.replayed is None and not turn.status.admitted:
                replayed = purchases.replayed_purchase(
                    uow,
                    wallet_id=request.wallet_id,
                    face_won=request.face_won,
                    idempotency_key=turn.idempotency_key,
                )
                return PurchaseTurn(
                    turn.citizen_id, turn.idempotency_key, turn.status, turn.opened, replayed
                )
            return turn
    except DongneError as refused:  # undone alone: nothing of it stays in the line
        return refused
    except Exception:  # a database error: its own transactions will tell what it was
        return RUN_ALONE
