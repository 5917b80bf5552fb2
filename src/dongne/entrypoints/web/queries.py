"""What the approval page shows about an intent, read in one read-only transaction.

A read model for a page, not a use case: it changes nothing. It lives beside the page until
``services/queries.py`` (edited by others now) can take it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dongne.adapters.db.payment_intent_records import PaymentIntentRecords
from dongne.domain.payment_intents import status_at
from dongne.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class IntentPage:
    id: int
    merchant_name: str
    amount_won: int
    order_reference: str
    return_url: str
    status: str


def intent_page(uow: UnitOfWork, intent_id: int, now: datetime) -> IntentPage:
    """Raises ``PaymentIntentNotFound`` for an unknown id. The status is as of ``now``."""
    with uow:
        intent = PaymentIntentRecords(uow.connection).intent(intent_id)
        merchant = uow.records.merchant(intent.merchant_id).merchant
    return IntentPage(
        intent.id,
        merchant.name,
        intent.amount_won,
        intent.order_reference,
        intent.return_url,
        status_at(intent.status, intent.expires_at, now),
    )
