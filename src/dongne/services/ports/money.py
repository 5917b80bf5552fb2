"""Stores on the money path: holdings, the ledger, payment channels, intents, the sale queue."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from dongne.adapters.db.access_records import UserRow
from dongne.adapters.db.channel_records import PaymentCodeRow, PaymentRequestRow
from dongne.adapters.db.deferred_credits import DeferredCredits
from dongne.adapters.db.deferred_rows import DeferredRows
from dongne.adapters.db.dynamic_qr_records import DynamicQrRow
from dongne.adapters.db.holding_rows import PaymentRecord, PurchaseReads, PurchaseRecord
from dongne.adapters.db.ledger_store import AccountRef
from dongne.adapters.db.payment_intent_records import PaymentIntentRow, RefundRow, WebhookEventRow
from dongne.adapters.db.registry_records import MerchantWithPayable, Region, Wallet
from dongne.adapters.db.sale_queue_records import WalletLine
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
from dongne.domain.merchants import Merchant, MerchantStatus
from dongne.domain.places import Coordinates
from dongne.domain.program import VoucherProgram
from dongne.domain.program_timeline import ProgramTimeline
from dongne.domain.sale_queue import HeldAdmission, QueueTicket


class HoldingStore(Protocol):
    """The holdings part of ``uow.records``: lots, purchases, payments, gifts, refunds."""

    def wallet_lots(self, wallet_id: int) -> list[Lot]: ...

    def lots_by_id(self, lot_ids: Sequence[int]) -> dict[int, Lot]: ...

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
        may_wait: bool = False,
    ) -> int:
        """A new lot holding its face; its opening movement (in ``transaction_id``) too,
        except for an allowance lot, which opens at its face with no movement row.
        ``may_wait``: nothing reads it back before the commit, so a batch may keep it to then."""
        ...

    def move_lots(self, region_id: int, transaction_id: int, changes: Sequence[Take]) -> None: ...

    def expired_lots(self, region_id: int, now: datetime, limit: int) -> list[tuple[int, Lot]]: ...

    def purchased_face_won(self, wallet_id: int, *, months: Sequence[str]) -> int: ...

    def purchase_reads(
        self,
        wallet_id: int,
        *,
        region_id: int,
        month: str,
        at: datetime,
        admission: HeldAdmission | None,
    ) -> PurchaseReads:
        """Once the wallet is locked: its ``admission`` spent if live, its purchases of
        ``month`` and its lots (``wallet_lots``), in one statement where the database can."""
        ...

    def add_purchase(
        self,
        *,
        region_id: int,
        wallet_id: int,
        lot_id: int,
        face_won: int,
        paid_won: int,
        bonus_won: int,
        month: str,
        purchased_at: datetime,
        transaction_id: int,
        may_wait: bool = False,
    ) -> int: ...

    def purchase(self, purchase_id: int) -> PurchaseRecord: ...

    def mark_purchase_cancelled(
        self, purchase_id: int, at: datetime, transaction_id: int
    ) -> None: ...

    def add_payment(
        self,
        allocations: Sequence[Take],
        *,
        region_id: int,
        wallet_id: int,
        merchant_id: int,
        amount_won: int,
        cancelled_won: int,
        purchased_value_won: int,
        cashback_won: int,
        cashback_clawed_won: int,
        cashback_lot_id: int | None,
        month: str,
        paid_at: datetime,
        transaction_id: int,
        made_by_user_id: int | None = None,
        may_wait: bool = False,
    ) -> int: ...

    def payment(self, payment_id: int) -> PaymentRecord: ...

    def allocations(self, payment_id: int) -> list[Allocation]: ...

    def cashback_earned_won(self, wallet_id: int, month: str) -> int: ...

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
        made_by_user_id: int | None = None,
    ) -> int: ...

    def outstanding_offsets(self, cashback_lot_ids: Sequence[int]) -> list[Offset]: ...

    def add_offsets(
        self, region_id: int, cashback_lot_id: int, cuts: Sequence[Take], transaction_id: int
    ) -> None: ...

    def settle_offsets(self, settled: Sequence[Take]) -> None: ...

    def gifted_won(self, wallet_id: int, month: str, *, sent: bool) -> int: ...

    def add_gift(
        self,
        *,
        region_id: int,
        sender_wallet_id: int,
        receiver_wallet_id: int,
        amount_won: int,
        month: str,
        sent_at: datetime,
        transaction_id: int,
    ) -> int: ...

    def add_refund(
        self,
        *,
        region_id: int,
        wallet_id: int,
        value_won: int,
        refund_won: int,
        refunded_at: datetime,
        transaction_id: int,
    ) -> int: ...


class RegistryStore(HoldingStore, Protocol):
    """``uow.records``: regions, programs, citizens, wallets and merchants, besides the
    holdings."""

    deferred_rows: DeferredRows | None
    timelines_of_batch: dict[int, ProgramTimeline] | None

    def add_region(self, code: str, name: str, at: datetime) -> Region: ...

    def region(self, region_id: int) -> Region: ...

    def region_by_code(self, code: str) -> Region: ...

    def list_regions(self) -> list[Region]: ...

    def add_program(self, region_id: int, program: VoucherProgram, at: datetime) -> int: ...

    def program(self, region_id: int, *, at: datetime) -> VoucherProgram: ...

    def program_timeline(self, region_id: int) -> ProgramTimeline: ...

    def add_citizen(
        self, name: str, phone: str, home_region_id: int | None, at: datetime
    ) -> int: ...

    def citizen_exists(self, citizen_id: int) -> None: ...

    def add_wallet(self, citizen_id: int, region_id: int, account_id: int, at: datetime) -> int: ...

    def wallet(self, wallet_id: int, *, lock: bool = False) -> Wallet: ...

    def citizen_wallet(
        self, citizen_id: int, *, wallet_id: int | None, region_id: int, lock: bool = False
    ) -> Wallet | None: ...

    def add_merchant(self, merchant: Merchant, account_id: int, at: datetime) -> int: ...

    def merchant(self, merchant_id: int) -> MerchantWithPayable: ...

    def registrations(
        self, region_id: int, business_number: str
    ) -> list[tuple[MerchantStatus, datetime]]: ...

    def set_merchant_location(self, merchant_id: int, location: Coordinates | None) -> None: ...

    def set_merchant_status(
        self, merchant_id: int, status: MerchantStatus, at: datetime
    ) -> None: ...


class Ledger(Protocol):
    """``uow.ledger``: accounts, balances, postings and idempotency keys."""

    def account(
        self, region_id: int, account_type: AccountType, owner: object = None
    ) -> AccountRef: ...

    def account_by_id(self, account_id: int) -> AccountRef: ...

    def existing_account(
        self, region_id: int, account_type: AccountType, owner: object = None
    ) -> AccountRef | None: ...

    def balance(self, account_id: int) -> int: ...

    def budget_left(self, budget: AccountRef) -> int:
        """What a single-row budget holds less what this unit of work's postings declared to
        draw from it at the commit."""
        ...

    def claim_idempotency_key(
        self, key: str, operation: str, request: dict[str, Any], at: datetime
    ) -> dict[str, Any] | None: ...

    deferred_credits: DeferredCredits | None
    deferred_rows: DeferredRows | None
    responses_of_batch: dict[str, dict[str, Any]] | None

    def store_batch_responses(self) -> None: ...

    def savepoint_state(self) -> tuple[Any, ...]: ...

    def restore(self, state: tuple[Any, ...]) -> None: ...

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
        may_wait: bool = False,
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
        created_by_user_id: int | None = None,
    ) -> int: ...

    def by_id(self, dynamic_qr_id: int) -> DynamicQrRow | None: ...

    def by_reference(self, reference: str, *, lock: bool = False) -> DynamicQrRow | None: ...

    def mark_paid(self, dynamic_qr_id: int, *, at: datetime, payment_id: int) -> bool: ...


class SaleQueueStore(Protocol):
    """The sale queue's tickets and each region's counter row (its admission bucket)."""

    def wallet_line(self, wallet_id: int) -> WalletLine: ...

    def bearer_and_wallet_line(
        self, wallet_id: int, *, token_hash: str, now: datetime
    ) -> tuple[UserRow | None, WalletLine | None]: ...

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

    def join_line(
        self, region_id: int, wallet_id: int, at: datetime, *, admitted: bool = False
    ) -> int | None: ...

    def nobody_waiting(self, region_id: int, *, opened: datetime, cutoff: datetime) -> bool: ...

    def refresh_ticket(self, ticket_id: int, at: datetime, *, rejoin: bool) -> None: ...

    def admit_waiting(
        self, region_id: int, *, opened: datetime, cutoff: datetime, limit: int, at: datetime
    ) -> frozenset[int]: ...

    def waiting_ahead(
        self, region_id: int, ticket: QueueTicket, *, opened: datetime, cutoff: datetime
    ) -> int: ...

    def spend_admission(
        self, region_id: int, wallet_id: int, *, at: datetime, opened: datetime, lasts: timedelta
    ) -> bool: ...
