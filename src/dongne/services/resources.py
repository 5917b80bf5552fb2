"""Read models behind the API's resources, each scoped to the caller.

Scoping is decided here, once, not in the routes: a citizen sees only their own wallets, a
merchant only its own payments, an official only their region's data. Something outside the
caller's scope is reported as not found, so ids of other people's things reveal nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dongne.adapters.db.cash_receipt_records import CashReceiptRow, ExportedCashReceipt
from dongne.adapters.db.holding_rows import PaymentRecord, PurchaseRecord
from dongne.adapters.db.listing_records import (
    CitizenWalletRow,
    MerchantRow,
    RegionRow,
    WalletEntryRow,
)
from dongne.adapters.db.registry_records import Wallet
from dongne.domain.access import OfficialRole, Principal, UserKind
from dongne.domain.errors import (
    MerchantNotFound,
    PaymentNotFound,
    PurchaseNotFound,
    RecipientNotFound,
    WalletNotFound,
)
from dongne.domain.people import normalize_phone
from dongne.services.log import NotYetInLog, prove_transaction
from dongne.services.unit_of_work import UnitOfWork
from dongne.tlog.cosignature import CosignatureVerifier


def is_official_of(caller: Principal, region_id: int) -> bool:
    return caller.is_official_of(region_id)


def visible_wallet(uow: UnitOfWork, caller: Principal, wallet_id: int, *, acting: bool) -> Wallet:
    """The wallet if the caller may see it (its citizen; its region's officials, only to read)
    or, with ``acting``, act on it (its citizen only). Inside an open unit of work."""
    wallet = uow.records.wallet(wallet_id)
    owns = caller.kind is UserKind.CITIZEN and caller.citizen_id == wallet.citizen_id
    if owns or (not acting and is_official_of(caller, wallet.region_id)):
        return wallet
    raise WalletNotFound(f"no wallet {wallet_id}", wallet_id=wallet_id)


def wallet_to_act_on(uow: UnitOfWork, caller: Principal, wallet_id: int) -> Wallet:
    """The caller's own wallet, for a citizen about to move money out of it."""
    caller.citizen()
    with uow:
        return visible_wallet(uow, caller, wallet_id, acting=True)


def merchant_region(uow: UnitOfWork, caller: Principal, merchant_id: int) -> int:
    """The merchant's region, if the caller is an official there (or the merchant itself)."""
    with uow:
        merchant = uow.records.merchant(merchant_id).merchant
    if caller.kind is UserKind.MERCHANT and caller.merchant_id == merchant_id:
        return merchant.region_id
    if is_official_of(caller, merchant.region_id):
        return merchant.region_id
    raise MerchantNotFound(f"no merchant {merchant_id}", merchant_id=merchant_id)


def merchant_region_for_officials(
    uow: UnitOfWork, caller: Principal, merchant_id: int, *, at_least: OfficialRole
) -> int:
    """The merchant's region, for its region's officials with ``at_least`` that role; to
    anyone else (the merchant included) a merchant that does not exist."""
    with uow:
        merchant = uow.records.merchant(merchant_id).merchant
    missing = MerchantNotFound(f"no merchant {merchant_id}", merchant_id=merchant_id)
    caller.official(merchant.region_id, at_least=at_least, missing=missing)
    return merchant.region_id


def purchase_of_caller(uow: UnitOfWork, caller: Principal, purchase_id: int) -> PurchaseRecord:
    """The purchase, if its wallet is the caller's or in the official's region."""
    with uow:
        purchase = uow.records.purchase(purchase_id)
        try:
            visible_wallet(uow, caller, purchase.wallet_id, acting=False)
        except WalletNotFound:
            raise PurchaseNotFound(f"no purchase {purchase_id}", purchase_id=purchase_id) from None
        return purchase


def payment_of_caller(uow: UnitOfWork, caller: Principal, payment_id: int) -> PaymentRecord:
    """The payment, if the caller paid it, took it, or is an official of its region."""
    with uow:
        payment = uow.records.payment(payment_id)
        took_it = caller.kind is UserKind.MERCHANT and caller.merchant_id == payment.merchant_id
        if took_it:
            return payment
        try:
            visible_wallet(uow, caller, payment.wallet_id, acting=False)
        except WalletNotFound:
            raise PaymentNotFound(f"no payment {payment_id}", payment_id=payment_id) from None
        return payment


@dataclass(frozen=True)
class LogStanding:
    """Where a transaction stands in the verifiable log."""

    log_index: int | None
    proof: dict[str, Any] | None

    @property
    def status(self) -> str:
        return "in_log" if self.proof is not None else "pending_log"


def log_standing(
    uow: UnitOfWork,
    transaction_id: int,
    *,
    witnesses: Sequence[CosignatureVerifier],
    quorum: int,
) -> LogStanding:
    """The leaf index once sequenced, and the inclusion proof once a checkpoint (witnessed by
    ``quorum`` of ``witnesses``) covers it."""
    with uow:
        leaf = uow.log.leaf_of_transaction(transaction_id)
    if leaf is None:
        return LogStanding(None, None)
    try:
        receipt = prove_transaction(uow, transaction_id, witnesses=witnesses, quorum=quorum)
    except NotYetInLog:
        return LogStanding(leaf.leaf_index, None)
    return LogStanding(leaf.leaf_index, receipt.as_json())


def regions_page(uow: UnitOfWork, *, after_id: int | None, fetch: int) -> list[RegionRow]:
    with uow:
        return uow.listings.regions(after_id=after_id, fetch=fetch)


def merchant_row(uow: UnitOfWork, merchant_id: int) -> MerchantRow:
    with uow:
        row = uow.listings.merchant(merchant_id)
    if row is None:
        raise MerchantNotFound(f"no merchant {merchant_id}", merchant_id=merchant_id)
    return row


def merchants_page(
    uow: UnitOfWork, region_id: int, *, after_id: int | None, fetch: int
) -> list[MerchantRow]:
    with uow:
        uow.records.region(region_id)
        return uow.listings.merchants_of_region(region_id, after_id=after_id, fetch=fetch)


def wallets_page(
    uow: UnitOfWork, caller: Principal, *, after_id: int | None, fetch: int
) -> list[CitizenWalletRow]:
    citizen_id = caller.citizen()
    with uow:
        return uow.listings.wallets_of_citizen(citizen_id, after_id=after_id, fetch=fetch)


def history_page(
    uow: UnitOfWork, caller: Principal, wallet_id: int, *, before_id: int | None, fetch: int
) -> list[WalletEntryRow]:
    with uow:
        wallet = visible_wallet(uow, caller, wallet_id, acting=False)
        return uow.listings.wallet_entries(wallet.account_id, before_id=before_id, fetch=fetch)


def gift_recipient_wallet(uow: UnitOfWork, phone: str, region_id: int) -> int:
    """The wallet in ``region_id`` of the citizen with this phone number."""
    normalized = normalize_phone(phone, field="to_phone")
    with uow:
        wallet_id = uow.listings.wallet_of_phone(normalized, region_id)
    if wallet_id is None:
        raise RecipientNotFound(
            "no citizen with this phone number has a wallet in this region", field="to_phone"
        )
    return wallet_id


def cash_receipts_page(
    uow: UnitOfWork, caller: Principal, *, after_id: int | None, fetch: int
) -> list[CashReceiptRow]:
    citizen_id = caller.citizen()
    with uow:
        return uow.cash_receipts.receipts_of_citizen(citizen_id, after_id=after_id, fetch=fetch)


def cash_receipts_issued_between(
    uow: UnitOfWork, region_id: int, start: datetime, end: datetime
) -> list[ExportedCashReceipt]:
    with uow:
        uow.records.region(region_id)
        return uow.cash_receipts.receipts_issued_between(region_id, start, end)


def partner_webhook_secret(uow: UnitOfWork, partner_id: int) -> str:
    with uow:
        partner = uow.access.partner(partner_id)
        assert partner is not None  # noqa: S101 - just created by the caller
        return partner.webhook_secret
