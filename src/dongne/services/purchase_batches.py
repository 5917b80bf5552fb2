"""Group commit for voucher purchases: the purchases waiting at once, in one transaction.

The month-start rush is many buyers buying at once, each purchase a dozen short statements in a
transaction of its own; what a transaction adds around them (a pooled connection, BEGIN, COMMIT
and its WAL flush) and the statements that only append rows cost about as much again. The API
therefore hands the purchase step of ``sale_queue.purchase_in_turn`` (after the poll that
admitted the buyer) to one ``PurchaseBatcher`` per process, which runs the purchases waiting
together in one transaction, as ``payment_batches`` does for counter payments:

- each purchase runs exactly as alone (``purchases.purchase_attempt``: key, wallet locked,
  admission spent, limits, budget, ledger), inside a savepoint of its own, so a refused
  purchase (a limit, an admission no longer held) is undone alone, keeps its admission and
  never aborts its batchmates; each is still its own ledger transaction and log leaf;
- a batch holds at most one purchase of a wallet, and takes its wallets in id order (a second
  purchase of the same wallet runs alone after the batch, so it reads the first one's lot and
  purchase as committed); its balance changes wait for the commit and are applied there in
  account order, and its budget draws come last of all (``UnitOfWork.commit``): two batches in
  two server processes take the rows they share in one order;
- each purchase reads what the budget holds less what its batchmates declared to draw
  (``LedgerStore.budget_left``), so the batch grants the discount to exactly the purchases the
  budget covers; the draw at the commit is still the one conditional UPDATE that keeps it from
  being oversold;
- every caller is answered only after the commit; if the batch fails as a whole (its budget
  draw lost to another process's batch at the commit, a deadlock, the database gone), every
  purchase in it runs again alone, under the same idempotency key: nothing is lost, nothing
  doubled, and the budget, read afresh, decides again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from dongne.adapters.db.deferred_rows import PURCHASE_DRAWN_TABLES
from dongne.domain.errors import DongneError
from dongne.services.batching import RUN_ALONE, BatchingWorker, Outcome, together_or_alone
from dongne.services.purchases import (
    AdmissionNotHeld,
    VoucherPurchase,
    purchase_attempt,
    purchase_vouchers,
)
from dongne.services.results import PurchaseResult
from dongne.services.unit_of_work import UnitOfWork

logger = logging.getLogger("dongne.purchase_batches")


class PurchaseBatcher:
    def __init__(
        self,
        make_uow: Callable[[], UnitOfWork],
        *,
        max_batch: int = 64,
        linger_seconds: float = 0.0,
    ):
        self._make_uow = make_uow
        self._worker: BatchingWorker[VoucherPurchase, PurchaseResult] = BatchingWorker(
            "dongne-purchase-batcher",
            self.buy_batch,
            max_batch=max_batch,
            linger_seconds=linger_seconds,
        )

    def submit(self, purchase: VoucherPurchase) -> Future[PurchaseResult]:
        return self._worker.submit(purchase)

    def buy(self, purchase: VoucherPurchase) -> PurchaseResult:
        """Make ``purchase`` with the others waiting, and answer it once they are committed
        (a ``purchases.Buyer``; it raises the purchase's own refusal)."""
        return self.submit(purchase).result()

    def stop(self) -> None:
        self._worker.stop()

    def buy_batch(self, batch: Sequence[VoucherPurchase]) -> list[Outcome[PurchaseResult]]:
        """Make ``batch``'s purchases in one transaction; return each one's result or refusal.
        A batch of one runs as a purchase alone does, without the savepoint it would not need."""
        first_of_wallet: dict[int, int] = {}
        for position, purchase in enumerate(batch):
            first_of_wallet.setdefault(purchase.wallet_id, position)
        return together_or_alone(
            batch,
            sorted(first_of_wallet.values(), key=lambda i: batch[i].wallet_id),
            self._in_one_transaction,
            self._alone,
            failed=(logger, "a batch of %d purchases failed; each runs alone"),
        )

    def _in_one_transaction(
        self, batch: Sequence[VoucherPurchase]
    ) -> list[Outcome[PurchaseResult] | None]:
        """Each purchase in a savepoint of its own, committed together; raise if the
        transaction as a whole fails (its purchases then run alone: any that did commit, were
        the connection lost during the COMMIT, find their stored answer under their key)."""
        uow = self._make_uow()
        with uow:
            uow.keep_writes_to_commit(
                parents_to_draw=len(batch), drawn_tables=PURCHASE_DRAWN_TABLES
            )
            outcomes = [_within(uow, purchase_attempt(uow, purchase)) for purchase in batch]
            uow.commit()
        return outcomes

    def _alone(self, purchase: VoucherPurchase) -> Outcome[PurchaseResult]:
        try:
            return purchase_vouchers(
                self._make_uow(),
                wallet_id=purchase.wallet_id,
                face_won=purchase.face_won,
                idempotency_key=purchase.idempotency_key,
                now=purchase.now,
                admission=purchase.admission,
            )
        except Exception as error:
            return error


def _within(
    uow: UnitOfWork, attempt: Callable[[], PurchaseResult]
) -> Outcome[PurchaseResult] | None:
    try:
        with uow.savepoint():
            return attempt()
    except (DongneError, AdmissionNotHeld) as refused:  # undone alone; its admission kept
        return refused
    except Exception:  # a database error: its own transaction will tell what it was
        return RUN_ALONE
