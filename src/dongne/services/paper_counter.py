"""Paper vouchers at the counter: a merchant redeems one, a citizen exchanges one into a wallet.

A voucher presented (scanned or typed) is checked in a fixed order, and the first check that
fails is the answer, with its own code: 1 the check digit, 2 the security code (the MAC),
3 that it was sold (a destroyed one says so), 4 its region, 5 its validity, 6 the merchant's
eligibility, 7 that it was never redeemed or exchanged. Steps 1 and 2 need no database.

The voucher's row is read under its lock (PostgreSQL; SQLite's writer holds the database), so
two counters with the same voucher run one after the other and the second reads it spent;
the state moves by a conditional UPDATE from ``sold`` and the redemption is unique per voucher
too. Redeemed value credits the merchant's payable as a payment does, so the daily
settlement pays it with the merchant's other takings (``paper_redemptions`` is read with the
payments). An exchange turns the paper into a purchased lot of the wallet, one way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dongne.adapters.db.ledger_store import AccountRef
from dongne.adapters.db.paper_records import PaperVoucherRow
from dongne.adapters.db.registry_records import Wallet
from dongne.adapters.secrets import Secrets
from dongne.domain.calendar import require_aware, seoul_day
from dongne.domain.errors import InvalidInput, MerchantNotEligible, WalletNotFound
from dongne.domain.ledger import AccountType, Posting, TransactionKind
from dongne.domain.lots import LotKind, holding_won
from dongne.domain.paper import (
    PaperSecurityCodeWrong,
    PaperVoucherAlreadyRedeemed,
    PaperVoucherState,
    Serial,
    check_region,
    check_sold,
    check_unspent,
    check_valid,
    paid_share_won,
    parse_voucher_code,
    validity_ends_at,
)
from dongne.services.idempotency import Once, run_in_transaction
from dongne.services.purchases import wallet_account
from dongne.services.unit_of_work import UnitOfWork

ENTRIES = ("scan", "typed")


@dataclass(frozen=True)
class RedemptionResult:
    redemption_id: int
    serial: str
    merchant_id: int
    amount_won: int
    transaction_id: int
    redeemed_at: str


@dataclass(frozen=True)
class ExchangeResult:
    exchange_id: int
    serial: str
    wallet_id: int
    lot_id: int
    amount_won: int
    paid_won: int
    transaction_id: int
    expires_at: str


def authentic_serial(secrets: Secrets, code: str) -> Serial:
    """Steps 1 and 2: the serial's check digit, then its security code."""
    serial, security_code = parse_voucher_code(code)
    if not secrets.paper_security_code_matches(serial.text, security_code):
        raise PaperSecurityCodeWrong(
            f"the security code is not voucher {serial.display}'s: it is forged or mistyped",
            serial=serial.text,
            step=2,
        )
    return serial


def _sold_voucher(uow: UnitOfWork, serial: Serial) -> PaperVoucherRow:
    """Step 3, on the voucher's locked row."""
    voucher = uow.paper.voucher(serial.text, lock=True)
    check_sold(None if voucher is None else voucher.state, serial)
    assert voucher is not None  # noqa: S101 - check_sold refuses a missing voucher
    return voucher


def _unspent(uow: UnitOfWork, voucher: PaperVoucherRow, serial: Serial) -> None:
    """Step 7."""
    if voucher.state is not PaperVoucherState.SOLD:
        spent_at = uow.paper.spent_at(voucher.id)
        check_unspent(voucher.state, serial, None if spent_at is None else spent_at.isoformat())


def _spend(uow: UnitOfWork, voucher: PaperVoucherRow, to: PaperVoucherState, at: datetime) -> None:
    if not uow.paper.spend(voucher.id, to, at):
        # Not reached while the row is locked; kept so that no path ever spends twice.
        raise PaperVoucherAlreadyRedeemed("the voucher was spent while it was read", step=7)


def _exchange_wallet(
    uow: UnitOfWork, citizen_id: int | None, wallet_id: int | None, region_id: int
) -> Wallet:
    """The wallet to exchange into, locked: the citizen's ``wallet_id``, or their wallet of
    the voucher's region."""
    if citizen_id is None:
        if wallet_id is None:
            raise InvalidInput("name the wallet to exchange into", field="wallet_id")
        return uow.records.wallet(wallet_id, lock=True)
    wallet = uow.records.citizen_wallet(
        citizen_id, wallet_id=wallet_id, region_id=region_id, lock=True
    )
    if wallet is None:
        raise WalletNotFound("no wallet of yours to exchange this voucher into")
    return wallet


def _into_wallet(
    uow: UnitOfWork, voucher: PaperVoucherRow, wallet: Wallet, now: datetime, key: str
) -> tuple[int, int, int, datetime]:
    """Post the float into the wallet and add its lot: the paid share of the voucher's sale,
    expiring when the paper would have. Returns the transaction, the lot, the paid share and
    the expiry."""
    amount = voucher.denomination_won
    assert voucher.sale_id is not None  # noqa: S101 - a sold voucher names its sale
    sale = uow.paper.sale(voucher.sale_id)
    paid = paid_share_won(amount, sale.face_won, sale.paid_won)
    float_ = uow.ledger.account(voucher.region_id, AccountType.PAPER_CIRCULATION)
    holder = wallet_account(wallet.account_id)
    transaction_id = uow.ledger.post(
        region_id=voucher.region_id,
        kind=TransactionKind.PAPER_EXCHANGE,
        postings=[Posting(holder.id, amount), Posting(float_.id, -amount)],
        at=now,
        idempotency_key=key,
        accounts_by_id={holder.id: holder, float_.id: float_},
    )
    expires_at = validity_ends_at(voucher.valid_until)
    lot_id = uow.records.add_lot(
        region_id=voucher.region_id,
        wallet_id=wallet.id,
        kind=LotKind.PURCHASED,
        face_won=amount,
        paid_won=paid,
        acquired_at=now,
        expires_at=expires_at,
        transaction_id=transaction_id,
    )
    return transaction_id, lot_id, paid, expires_at


