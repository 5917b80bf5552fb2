"""Stores of the city's programs and back office: allowances, walking rewards, merchant
applications, fraud alerts, settlement, cash receipts and login throttling."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol

from dongne.adapters.db.allowance_batches import AllowanceGrants, AllowanceLots
from dongne.adapters.db.allowance_records import PendingGrant, Upload, WalletRef
from dongne.adapters.db.cash_receipt_records import (
    CancellationWithoutReceipt,
    CashReceiptRow,
    ExportedCashReceipt,
    NewCashReceipt,
    PaymentWithoutReceipt,
)
from dongne.adapters.db.disbursement_records import LAST_ROW, PayableRow
from dongne.adapters.db.fraud_records import AlertRow, CheckedPayment, PaymentTime
from dongne.adapters.db.grant_chunks import GrantChunk, GrantedChunk, GrantTerms
from dongne.adapters.db.lot_expiry import LAST_LOT_ID, ExpiredChunk
from dongne.adapters.db.merchant_application_records import ApplicationRow
from dongne.adapters.db.settlement_records import (
    CounterLine,
    DayTotals,
    MerchantSettlementDetails,
    RunRow,
)
from dongne.adapters.db.walking_records import StepReportRow
from dongne.domain.allowances import AllowanceProgram, AllowanceTerms, Preview
from dongne.domain.fraud import AlertStatus, Hit
from dongne.domain.ledger import Posting, TransactionKind
from dongne.domain.login_throttle import FailureCount
from dongne.domain.merchant_applications import ApplicationStatus, MerchantApplicationForm
from dongne.domain.merchants import MerchantStatus
from dongne.domain.walking import WalkingProgram


class AllowanceStore(Protocol):
    """Allowance programs, recipient uploads, grants, and the batches that pay them."""

    def account_flows(self, account_id: int) -> dict[str, tuple[int, int]]: ...

    def add_grants(self, batch: AllowanceGrants) -> None: ...

    def add_lots(self, batch: AllowanceLots) -> list[int]: ...

    def add_program(self, region_id: int, terms: AllowanceTerms, at: datetime) -> int: ...

    def lock_grant_chunk(
        self, terms: GrantTerms, *, after_row: int, through_row: int, limit: int
    ) -> GrantChunk: ...

    def grant_chunk(
        self,
        terms: GrantTerms,
        *,
        chunk: GrantChunk,
        after_row: int,
        now: datetime,
        key: str | None,
    ) -> GrantedChunk: ...

    def add_upload(
        self,
        region_id: int,
        program_id: int,
        filename: str,
        preview: Preview,
        at: datetime,
        *,
        wallets: Mapping[str, int] | None = None,
    ) -> int: ...

    def advance(
        self,
        upload_id: int,
        *,
        from_row: int,
        next_row: int,
        paid: int,
        pending: int,
        skipped: int,
        won: int,
    ) -> bool: ...

    def await_chunk(self, upload_id: int, chunk: int) -> None: ...

    def await_grants_written(self, region_id: int) -> None: ...

    def close_pending(self, program_id: int, transaction_id: int, at: datetime) -> int: ...

    def expired_from_lots_won(self, funder_account_id: int) -> int: ...

    def expire_lots(
        self,
        *,
        region_id: int,
        funder_account_id: int,
        now: datetime,
        after_lot_id: int,
        through_lot_id: int = LAST_LOT_ID,
        limit: int,
    ) -> ExpiredChunk: ...

    def expiring_chunk_ends(
        self, funder_account_id: int, now: datetime, chunk_size: int
    ) -> list[int]: ...

    def grant_totals(self, program_id: int) -> dict[str, tuple[int, int]]: ...

    def granted(self, program_id: int, identities: Sequence[str]) -> set[str]: ...

    def hold_chunk(self, upload_id: int, chunk: int) -> None: ...

    def identity_of_citizen(self, citizen_id: int) -> str | None: ...

    def mark_finished(self, upload_id: int, at: datetime) -> None: ...

    def mark_started(self, upload_id: int, at: datetime) -> None: ...

    def move_balances(
        self, postings: Iterable[Posting], debit_checked: frozenset[int] | set[int]
    ) -> None: ...

    def payable_chunk_ends(self, upload: Upload, chunk_size: int) -> list[int]: ...

    def payable_rows(
        self, upload: Upload, after_row: int, limit: int, through_row: int = LAST_ROW
    ) -> list[PayableRow]: ...

    def pending_grants(self, region_id: int, identity_hmac: str) -> list[PendingGrant]: ...

    def preview_matches(
        self, region_id: int, program_id: int, identities: Collection[str]
    ) -> tuple[dict[str, int], set[str]]: ...

    def post_batches(
        self,
        *,
        region_id: int,
        kind: TransactionKind,
        groups: Sequence[Iterable[Posting]],
        at: datetime,
        debit_checked: frozenset[int] | set[int],
        idempotency_key: str | None = None,
        settle_later: frozenset[int] = frozenset(),
    ) -> list[int]: ...

    def program(
        self, program_id: int, *, lock: bool = False, shared: bool = False
    ) -> AllowanceProgram: ...

    def programs(self, region_id: int) -> list[AllowanceProgram]: ...

    def rows(
        self, upload_id: int, *, status: str | None, after_row: int, limit: int
    ) -> list[Any]: ...

    def set_program_accounts(self, program_id: int, budget: int, pending: int) -> None: ...

    def settle_grant(
        self,
        grant_id: int,
        *,
        status: str,
        transaction_id: int,
        at: datetime,
        wallet_id: int | None = None,
        lot_id: int | None = None,
    ) -> None: ...

    def spent_by_category(self, funder_account_id: int) -> dict[str, int]: ...

    def still_to_pay(self, upload: Upload) -> tuple[int, int]: ...

    def stranded_grant_holders(self, limit: int) -> list[tuple[int, int]]: ...

    def unclaimed_won(self, program_id: int) -> int: ...

    def upload(self, upload_id: int, *, lock: bool = False) -> Upload: ...

    def uploads(self, program_id: int, limit: int) -> list[Upload]: ...

    def wallets_of(self, region_id: int, identities: Sequence[str]) -> dict[str, WalletRef]: ...

    def writing_grants(self, region_id: int) -> None: ...


class WalkingStore(Protocol):
    """The walking program, step reports and the points granted for them."""

    def add_grant(
        self,
        *,
        region_id: int,
        step_report_id: int,
        wallet_id: int,
        steps: int,
        points_won: int,
        lot_id: int,
        transaction_id: int,
        at: datetime,
    ) -> int: ...

    def add_step_report(
        self,
        *,
        region_id: int,
        wallet_id: int,
        day: date,
        partner_id: int | None,
        at: datetime,
    ) -> StepReportRow: ...

    def granted_won(
        self, wallet_id: int, *, month: str | None = None, year: int | None = None
    ) -> int: ...

    def program(self, region_id: int) -> WalkingProgram: ...

    def save_program(self, region_id: int, program: WalkingProgram, at: datetime) -> None: ...

    def step_report(self, wallet_id: int, day: date) -> StepReportRow | None: ...

    def step_reports_of(self, wallet_id: int, limit: int = 100) -> list[StepReportRow]:
        """The wallet's step reports, newest day first."""
        ...

    def update_step_report(
        self,
        report_id: int,
        *,
        steps: int,
        granted_won: int,
        status: str,
        partner_id: int | None,
        at: datetime,
    ) -> None: ...

    def wallet_of_phone(self, phone: str, region_id: int) -> int | None: ...


