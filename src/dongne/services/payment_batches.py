"""Group commit for counter payments: the payments waiting at once, in one transaction.

A payment's own work is a dozen or so short statements; what a transaction adds around them
(taking a pooled connection, BEGIN, COMMIT and its WAL flush, a thread hand-off in the server)
costs about as much again. The server therefore sends QR payments to one ``PaymentBatcher`` per
process, which runs the payments waiting together in one transaction:

- each payment runs exactly as alone (``counter_payments.qr_payment_attempt``: token, merchant,
  wallet, PIN, idempotency key, lots, ledger), inside a savepoint of its own, so a refused
  payment is undone alone and never aborts its batchmates; a wrong PIN's count is kept, as
  ``CommitThenRefuse`` keeps it when the payment runs alone;
- each payment is still its own ledger transaction, so the log still gets one leaf per payment;
- the batch takes the payers' rows in the order of their bearer tokens, and keeps its merchants'
  credits back to the commit, where they are applied in account order (``DeferredCredits``):
  two batches committing in parallel take the rows they share in one order and cannot deadlock
  on them;
- every caller is answered only after the commit, so an answer is never taken back;
- if the batch as a whole fails (a deadlock with some other transaction, a budget draw lost at
  the commit, the database gone), every payment in it runs again alone, in its own transaction,
  under the same idempotency key: nothing is lost and nothing doubled.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import TypeVar

from dongne.adapters.secrets import Secrets
from dongne.domain.errors import DongneError
from dongne.services.batching import RUN_ALONE, BatchingWorker, Outcome, together_or_alone
from dongne.services.counter_payments import QrPayment, pay_by_qr, qr_payment_attempt
from dongne.services.idempotency import CommitThenRefuse, CommitThenRunAgain
from dongne.services.results import PaymentResult
from dongne.services.unit_of_work import UnitOfWork

logger = logging.getLogger("dongne.payment_batches")

ResultT = TypeVar("ResultT")


class PaymentBatcher:
    def __init__(
        self,
        make_uow: Callable[[], UnitOfWork],
        secrets: Secrets,
        *,
        attempts_max: int,
        max_batch: int = 64,
        linger_seconds: float = 0.0,
    ):
        self._make_uow = make_uow
        self._secrets = secrets
        self._attempts_max = attempts_max
        self._worker: BatchingWorker[QrPayment, PaymentResult] = BatchingWorker(
            "dongne-payment-batcher",
            self.pay_batch,
            max_batch=max_batch,
            linger_seconds=linger_seconds,
        )

    def submit(self, payment: QrPayment) -> Future[PaymentResult]:
        return self._worker.submit(payment)

    def stop(self) -> None:
        self._worker.stop()

    def pay_batch(self, payments: Sequence[QrPayment]) -> list[Outcome[PaymentResult]]:
        """Pay ``payments`` in one transaction; return each one's result or refusal. A batch of
        one runs as a payment alone does, without the savepoint it would not need."""
        return together_or_alone(
            payments,
            sorted(range(len(payments)), key=lambda i: payments[i].token),
            self._in_one_transaction,
            self._alone,
            failed=(logger, "a batch of %d payments failed; each runs alone"),
        )

    def _in_one_transaction(
        self, payments: Sequence[QrPayment]
    ) -> list[Outcome[PaymentResult] | None]:
        uow = self._make_uow()
        return in_one_transaction(
            uow,
            [qr_payment_attempt(uow, self._secrets, p, self._attempts_max) for p in payments],
        )

    def _alone(self, payment: QrPayment) -> Outcome[PaymentResult]:
        try:
            return pay_by_qr(
                self._make_uow(), self._secrets, payment, attempts_max=self._attempts_max
            )
        except Exception as error:
            return error


def in_one_transaction(
    uow: UnitOfWork, attempts: Sequence[Callable[[], ResultT]]
) -> list[Outcome[ResultT] | None]:
    """Run ``attempts`` (each one try at a use case inside ``uow``'s transaction) in order, each
    in a savepoint of its own, and commit them together. Return each one's result, its refusal,
    or ``RUN_ALONE`` for one stopped by a database error. Raise if the transaction as a whole
    fails. If the connection died during the COMMIT itself, the batch may have committed after
    all: the caller runs each payment again under its own key, which then finds the stored
    answer, so nothing is paid twice."""
    with uow:
        uow.keep_writes_to_commit(parents_to_draw=len(attempts))
        outcomes = [_within(uow, attempt) for attempt in attempts]
        uow.commit()
    return outcomes


def _within(uow: UnitOfWork, attempt: Callable[[], ResultT]) -> Outcome[ResultT] | None:
    for _ in range(2):  # a right PIN after wrong ones resets the count, then pays
        try:
            with uow.savepoint():
                try:
                    return attempt()
                except CommitThenRefuse as refused:
                    return refused.refusal  # the savepoint keeps the wrong try's count
                except CommitThenRunAgain:
                    pass  # keep the reset, then try again
        except DongneError as refused:
            return refused
        except Exception:  # a database error: its own transaction will tell what it was
            return RUN_ALONE
    return RUN_ALONE
