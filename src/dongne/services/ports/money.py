"""Stores on the money path: holdings, the ledger, payment channels, intents, the sale queue."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from dongne.adapters.db.channel_records import PaymentCodeRow, PaymentRequestRow
from dongne.adapters.db.dynamic_qr_records import DynamicQrRow
from dongne.adapters.db.ledger_store import AccountRef
from dongne.adapters.db.payment_intent_records import PaymentIntentRow, RefundRow, WebhookEventRow
from dongne.domain.ledger import AccountType, Posting, TransactionKind
from dongne.domain.lots import (
    Allocation,
    AllocationReturn,
    Lot,
    LotKind,
    LotRestriction,
    Offset,
    Take,
)
from dongne.domain.sale_queue import QueueTicket


class HoldingStore(Protocol):
    """The holdings part of ``uow.records``: lots, purchases, payments, gifts, refunds."""

    def add_gift(self, **values: Any) -> int: ...

    def add_lot(
        self,
        *,
        region_id: int,
        wallet_id: int,
        kind: LotKind,
        face_won: int,
        paid_won: int,
        acquired_at: datetime,
        expires_at: datetime,
        transaction_id: int,
        restriction: LotRestriction | None = None,
        funder_account_id: int | None = None,
    ) -> int: ...

    def add_offsets(
        self, region_id: int, cashback_lot_id: int, cuts: Sequence[Take], transaction_id: int
    ) -> None: ...

    def add_payment(self, allocations: Sequence[Take], **values: Any) -> int: ...

    def add_purchase(self, **values: Any) -> int: ...

    def add_refund(self, **values: Any) -> int: ...

    def allocations(self, payment_id: int) -> list[Allocation]: ...

    def cashback_earned_won(self, wallet_id: int, month: str) -> int: ...

    def expired_lots(self, region_id: int, now: datetime, limit: int) -> list[tuple[int, Lot]]: ...

    def gifted_won(self, wallet_id: int, month: str, *, sent: bool) -> int: ...

    def lots_by_id(self, lot_ids: Sequence[int]) -> dict[int, Lot]: ...

    def mark_purchase_cancelled(
        self, purchase_id: int, at: datetime, transaction_id: int
    ) -> None: ...

    def move_lots(self, region_id: int, transaction_id: int, changes: Sequence[Take]) -> None: ...

    def outstanding_offsets(self, cashback_lot_ids: Sequence[int]) -> list[Offset]: ...

    def payment(self, payment_id: int) -> Any: ...

    def purchase(self, purchase_id: int) -> Any: ...

    def purchased_face_won(self, wallet_id: int, *, months: Sequence[str]) -> int: ...

    def record_payment_cancellation(
        self,
        *,
        payment_id: int,
        region_id: int,
        returns: Sequence[AllocationReturn],
        amount_won: int,
        clawed_won: int,
        at: datetime,
        transaction_id: int,
    ) -> int: ...

    def settle_offsets(self, settled: Sequence[Take]) -> None: ...

    def wallet_lots(self, wallet_id: int) -> list[Lot]: ...


class Ledger(Protocol):
    """``uow.ledger``: accounts, balances, postings and idempotency keys."""

    def account(
        self, region_id: int, account_type: AccountType, owner: object = None
    ) -> AccountRef: ...

    def account_by_id(self, account_id: int) -> AccountRef: ...

    def balance(self, account_id: int) -> int: ...

    def claim_idempotency_key(
        self, key: str, operation: str, request: dict[str, Any], at: datetime
    ) -> dict[str, Any] | None: ...

    def draw_budgets(self) -> None: ...

    def funders(
        self, region_id: int, month: str, per_funder: dict[int | None, int]
    ) -> list[tuple[AccountRef, int]]: ...

    def post(
        self,
        *,
        region_id: int,
        kind: TransactionKind,
        postings: Iterable[Posting],
        at: datetime,
        idempotency_key: str | None,
        accounts_by_id: dict[int, AccountRef],
        drawn_by_caller: dict[int, int] | None = None,
        budget_draw: tuple[AccountRef, int] | None = None,
    ) -> int: ...

    def store_response(self, key: str, response: dict[str, Any]) -> None: ...

    def stored_response(
        self, key: str, operation: str, request: dict[str, Any]
    ) -> dict[str, Any] | None: ...


class ChannelStore(Protocol):
    """Payment codes a citizen shows and payment requests a merchant sends."""

    def add_payment_code(
        self,
        *,
        region_id: int,
        wallet_id: int,
        code_hmac: str,
        created_at: datetime,
        expires_at: datetime,
    ) -> int: ...

    def add_payment_request(
        self,
        *,
        region_id: int,
        merchant_id: int,
        wallet_id: int,
        amount_won: int,
        memo: str,
        created_at: datetime,
        expires_at: datetime,
    ) -> int: ...

    def decide_payment_request(
        self, request_id: int, *, status: str, at: datetime, payment_id: int | None
    ) -> bool: ...

    def home_region(self, citizen_id: int) -> int | None: ...

    def payment_code(self, code_hmac: str, *, lock: bool = False) -> PaymentCodeRow | None: ...

    def payment_request(
        self, request_id: int, *, lock: bool = False
    ) -> PaymentRequestRow | None: ...

    def payment_requests(
        self,
        *,
        merchant_id: int | None = None,
        citizen_id: int | None = None,
        before_id: int | None,
        limit: int,
    ) -> list[PaymentRequestRow]: ...

    def region_code(self, region_id: int) -> tuple[str, str]: ...

    def use_payment_code(self, code_id: int, *, at: datetime, payment_id: int) -> bool: ...

    def wallet_by_phone(self, phone: str, region_id: int) -> int | None: ...

    def wallets_of_citizen(self, citizen_id: int) -> dict[int, int]: ...


class PaymentIntentStore(Protocol):
    """Partners' payment intents, their refunds and the webhook events about them."""

    def add_event(self, **values: Any) -> None: ...

    def add_intent(self, **values: Any) -> int: ...

    def events_due(
        self, now: datetime, *, attempts_max: int, limit: int
    ) -> list[WebhookEventRow]: ...

    def events_of_partner(
        self, partner_id: int, *, dead_after_attempts: int | None = None
    ) -> list[WebhookEventRow]: ...

    def intent(self, intent_id: int, *, lock: bool = False) -> PaymentIntentRow: ...

    def intents_of_partner(
        self, partner_id: int, *, limit: int, before_id: int | None
    ) -> list[PaymentIntentRow]: ...

    def refunds(self, intent_id: int) -> list[RefundRow]: ...

    def update_event(self, event_row_id: int, **values: Any) -> None: ...

    def update_intent(self, intent_id: int, **values: Any) -> None: ...

    def wallet_of_citizen(self, citizen_id: int, region_id: int) -> int | None: ...