class MerchantApplicationStore(Protocol):
    """Merchants' applications and the decisions on them."""

    def add_application(
        self,
        region_id: int,
        form: MerchantApplicationForm,
        *,
        owner_login: str | None,
        owner_password_hash: str | None,
        at: datetime,
    ) -> int: ...

    def application(self, application_id: int, *, lock: bool = False) -> ApplicationRow: ...

    def applications(
        self, region_id: int, *, status: ApplicationStatus | None, after_id: int | None, fetch: int
    ) -> list[ApplicationRow]: ...

    def change_merchant_status(
        self, merchant_id: int, before: MerchantStatus, after: MerchantStatus, at: datetime
    ) -> bool: ...

    def decide(
        self,
        application_id: int,
        status: ApplicationStatus,
        *,
        user_id: int | None,
        at: datetime,
        merchant_id: int | None = None,
        rejection_reason: str | None = None,
    ) -> None: ...

    def has_pending(self, region_id: int, business_number: str) -> bool: ...

    def set_merchant_details(self, merchant_id: int, form: MerchantApplicationForm) -> None: ...


class FraudStore(Protocol):
    """Fraud alerts, the scan's cursor, and the payment facts the rules read."""

    def add_alert(
        self, hit: Hit, *, region_id: int, payment_id: int | None, at: datetime
    ) -> int | None: ...

    def alert(self, alert_id: int, *, lock: bool = False) -> AlertRow: ...

    def alerts(
        self, region_id: int, status: AlertStatus | None, after_id: int, limit: int
    ) -> list[AlertRow]: ...

    def checked_payments(self, payment_ids: Collection[int]) -> dict[int, CheckedPayment]: ...

    def last_purchases_at(
        self, wallet_ids: Collection[int], at: datetime
    ) -> dict[int, datetime]: ...

    def move_scan_cursor(self, region_id: int, last_payment_id: int, at: datetime) -> None: ...

    def open_alert_count(self, merchant_id: int) -> int: ...

    def payment_ids_after(
        self, region_id: int, after_id: int, paid_before: datetime, limit: int
    ) -> list[int]: ...

    def resolve(
        self,
        alert_id: int,
        status: AlertStatus,
        *,
        user_id: int | None,
        note: str | None,
        at: datetime,
    ) -> bool: ...

    def scan_cursor(self, region_id: int, at: datetime) -> int: ...

    def set_settlement_held(self, merchant_id: int, held: bool) -> None: ...

    def payment_times(
        self, wallet_ids: Collection[int], merchant_ids: Collection[int], since: datetime
    ) -> list[PaymentTime]: ...

    def takings_by_merchant(
        self, merchant_ids: Collection[int], first_day: date, last_day: date
    ) -> dict[int, int]: ...


