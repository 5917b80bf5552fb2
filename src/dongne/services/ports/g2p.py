"""What the G2P Connect services and the reports need from storage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from dongne.adapters.db.g2p_records import CallbackRow, DisbursementRow, MessageRow
from dongne.adapters.db.report_queries import (
    Activity,
    CardLine,
    CategoryLine,
    Flows,
    PaperCounts,
)


class G2pStore(Protocol):
    def add_message(self, **values: Any) -> int: ...

    def message_of_sender(self, partner_id: int, message_id: str) -> MessageRow | None: ...

    def message(self, message_row_id: int, *, lock: bool = False) -> MessageRow: ...

    def message_by_correlation(self, partner_id: int, correlation_id: str) -> MessageRow | None: ...

    def messages_to_process(self, limit: int) -> list[int]: ...

    def update_message(self, message_row_id: int, **values: Any) -> None: ...

    def add_disbursements(self, rows: Sequence[dict[str, Any]]) -> None: ...

    def update_disbursement(self, disbursement_id: int, **values: Any) -> None: ...

    def by_references(
        self, partner_id: int, references: Sequence[str]
    ) -> dict[str, DisbursementRow]: ...

    def of_message(self, message_row_id: int) -> list[DisbursementRow]: ...

    def of_transaction(self, partner_id: int, transaction_id: str) -> list[DisbursementRow]: ...

    def by_address(
        self, partner_id: int, *, payee_fa: str | None = None, payer_fa: str | None = None
    ) -> list[DisbursementRow]: ...

    def identity_by_phone(self, region_id: int, phone: str) -> tuple[bool, str | None]: ...

    def add_callback(self, **values: Any) -> None: ...

    def callbacks_due(
        self, now: datetime, *, attempts_max: int, limit: int
    ) -> list[CallbackRow]: ...

    def update_callback(self, callback_id: int, **values: Any) -> None: ...

    def callbacks_of_partner(self, partner_id: int) -> list[CallbackRow]: ...


class ReportReadModel(Protocol):
    """The ledger over a period, for the statutory and management reports."""

    def flows(self, region_id: int, start: datetime, end: datetime) -> Flows: ...

    def flows_by_account(
        self, region_id: int, account_type: str, start: datetime, end: datetime
    ) -> dict[tuple[str, str], int]: ...

    def balance_at(self, region_id: int, account_type: str, at: datetime) -> int: ...

    def payments_by_category(
        self, region_id: int, start: datetime, end: datetime
    ) -> list[CategoryLine]: ...

    def activity(self, region_id: int, start: datetime, end: datetime) -> Activity: ...

    def card_payments(self, region_id: int, start: datetime, end: datetime) -> CardLine: ...

    def paper_counts(self, region_id: int, start: datetime, end: datetime) -> PaperCounts: ...

    def purchase_counts(
        self, region_id: int, start: datetime, end: datetime
    ) -> tuple[int, int]: ...
