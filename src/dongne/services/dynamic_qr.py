"""Dynamic QR codes: a counter or kiosk shows one sale's amount, and one citizen pays it once.

The merchant (owner or staff) creates the code for an amount, under its Idempotency-Key, and
shows its EMVCo payload. A citizen pays it as a static QR is paid, through
``pay_merchant_within`` in one transaction with the bearer token, the PIN and the code's
``paid_at``, so the payment and the code's closing commit together or not at all. The amount
is the code's, read from its row: the payload's tag 54 only has to agree with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dongne.adapters.db.dynamic_qr_records import DynamicQrRow
from dongne.adapters.secrets import Secrets
from dongne.domain.access import Principal
from dongne.domain.calendar import require_aware
from dongne.domain.dynamic_qr import DynamicQrState, new_reference
from dongne.domain.emvco import MerchantQr, build_payload, parse_payload
from dongne.domain.errors import DynamicQrNotFound, DynamicQrPaid, QrInvalid
from dongne.domain.money import positive_won
from dongne.services.authentication import authenticate_within, check_pin_within
from dongne.services.counter_payments import merchant_qr_within, own_wallet_for
from dongne.services.idempotency import (
    Once,
    once_within,
    run_in_transaction,
    scoped_key,
)
from dongne.services.payments import pay_merchant_within
from dongne.services.ports import DynamicQrStore
from dongne.services.results import PaymentResult
from dongne.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class CreatedDynamicQr:
    """What a create stores under its idempotency key: a retry finds the same code."""

    dynamic_qr_id: int


@dataclass(frozen=True)
class DynamicQrView:
    id: int
    merchant_id: int
    amount_won: int
    payload: str
    status: str
    created_at: datetime
    expires_at: datetime
    paid_at: datetime | None
    payment_id: int | None


def create_dynamic_qr(
    uow: UnitOfWork,
    *,
    caller: Principal,
    amount_won: int,
    lifetime: timedelta,
    idempotency_key: str,
    now: datetime,
) -> DynamicQrView:
    """A code for one sale of ``amount_won`` at the caller's merchant, valid for ``lifetime``."""
    now = require_aware(now)
    merchant_id = caller.merchant()
    positive_won(amount_won)

    def action() -> CreatedDynamicQr:
        merchant = uow.records.merchant(merchant_id).merchant
        uow.records.program(merchant.region_id, at=now).check_payment_amount(amount_won)
        dynamic_qr_id = uow.dynamic_qrs.add(
            region_id=merchant.region_id,
            merchant_id=merchant_id,
            amount_won=amount_won,
            reference=new_reference(),
            created_at=now,
            expires_at=now + lifetime,
            created_by_user_id=caller.user_id,
        )
        return CreatedDynamicQr(dynamic_qr_id)

    created = run_in_transaction(
        uow,
        action,
        once=Once(
            operation="create_dynamic_qr",
            key=scoped_key("dynamic-qr", caller.user_id, idempotency_key),
            request={"merchant_id": merchant_id, "amount_won": amount_won},
            now=now,
            result_type=CreatedDynamicQr,
        ),
    )
    return dynamic_qr(uow, caller=caller, dynamic_qr_id=created.dynamic_qr_id, now=now)


def dynamic_qr(
    uow: UnitOfWork, *, caller: Principal, dynamic_qr_id: int, now: datetime
) -> DynamicQrView:
    """One of the caller's merchant's codes, with its payload and status at ``now``."""
    merchant_id = caller.merchant()
    with uow:
        row = uow.dynamic_qrs.by_id(dynamic_qr_id)
        if row is None or row.merchant_id != merchant_id:
            raise DynamicQrNotFound(
                f"no dynamic QR code {dynamic_qr_id}", dynamic_qr_id=dynamic_qr_id
            )
        merchant_qr = merchant_qr_within(uow, row.merchant_id)
        sale = merchant_qr.for_sale(amount_won=row.amount_won, reference=row.reference)
        payload = build_payload(sale)
    return _view(row, payload, now)


def pay_dynamic_qr(
    uow: UnitOfWork,
    secrets: Secrets,
    *,
    token: str,
    payload: str,
    pin: str,
    wallet_id: int | None,
    attempts_max: int,
    idempotency_key: str,
    now: datetime,
) -> PaymentResult:
    """Pay the sale whose dynamic QR the citizen scanned, its amount from their wallet.

    One transaction, in the order a refusal is reported: the bearer token (the user's row
    locked for the PIN), the code, the merchant, the wallet (locked), the PIN, the
    idempotency key, then the code locked and checked unpaid and unexpired, the payment, and
    the code marked paid. A retry with the same key answers the payment it made."""
    now = require_aware(now)

    def attempt() -> PaymentResult:
        caller = authenticate_within(uow, token=token, now=now, lock_user=True)
        citizen_id = caller.principal.citizen()
        records = uow.dynamic_qrs
        found = _scanned_code(records, parse_payload(payload))
        merchant_found = uow.records.merchant(found.merchant_id)
        region_id = merchant_found.merchant.region_id
        wallet = own_wallet_for(uow, citizen_id, wallet_id, region_id=region_id)
        check_pin_within(uow, secrets, caller.user, pin=pin, attempts_max=attempts_max)
        key = scoped_key("pay-dynamic-qr", caller.principal.user_id, idempotency_key)

        def action() -> PaymentResult:
            code = records.by_reference(found.reference, lock=True)
            assert code is not None  # noqa: S101 - codes are never deleted
            DynamicQrState(code.expires_at, code.paid_at).check_payable(now)
            paid = pay_merchant_within(
                uow,
                wallet_id=wallet.id,
                merchant_id=code.merchant_id,
                amount_won=code.amount_won,
                idempotency_key=key,
                now=now,
                locked_wallet=wallet,
                merchant_found=merchant_found,
                made_by_user_id=code.created_by_user_id,
            )
            if not records.mark_paid(code.id, at=now, payment_id=paid.payment_id):
                raise DynamicQrPaid("this QR code has already been paid")
            return paid

        return once_within(
            uow,
            Once(
                operation="pay_dynamic_qr",
                key=key,
                request={"wallet_id": wallet.id, "dynamic_qr_id": found.id},
                now=now,
                result_type=PaymentResult,
            ),
            action,
        )

    return run_in_transaction(uow, attempt)


def _scanned_code(records: DynamicQrStore, scanned: MerchantQr) -> DynamicQrRow:
    """The code the payload names, if the payload says what the code says: an amount or a
    merchant changed on the way (and the CRC recomputed) is refused as a forgery."""
    if scanned.reference is None:
        raise QrInvalid("this is a merchant's static QR code: pay it with the amount you type")
    row = records.by_reference(scanned.reference)
    if row is None:
        raise DynamicQrNotFound("no dynamic QR code matches what you scanned")
    if row.merchant_id != scanned.merchant_id or row.amount_won != scanned.amount_won:
        raise QrInvalid("this QR code was altered: its amount or merchant is not the sale's")
    return row


def _view(row: DynamicQrRow, payload: str, now: datetime) -> DynamicQrView:
    status = DynamicQrState(row.expires_at, row.paid_at).status_at(now)
    return DynamicQrView(
        row.id,
        row.merchant_id,
        row.amount_won,
        payload,
        status.value,
        row.created_at,
        row.expires_at,
        row.paid_at,
        row.payment_id,
    )
