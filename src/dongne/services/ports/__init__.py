"""What services need from storage: one ``Protocol`` per store of the unit of work.

Services depend on these, not on the SQLAlchemy classes in ``adapters/db`` that implement them,
so a fake unit of work can hand them in-memory stores. Each lists the methods services call.
The row types the stores return are re-exported here for the entrypoints, which never import
``adapters.db``.
"""

from __future__ import annotations

from dongne.adapters.db.allowance_records import Upload
from dongne.adapters.db.channel_records import PaymentRequestRow
from dongne.adapters.db.dynamic_qr_records import DynamicQrRow
from dongne.adapters.db.fraud_records import AlertRow
from dongne.adapters.db.ledger_queries import HistoryLine
from dongne.adapters.db.listing_records import MerchantPlace, MerchantRow
from dongne.adapters.db.merchant_application_records import Application, ApplicationRow
from dongne.adapters.db.payment_intent_records import PaymentIntentRow, WebhookEventRow
from dongne.adapters.db.settlement_records import RunRow
from dongne.services.ports.governance import GovernanceStore
from dongne.services.ports.money import (
    ChannelStore,
    DynamicQrStore,
    HoldingStore,
    Ledger,
    PaymentIntentStore,
    RegistryStore,
    SaleQueueStore,
)
from dongne.services.ports.paper import PaperStore
from dongne.services.ports.programs import (
    AllowanceStore,
    CashReceiptStore,
    FraudStore,
    LoginThrottleStore,
    MerchantApplicationStore,
    SettlementStore,
    WalkingStore,
)
from dongne.services.ports.reads import ConsoleReadModel, LedgerReadModel, ListingStore

__all__ = [
    "AlertRow",
    "AllowanceStore",
    "Application",
    "ApplicationRow",
    "CashReceiptStore",
    "ChannelStore",
    "ConsoleReadModel",
    "DynamicQrRow",
    "DynamicQrStore",
    "FraudStore",
    "GovernanceStore",
    "HistoryLine",
    "HoldingStore",
    "Ledger",
    "LedgerReadModel",
    "ListingStore",
    "LoginThrottleStore",
    "MerchantApplicationStore",
    "MerchantPlace",
    "MerchantRow",
    "PaperStore",
    "PaymentIntentRow",
    "PaymentIntentStore",
    "PaymentRequestRow",
    "RegistryStore",
    "RunRow",
    "SaleQueueStore",
    "SettlementStore",
    "Upload",
    "WalkingStore",
    "WebhookEventRow",
]
