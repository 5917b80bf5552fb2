"""What the fake stores hold: one plain object per table, all of it copied and put back as a
unit, which is how ``FakeUnitOfWork`` discards what a transaction did unless it committed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from dongne.adapters.db.access_records import UserRow
from dongne.adapters.db.allowance_records import Upload
from dongne.adapters.db.holding_rows import PaymentRecord, PurchaseRecord
from dongne.adapters.db.registry_records import Region
from dongne.domain.allowances import AllowanceProgram, PreviewRow
from dongne.domain.ledger import AccountType
from dongne.domain.lots import Allocation, Lot
from dongne.domain.merchants import Merchant
from dongne.domain.program import VoucherProgram


class FakeConstraintViolated(Exception):
    """What the database's CHECK and UNIQUE constraints would refuse (an ``IntegrityError``
    there): a lot emptied below zero or filled above its face, a second wallet in a region."""


@dataclass(frozen=True)
class AccountRow:
    id: int
    region_id: int
    type: AccountType
    key: str


@dataclass(frozen=True)
class TransactionRow:
    id: int
    region_id: int
    kind: str
    created_at: datetime
    idempotency_key: str | None


@dataclass(frozen=True)
class EntryRow:
    transaction_id: int
    account_id: int
    amount_won: int


@dataclass
class IdempotencyKeyRow:
    key: str
    operation: str
    request_digest: str
    response: dict[str, object] | None = None
    region_id: int | None = None


@dataclass(frozen=True)
class CitizenRow:
    id: int
    name: str
    phone: str
    region_id: int | None


@dataclass(frozen=True)
class WalletRow:
    id: int
    citizen_id: int
    region_id: int
    account_id: int


@dataclass(frozen=True)
class MerchantRow:
    merchant: Merchant
    account_id: int
    status_changed_at: datetime


@dataclass(frozen=True)
class LotRow:
    lot: Lot
    wallet_id: int
    region_id: int
    source_transaction_id: int


@dataclass(frozen=True)
class MovementRow:
    region_id: int
    transaction_id: int
    lot_id: int
    amount_won: int


@dataclass(frozen=True)
class PaymentCancellationRow:
    id: int
    region_id: int
    payment_id: int
    amount_won: int
    cancelled_at: datetime
    transaction_id: int


@dataclass(frozen=True)
class OffsetRow:
    id: int
    region_id: int
    cashback_lot_id: int
    lot_id: int
    amount_won: int
    settled_won: int
    transaction_id: int


@dataclass(frozen=True)
class GiftRow:
    id: int
    region_id: int
    sender_wallet_id: int
    receiver_wallet_id: int
    amount_won: int
    month: str
    sent_at: datetime
    transaction_id: int


@dataclass(frozen=True)
class RefundRow:
    id: int
    region_id: int
    wallet_id: int
    value_won: int
    refund_won: int
    refunded_at: datetime
    transaction_id: int


@dataclass(frozen=True)
class UserRecord:
    """A user row with the identity HMAC the real table keeps beside it (``UserRow`` leaves it
    out): what matches a person on an allowance list to their wallet."""

    user: UserRow
    identity_hmac: str | None


@dataclass(frozen=True)
class GrantRow:
    """A row of ``allowance_grants``: one per program and person (UNIQUE)."""

    id: int
    region_id: int
    program_id: int
    identity_hmac: str
    upload_id: int
    row_number: int
    amount_won: int
    status: str
    wallet_id: int | None
    lot_id: int | None
    transaction_id: int
    granted_at: datetime
    settled_transaction_id: int | None
    settled_at: datetime | None


@dataclass
class FakeState:
    """Every table the fake stores keep, keyed by id."""

    last_ids: dict[str, int] = field(default_factory=dict)
    # the ledger
    accounts: dict[int, AccountRow] = field(default_factory=dict)
    account_ids: dict[tuple[int, str], int] = field(default_factory=dict)
    balances: dict[int, int] = field(default_factory=dict)
    transactions: dict[int, TransactionRow] = field(default_factory=dict)
    entries: list[EntryRow] = field(default_factory=list)
    idempotency_keys: dict[str, IdempotencyKeyRow] = field(default_factory=dict)
    # the records
    regions: dict[int, Region] = field(default_factory=dict)
    programs: dict[int, VoucherProgram] = field(default_factory=dict)
    """By region id."""
    citizens: dict[int, CitizenRow] = field(default_factory=dict)
    wallets: dict[int, WalletRow] = field(default_factory=dict)
    merchants: dict[int, MerchantRow] = field(default_factory=dict)
    lots: dict[int, LotRow] = field(default_factory=dict)
    lot_movements: list[MovementRow] = field(default_factory=list)
    purchases: dict[int, PurchaseRecord] = field(default_factory=dict)
    payments: dict[int, PaymentRecord] = field(default_factory=dict)
    allocations: dict[int, list[Allocation]] = field(default_factory=dict)
    """By payment id, in the order the payment took them."""
    payment_cancellations: dict[int, PaymentCancellationRow] = field(default_factory=dict)
    offsets: dict[int, OffsetRow] = field(default_factory=dict)
    gifts: dict[int, GiftRow] = field(default_factory=dict)
    refunds: dict[int, RefundRow] = field(default_factory=dict)
    # users (only what sign-up writes and allowances read)
    users: dict[int, UserRecord] = field(default_factory=dict)
    # allowances
    allowance_programs: dict[int, AllowanceProgram] = field(default_factory=dict)
    uploads: dict[int, Upload] = field(default_factory=dict)
    recipient_rows: dict[int, list[PreviewRow]] = field(default_factory=dict)
    """By upload id, in row order."""
    grants: dict[int, GrantRow] = field(default_factory=dict)

    def next_id(self, table: str) -> int:
        self.last_ids[table] = self.last_ids.get(table, 0) + 1
        return self.last_ids[table]
