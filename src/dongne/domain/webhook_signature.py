"""Signing webhooks, and checking a signature as a receiver does: pure, stdlib only.

The ``Dongne-Signature`` header follows Stripe's scheme: ``t=<unix seconds>,v1=<hex>`` where
the hex is HMAC-SHA256 keyed with the partner's webhook secret over ``f"{t}.{body}"``. Signing
the timestamp with the body lets a receiver refuse a replayed old delivery; a header may carry
several ``v1`` values (while a secret is rotated) and matches if any of them does.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from dongne.domain.calendar import require_aware
from dongne.domain.errors import WebhookSignatureInvalid

SIGNATURE_HEADER = "Dongne-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300
"""Stripe's default: a receiver accepts a delivery signed at most five minutes ago."""


def signature_of(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},{SCHEME}={signature_of(secret, timestamp, body)}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: datetime,
) -> int:
    """Check a delivery's header against its raw body; return the signed timestamp.

    Raises ``WebhookSignatureInvalid`` when the header is malformed, no ``v1`` matches, or the
    timestamp is further than ``tolerance_seconds`` from ``now`` (a replay, or a bad clock).
    """
    timestamp, signatures = _parsed(header)
    expected = signature_of(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise WebhookSignatureInvalid("no signature in the header matches the body")
    age_seconds = require_aware(now).timestamp() - timestamp
    if abs(age_seconds) > tolerance_seconds:
        raise WebhookSignatureInvalid(
            "the signature's timestamp is outside the tolerance",
            age_seconds=int(age_seconds),
            tolerance_seconds=tolerance_seconds,
        )
    return timestamp


def _parsed(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == SCHEME and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookSignatureInvalid(f"the header is not 't=<unix seconds>,{SCHEME}=<hex>'")
    return timestamp, signatures
