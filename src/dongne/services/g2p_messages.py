"""What every G2P Connect message shares: its header as read, its sender, its resend check,
and the acknowledgement it gets."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from dongne.adapters.db.g2p_records import MessageRow
from dongne.domain import g2p
from dongne.domain.access import PartnerScope, Principal
from dongne.domain.webhook_urls import check_webhook_url
from dongne.services.unit_of_work import UnitOfWork

IdentityDigest = Callable[[str], str]
"""The keyed hash of an identity number (``Secrets.identity_digest``), applied at the edge."""


@dataclass(frozen=True)
class Header:
    """What dongne reads of a request's ``header``."""

    message_id: str
    sender_id: str
    sender_uri: str | None
    total_count: int


@dataclass(frozen=True)
class Instruction:
    """One ``disbursements[]`` item as sent."""

    reference_id: str
    payer_fa: str
    payee_fa: str
    amount: str
    currency_code: str | None = None
    scheduled_timestamp: datetime | None = None
    payee_name: str | None = None


@dataclass(frozen=True)
class Sender:
    partner_id: int
    region_id: int
    region_code: str
    callback_url: str | None


def sender_of(
    uow: UnitOfWork, caller: Principal, header: Header, *, sync: bool, allow_private: bool
) -> Sender:
    """The partner behind a message and where its async answer goes: ``sender_uri``, or the
    webhook URL it registered (the specification's "default uri ... configured on the
    gateway")."""
    partner_id = caller.partner(PartnerScope.G2P)
    partner = uow.access.partner(partner_id)
    assert partner is not None  # noqa: S101 - the caller was authenticated by this partner
    code, _ = uow.channels.region_code(partner.region_id)
    url = None if sync else (header.sender_uri or partner.webhook_url)
    if not sync:
        if url is None:
            raise g2p.G2pEnvelopeInvalid(
                "an async request needs header.sender_uri (or a registered webhook URL)",
                g2p_error="err.sender_uri.invalid",
            )
        check_webhook_url(url, allow_private_addresses=allow_private)
    return Sender(partner_id, partner.region_id, code, url)


def request_digest(header: Header, body: dict[str, Any]) -> str:
    canonical = json.dumps(
        {"header": asdict(header), "body": body}, sort_keys=True, default=str, ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def new_correlation_id() -> str:
    return f"g2p-{secrets.token_hex(12)}"


def resent(uow: UnitOfWork, sender: Sender, header: Header, digest: str) -> MessageRow | None:
    """The message this one resends, if any; another message under its id is a conflict."""
    earlier = uow.g2p.message_of_sender(sender.partner_id, header.message_id)
    if earlier is not None and earlier.request_digest != digest:
        raise g2p.G2pMessageIdReused(
            "this message_id was used for another message", message_id=header.message_id
        )
    return earlier


def timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def ack(correlation_id: str, now: datetime) -> dict[str, Any]:
    return {
        "message": {
            "ack_status": "ACK",
            "timestamp": timestamp(now),
            "correlation_id": correlation_id,
        }
    }
