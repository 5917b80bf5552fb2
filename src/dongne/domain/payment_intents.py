"""Payment intents: a partner app's online order, paid in vouchers once the citizen approves.

The life of an intent (Stripe's names, with manual capture)::

    requires_approval --approve (PIN)--> requires_capture --capture X--> succeeded --refund Y-->
            |                                  |
            +--------------cancel--------------+--> canceled

Approval moves the whole amount from the wallet to the merchant at once, so the money is
really held; capturing X of it gives back the rest, and a refund gives back part of what was
captured. What is refunded never exceeds what was captured, which never exceeds the amount.
"""

from __future__ import annotations

from enum import StrEnum

from dongne.domain.errors import (
    CaptureExceedsAmount,
    PaymentIntentAlreadyCaptured,
    PaymentIntentUnexpectedState,
    RefundExceedsCaptured,
)
from dongne.domain.money import positive_won


class PaymentIntentStatus(StrEnum):
    REQUIRES_APPROVAL = "requires_approval"
    REQUIRES_CAPTURE = "requires_capture"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


def check_can_approve(status: str) -> None:
    if status != PaymentIntentStatus.REQUIRES_APPROVAL:
        raise PaymentIntentUnexpectedState(
            f"a payment intent that is {status} cannot be approved", current_status=status
        )


def amount_to_capture(status: str, amount_won: int, requested_won: int | None) -> int:
    """What a capture takes: all of the amount unless a smaller part is asked for."""
    if status == PaymentIntentStatus.SUCCEEDED:
        raise PaymentIntentAlreadyCaptured(
            "this payment intent is already captured", current_status=status
        )
    if status != PaymentIntentStatus.REQUIRES_CAPTURE:
        raise PaymentIntentUnexpectedState(
            f"a payment intent that is {status} cannot be captured", current_status=status
        )
    if requested_won is None:
        return amount_won
    positive_won(requested_won)
    if requested_won > amount_won:
        raise CaptureExceedsAmount(
            "a capture cannot exceed the approved amount",
            amount_won=amount_won,
            requested_won=requested_won,
        )
    return requested_won


def check_can_cancel(status: str) -> None:
    if status not in {PaymentIntentStatus.REQUIRES_APPROVAL, PaymentIntentStatus.REQUIRES_CAPTURE}:
        raise PaymentIntentUnexpectedState(
            f"a payment intent that is {status} cannot be canceled; refund it instead"
            if status == PaymentIntentStatus.SUCCEEDED
            else f"a payment intent that is {status} cannot be canceled",
            current_status=status,
        )


def check_refund(status: str, captured_won: int, refunded_won: int, requested_won: int) -> None:
    positive_won(requested_won)
    if status != PaymentIntentStatus.SUCCEEDED:
        raise PaymentIntentUnexpectedState(
            f"only a captured payment intent can be refunded; this one is {status}",
            current_status=status,
        )
    refundable_won = captured_won - refunded_won
    if requested_won > refundable_won:
        raise RefundExceedsCaptured(
            f"at most {refundable_won} won of this payment intent can still be refunded",
            captured_won=captured_won,
            refunded_won=refunded_won,
            requested_won=requested_won,
        )
