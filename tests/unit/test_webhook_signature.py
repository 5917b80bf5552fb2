"""Webhook signatures as a receiver checks them: Stripe's ``t=…,v1=…`` scheme."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from dongne.domain.errors import WebhookSignatureInvalid
from dongne.domain.webhook_signature import signature_header, verify_signature

SECRET = "whsec_test"  # noqa: S105 - a test secret
BODY = b'{"id":"evt_1","type":"payment_intent.succeeded"}'
NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
SIGNED_AT = int(NOW.timestamp())


def test_a_signed_body_verifies_and_gives_back_its_timestamp() -> None:
    header = signature_header(SECRET, SIGNED_AT, BODY)
    assert verify_signature(SECRET, header, BODY, now=NOW) == SIGNED_AT


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{SIGNED_AT}.".encode() + BODY, hashlib.sha256)
    assert signature_header(SECRET, SIGNED_AT, BODY) == f"t={SIGNED_AT},v1={expected.hexdigest()}"


def test_a_tampered_body_does_not_verify() -> None:
    header = signature_header(SECRET, SIGNED_AT, BODY)
    with pytest.raises(WebhookSignatureInvalid):
        verify_signature(SECRET, header, BODY.replace(b"succeeded", b"canceled"), now=NOW)


def test_another_secret_does_not_verify() -> None:
    header = signature_header("whsec_other", SIGNED_AT, BODY)
    with pytest.raises(WebhookSignatureInvalid):
        verify_signature(SECRET, header, BODY, now=NOW)


def test_a_replayed_old_delivery_is_refused_one_second_past_the_tolerance() -> None:
    header = signature_header(SECRET, SIGNED_AT, BODY)
    later = NOW + timedelta(seconds=300)
    assert verify_signature(SECRET, header, BODY, tolerance_seconds=300, now=later) == SIGNED_AT
    with pytest.raises(WebhookSignatureInvalid):
        verify_signature(
            SECRET, header, BODY, tolerance_seconds=300, now=later + timedelta(seconds=1)
        )


def test_a_changed_timestamp_does_not_verify() -> None:
    header = signature_header(SECRET, SIGNED_AT, BODY).replace(
        f"t={SIGNED_AT}", f"t={SIGNED_AT + 1}"
    )
    with pytest.raises(WebhookSignatureInvalid):
        verify_signature(SECRET, header, BODY, now=NOW)


def test_any_of_several_signatures_may_match_while_a_secret_is_rotated() -> None:
    old = signature_header("whsec_old", SIGNED_AT, BODY).split(",")[1]
    header = signature_header(SECRET, SIGNED_AT, BODY) + "," + old
    assert verify_signature(SECRET, header, BODY, now=NOW) == SIGNED_AT


@pytest.mark.parametrize("header", ["", "v1=abc", f"t={SIGNED_AT}", "t=soon,v1=abc", "garbage"])
def test_a_malformed_header_is_refused(header: str) -> None:
    with pytest.raises(WebhookSignatureInvalid):
        verify_signature(SECRET, header, BODY, now=NOW)