class DynamicQrStore(Protocol):
    """One-payment QR codes a merchant shows."""

    def add(
        self,
        *,
        region_id: int,
        merchant_id: int,
        amount_won: int,
        reference: str,
        created_at: datetime,
        expires_at: datetime,
    ) -> int: ...

    def by_id(self, dynamic_qr_id: int) -> DynamicQrRow | None: ...

    def by_reference(self, reference: str, *, lock: bool = False) -> DynamicQrRow | None: ...

    def mark_paid(self, dynamic_qr_id: int, *, at: datetime, payment_id: int) -> bool: ...


class SaleQueueStore(Protocol):
    """The sale queue's tickets and each region's counter row (its admission bucket)."""

    def lock_counter(
        self, region_id: int, *, opened: datetime, next_slot_at: datetime
    ) -> tuple[datetime, datetime]: ...

    def reset_counter(
        self, region_id: int, *, opened: datetime, next_slot_at: datetime
    ) -> None: ...

    def count_admissions(
        self, region_id: int, *, admitted: int, next_slot_at: datetime
    ) -> None: ...

    def ticket_of_wallet(self, region_id: int, wallet_id: int) -> QueueTicket | None: ...

    def ticket(self, ticket_id: int) -> QueueTicket: ...

    def add_ticket(self, region_id: int, wallet_id: int, at: datetime) -> int: ...

    def refresh_ticket(self, ticket_id: int, at: datetime, *, rejoin: bool) -> None: ...

    def admit_waiting(
        self, region_id: int, *, opened: datetime, cutoff: datetime, limit: int, at: datetime
    ) -> int: ...

    def waiting_ahead(
        self, region_id: int, ticket: QueueTicket, *, opened: datetime, cutoff: datetime
    ) -> int: ...

    def spend_admission(self, wallet_id: int, at: datetime) -> bool: ...
