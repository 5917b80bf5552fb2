"""A payment intent's expiry, at its boundary: approvable until just before expires_at."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dongne.domain.errors import PaymentIntentExpired, PaymentIntentUnexpectedState
from dongne.domain.payment_intents import PaymentIntentStatus, check_can_approve, status_at

EXPIRES_AT = datetime(2026, 12, 1, 3, 30, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
AWAITING = PaymentIntentStatus.REQUIRES_APPROVAL.value


def test_an_intent_awaits_approval_until_just_before_it_expires() -> None:
    assert status_at(AWAITING, EXPIRES_AT, EXPIRES_AT - MICROSECOND) == AWAITING
    check_can_approve(AWAITING, EXPIRES_AT, EXPIRES_AT - MICROSECOND)
    assert status_at(AWAITING, EXPIRES_AT, EXPIRES_AT) == "expired"
    with pytest.raises(PaymentIntentExpired) as expired:
        check_can_approve(AWAITING, EXPIRES_AT, EXPIRES_AT)
    assert expired.value.details == {"expired_at": EXPIRES_AT.isoformat()}


@pytest.mark.parametrize("status", ["requires_capture", "succeeded", "canceled"])
def test_only_an_unapproved_intent_expires(status: str) -> None:
    later = EXPIRES_AT + timedelta(days=1)
    assert status_at(status, EXPIRES_AT, later) == status
    with pytest.raises(PaymentIntentUnexpectedState):
        check_can_approve(status, EXPIRES_AT, EXPIRES_AT - MICROSECOND)


def test_expiry_is_judged_on_aware_instants_only() -> None:
    with pytest.raises(ValueError, match="naive"):
        status_at(AWAITING, EXPIRES_AT, datetime(2026, 12, 1))  # noqa: DTZ001 - the point