def redeem(
    uow: UnitOfWork,
    secrets: Secrets,
    *,
    merchant_id: int,
    code: str,
    entry: str = "scan",
    idempotency_key: str,
    now: datetime,
) -> RedemptionResult:
    """A merchant takes a paper voucher at face value; refused with the first failing step's
    reason. A retry with the same key gets the first answer."""
    now = require_aware(now)
    if entry not in ENTRIES:
        raise InvalidInput("a voucher is entered by scan or typed", field="entry")
    serial = authentic_serial(secrets, code)

    def action() -> RedemptionResult:
        found = uow.records.merchant(merchant_id)
        merchant = found.merchant
        voucher = _sold_voucher(uow, serial)
        check_region(serial, merchant.region_id)
        check_valid(serial, voucher.valid_until, seoul_day(now))
        program = uow.records.program(voucher.region_id, at=now)
        try:
            merchant.check_accepts_vouchers_of(voucher.region_id, program.excluded_categories)
        except MerchantNotEligible as refusal:
            refusal.details["step"] = 6  # the counter names its step, as for the others
            raise
        if merchant.annual_revenue_won > program.revenue_cap_won:
            raise MerchantNotEligible(
                f"{merchant.name}'s revenue is above the cap for discounted vouchers",
                reason="revenue_cap",
                step=6,
            )
        _unspent(uow, voucher, serial)
        _spend(uow, voucher, PaperVoucherState.REDEEMED, now)
        amount = voucher.denomination_won
        float_ = uow.ledger.account(voucher.region_id, AccountType.PAPER_CIRCULATION)
        payable = AccountRef.of(found.payable_account_id, AccountType.MERCHANT_PAYABLE)
        transaction_id = uow.ledger.post(
            region_id=voucher.region_id,
            kind=TransactionKind.PAPER_REDEMPTION,
            postings=[Posting(payable.id, amount), Posting(float_.id, -amount)],
            at=now,
            idempotency_key=idempotency_key,
            accounts_by_id={payable.id: payable, float_.id: float_},
        )
        redemption_id = uow.paper.add_redemption(
            region_id=voucher.region_id,
            voucher_id=voucher.id,
            merchant_id=merchant_id,
            amount_won=amount,
            entry=entry,
            redeemed_at=now,
            transaction_id=transaction_id,
        )
        return RedemptionResult(
            redemption_id, serial.text, merchant_id, amount, transaction_id, now.isoformat()
        )

    return run_in_transaction(
        uow,
        action,
        once=Once(
            operation="paper_redemption",
            key=idempotency_key,
            request={"merchant_id": merchant_id, "serial": serial.text},
            now=now,
            result_type=RedemptionResult,
        ),
    )


def exchange(
    uow: UnitOfWork,
    secrets: Secrets,
    *,
    citizen_id: int | None,
    code: str,
    wallet_id: int | None = None,
    idempotency_key: str,
    now: datetime,
) -> ExchangeResult:
    """Turn a sold paper voucher into purchased value in the citizen's wallet of its region
    (one way, once): a lot of its face value, the paid share of its sale, expiring when the
    paper would have. The wallet's holding limit applies. Without ``citizen_id`` (the
    operator's command line) the wallet is named by ``wallet_id`` alone."""
    now = require_aware(now)
    serial = authentic_serial(secrets, code)

    def action() -> ExchangeResult:
        wallet = _exchange_wallet(uow, citizen_id, wallet_id, serial.region_id)
        voucher = _sold_voucher(uow, serial)
        check_region(serial, wallet.region_id)
        check_valid(serial, voucher.valid_until, seoul_day(now))
        _unspent(uow, voucher, serial)
        program = uow.records.program(voucher.region_id, at=now)
        amount = voucher.denomination_won
        program.check_holding(holding_won(uow.records.wallet_lots(wallet.id), now) + amount)
        _spend(uow, voucher, PaperVoucherState.EXCHANGED, now)
        transaction_id, lot_id, paid, expires_at = _into_wallet(
            uow, voucher, wallet, now, idempotency_key
        )
        exchange_id = uow.paper.add_exchange(
            region_id=voucher.region_id,
            voucher_id=voucher.id,
            wallet_id=wallet.id,
            lot_id=lot_id,
            amount_won=amount,
            exchanged_at=now,
            transaction_id=transaction_id,
        )
        return ExchangeResult(
            exchange_id,
            serial.text,
            wallet.id,
            lot_id,
            amount,
            paid,
            transaction_id,
            expires_at.isoformat(),
        )

    return run_in_transaction(
        uow,
        action,
        once=Once(
            operation="paper_exchange",
            key=idempotency_key,
            request={"citizen_id": citizen_id, "wallet_id": wallet_id, "serial": serial.text},
            now=now,
            result_type=ExchangeResult,
        ),
    )