class SettlementStore(Protocol):
    """Settlement runs, their lines, and the payable shards they debit."""

    def add_lines(self, lines: list[dict[str, Any]]) -> None: ...

    def add_run(self, **values: Any) -> int: ...

    def carried_forward(self, run_id: int) -> dict[int, int]: ...

    def day_totals(
        self, region_id: int, start: datetime | None, end: datetime | None
    ) -> dict[int, DayTotals]: ...

    def debit_shards(self, debits: Sequence[tuple[int, int, int]]) -> None: ...

    def is_settled(self, region_id: int, business_day: date) -> bool: ...

    def last_run(self, region_id: int) -> RunRow | None: ...

    def lines(self, run_id: int) -> list[Any]: ...

    def lock_region(self, region_id: int) -> None: ...

    def merchant_details(
        self, merchant_ids: Iterable[int]
    ) -> dict[int, MerchantSettlementDetails]: ...

    def merchant_lines(self, merchant_id: int, limit: int) -> list[Any]: ...

    def counter_lines(
        self, merchant_id: int, start: datetime | None, end: datetime
    ) -> list[CounterLine]: ...

    def movements_by_account_type(self, run_id: int) -> dict[str, int]: ...

    def payable_shards(self, account_ids: Iterable[int]) -> dict[int, list[tuple[int, int]]]: ...

    def region_payable_balances(self, region_id: int) -> dict[int, int]: ...

    def run(self, region_id: int, business_day: date) -> RunRow: ...

    def runs(self, region_id: int, limit: int) -> list[RunRow]: ...

    def set_transaction_count(self, run_id: int, count: int) -> None: ...


class CashReceiptStore(Protocol):
    """Cash receipts (현금영수증) issued for payments and cancellations."""

    def add_receipts(self, receipts: Sequence[NewCashReceipt]) -> None: ...

    def allocation_kinds(self, payment_id: int) -> list[tuple[int, str]]: ...

    def cancellations_without_receipt(self, limit: int) -> list[CancellationWithoutReceipt]: ...

    def cancelled_amounts(self, payment_id: int) -> list[tuple[int, int]]: ...

    def payments_without_receipt(self, limit: int) -> list[PaymentWithoutReceipt]: ...

    def receipts_issued_between(
        self, region_id: int, start: datetime, end: datetime
    ) -> list[ExportedCashReceipt]: ...

    def receipts_of_citizen(
        self, citizen_id: int, *, after_id: int | None, fetch: int
    ) -> list[CashReceiptRow]: ...


class LoginThrottleStore(Protocol):
    """Counts of wrong passwords per login."""

    def clear(self, login: str) -> None: ...

    def forget_windows_before(self, cutoff: datetime, *, limit: int = 100) -> None: ...

    def locked_count(self, login: str, now: datetime) -> FailureCount | None: ...

    def save(self, login: str, count: FailureCount) -> None: ...
