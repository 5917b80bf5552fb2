"""Payment intents: a partner app's online order, paid in vouchers once the citizen approves.

The life of an intent (Stripe's names, with manual capture)::

    requires_approval --approve (PIN)--> requires_capture --capture X--> succeeded --refund Y-->
        |   |                                  |
        |   +--------------cancel--------------+--> canceled
        |
        +--(expires_at passes)--> expired   (read as such; nothing is written)

Approval moves the whole amount from the wallet to the merchant at once, so the money is
really held; capturing X of it gives back the rest, and a refund gives back part of what was
captured. What is refunded never exceeds what was captured, which never exceeds the amount.

An intent awaits approval until its ``expires_at`` (set when it is created), so an abandoned
checkout does not stay payable for ever. Expired is final: like ``canceled``, nothing was held,
and it can be neither approved nor canceled. Like an expired payment request it is read as such
(``status_at``) rather than written, so no sweeper has to run for reads to be right.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from dongne.domain.calendar import require_aware
from dongne.domain.errors import (
    CaptureExceedsAmount,
    PaymentIntentAlreadyCaptured,
    PaymentIntentExpired,
    PaymentIntentUnexpectedState,
    RefundExceedsCaptured,
)
from dongne.domain.money import positive_won


class PaymentIntentStatus(StrEnum):
    REQUIRES_APPROVAL = "requires_approval"
    REQUIRES_CAPTURE = "requires_capture"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"
    EXPIRED = "expired"
    """Never stored: an intent still awaiting approval, read at or after its ``expires_at``."""


def status_at(status: str, expires_at: datetime, now: datetime) -> str:
    """The status as of ``now``: an unapproved intent past its expiry reads as expired."""
    if status == PaymentIntentStatus.REQUIRES_APPROVAL and require_aware(now) >= expires_at:
        return PaymentIntentStatus.EXPIRED.value
    return status


def check_can_approve(status: str, expires_at: datetime, now: datetime) -> None:
    """Only an intent awaiting approval, strictly before its expiry, can be approved."""
    if status_at(status, expires_at, now) == PaymentIntentStatus.EXPIRED:
        raise PaymentIntentExpired(
            "this payment intent has expired; the partner creates a new one",
            expired_at=expires_at.isoformat(),
        )
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
