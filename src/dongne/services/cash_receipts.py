"""Cash receipts (현금영수증): the income-deduction record of each payment's purchased part.

Which part counts. A payment takes pieces of lots (``payment_allocations``); the pieces from
PURCHASED lots were bought with the citizen's own money, so they count. GIFTED lots count too:
a gift moves value that was bought with money, and the receipt goes to whoever spends it,
because the income deduction belongs to the person whose spending it records (the giver's
money left their account as a gift, not as spending). CASHBACK lots (points funded by the
city's budget) never count, nor will allowances. This is ``payments.purchased_value_won``.

A cancellation gets a negative receipt for the purchased value it gave back. A cancellation
returns the last pieces taken first (``plan_payment_cancellation``), so the purchased part of
the k-th cancellation is what the reverse walk over the allocations covers between the amount
cancelled before it and the amount cancelled with it.

``issue_cash_receipts`` is a catch-up job: it finds every payment and cancellation without a
receipt and issues one, dated when the payment or cancellation happened (so the tax export for
a day does not depend on when the job ran). Approval numbers are derived from what they are
for, which makes running it twice, or twice at once, issue nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from dongne.adapters.db.cash_receipt_records import (
    CancellationWithoutReceipt,
    NewCashReceipt,
    PaymentWithoutReceipt,
    cancellation_approval_number,
    payment_approval_number,
)
from dongne.domain.calendar import require_aware
from dongne.domain.lots import PURCHASED_VALUE, LotKind
from dongne.services.ports import CashReceiptStore
from dongne.services.unit_of_work import UnitOfWork

BATCH_SIZE = 1_000


def purchased_part_of_first(cancelled_won: int, allocations: Sequence[tuple[int, str]]) -> int:
    """Purchased value among the first ``cancelled_won`` won a payment's cancellations give
    back, walking its (amount, lot kind) pieces from the last one taken."""
    left, purchased = cancelled_won, 0
    for amount_won, kind in reversed(allocations):
        piece = min(left, amount_won)
        purchased += piece if LotKind(kind) in PURCHASED_VALUE else 0
        left -= piece
        if left == 0:
            break
    return purchased


def issue_cash_receipts(uow: UnitOfWork, now: datetime) -> int:
    """Issue every missing cash receipt, in batches; returns how many were issued."""
    require_aware(now)  # the receipts carry their payments' times; ``now`` is for the caller
    issued = 0
    while True:
        with uow:
            records = uow.cash_receipts
            payments = records.payments_without_receipt(BATCH_SIZE)
            cancellations = records.cancellations_without_receipt(BATCH_SIZE)
            for_payments = [_payment_receipt(row) for row in payments]
            for_cancellations = _cancellation_receipts(records, cancellations)
            records.add_receipts(for_payments + for_cancellations)
            uow.commit()
        issued += len(for_payments) + len(for_cancellations)
        # Cancellations that gave back no purchased value stay candidates: go on only while
        # a full batch made progress, or a run could loop over them for ever.
        if len(payments) < BATCH_SIZE and not (
            len(cancellations) == BATCH_SIZE and for_cancellations
        ):
            return issued


def _payment_receipt(row: PaymentWithoutReceipt) -> NewCashReceipt:
    return NewCashReceipt(
        region_id=row.region_id,
        payment_id=row.id,
        wallet_id=row.wallet_id,
        approval_number=payment_approval_number(row.id),
        amount_won=row.purchased_value_won,
        receipt_number=row.receipt_number,
        issued_at=row.paid_at,
    )


def _cancellation_receipts(
    records: CashReceiptStore, cancellations: Sequence[CancellationWithoutReceipt]
) -> list[NewCashReceipt]:
    receipts = []
    for row in cancellations:
        allocations = records.allocation_kinds(row.payment_id)
        before = through = 0
        for cancellation_id, amount_won in records.cancelled_amounts(row.payment_id):
            before, through = through, through + amount_won
            if cancellation_id == row.id:
                break
        returned = purchased_part_of_first(through, allocations) - purchased_part_of_first(
            before, allocations
        )
        if returned:
            receipts.append(
                NewCashReceipt(
                    region_id=row.region_id,
                    payment_id=row.payment_id,
                    wallet_id=row.wallet_id,
                    approval_number=cancellation_approval_number(row.id),
                    amount_won=-returned,
                    receipt_number=row.receipt_number,
                    issued_at=row.cancelled_at,
                )
            )
    return receipts
