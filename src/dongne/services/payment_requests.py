"""Remote payment requests (원격결제): a merchant asks the citizen with a phone number to pay,
and the citizen approves the request with their PIN, or declines it.

Approving pays through ``pay_merchant_within`` inside the request's own idempotent
transaction, so closing the request as paid and the payment commit together or not at all.
Unlike the counter (``counter_payments``), the PIN is checked in a transaction of its own
first (``authentication.verify_pin``), so a wrong try is counted (committed) even though the payment
it guarded is refused. A request reads as missing to everyone but its citizen and its
merchant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dongne.adapters.db.channel_records import PaymentRequestRow
from dongne.adapters.secrets import Secrets
from dongne.domain.access import Principal, UserKind
from dongne.domain.calendar import require_aware
from dongne.domain.channels import (
    PaymentRequestState,
    RequestStatus,
    check_memo,
    check_request_expiry_seconds,
)
from dongne.domain.errors import (
    PaymentRequestClosed,
    PaymentRequestNotFound,
    WalletNotFound,
)
from dongne.domain.money import positive_won
from dongne.domain.people import normalize_phone
from dongne.services.authentication import verify_pin
from dongne.services.idempotency import Once, run_in_transaction, scoped_key
from dongne.services.payments import pay_merchant_within
from dongne.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class PaymentRequestView:
    id: int
    merchant_id: int
    merchant_name: str
    wallet_id: int
    amount_won: int
    memo: str
    status: str
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    payment_id: int | None


@dataclass(frozen=True)
class RequestPaymentResult:
    """What approving a request returns: the payment, and the request it closed."""

    request_id: int
    payment_id: int
    transaction_id: int
    wallet_id: int
    merchant_id: int
    amount_won: int


@dataclass(frozen=True)
class _StoredPaymentRequest:
    """A new request as stored with its idempotency key: times in ISO 8601, for JSON."""

    id: int
    merchant_id: int
    merchant_name: str
    wallet_id: int
    amount_won: int
    memo: str
    status: str
    created_at: str
    expires_at: str

    @classmethod
    def of(cls, view: PaymentRequestView) -> _StoredPaymentRequest:
        return cls(
            view.id,
            view.merchant_id,
            view.merchant_name,
            view.wallet_id,
            view.amount_won,
            view.memo,
            view.status,
            view.created_at.isoformat(),
            view.expires_at.isoformat(),
        )

    def view(self) -> PaymentRequestView:
        return PaymentRequestView(
            self.id,
            self.merchant_id,
            self.merchant_name,
            self.wallet_id,
            self.amount_won,
            self.memo,
            self.status,
            datetime.fromisoformat(self.created_at),
            datetime.fromisoformat(self.expires_at),
            decided_at=None,
            payment_id=None,
        )


def request_payment(
    uow: UnitOfWork,
    *,
    merchant_id: int,
    phone: str,
    amount_won: int,
    memo: str,
    expires_in_seconds: int,
    idempotency_key: str,
    now: datetime,
) -> PaymentRequestView:
    """Ask the citizen with this phone number to pay, from their wallet in our region. Once
    per ``idempotency_key`` (scoped to the merchant): a retried request is one the citizen
    could otherwise approve, and pay, twice."""
    now = require_aware(now)
    positive_won(amount_won)
    memo = check_memo(memo)
    lifetime = timedelta(seconds=check_request_expiry_seconds(expires_in_seconds))
    phone = normalize_phone(phone)

    def action() -> _StoredPaymentRequest:
        merchant = uow.records.merchant(merchant_id).merchant
        records = uow.channels
        wallet_id = records.wallet_by_phone(phone, merchant.region_id)
        if wallet_id is None:
            raise WalletNotFound("no citizen with this phone number has a wallet in this region")
        program = uow.records.program(merchant.region_id, at=now)
        program.check_payment_amount(amount_won)
        request_id = records.add_payment_request(
            region_id=merchant.region_id,
            merchant_id=merchant_id,
            wallet_id=wallet_id,
            amount_won=amount_won,
            memo=memo,
            created_at=now,
            expires_at=now + lifetime,
        )
        row = records.payment_request(request_id)
        assert row is not None  # noqa: S101 - just inserted in this transaction
        return _StoredPaymentRequest.of(_view(row, now))

    stored = run_in_transaction(
        uow,
        action,
        once=Once(
            operation="request_payment",
            key=scoped_key("request-payment", merchant_id, idempotency_key),
            request={
                "phone": phone,
                "amount_won": amount_won,
                "memo": memo,
                "expires_in_seconds": expires_in_seconds,
            },
            now=now,
            result_type=_StoredPaymentRequest,
        ),
    )
    return stored.view()


def payment_requests(
    uow: UnitOfWork, *, caller: Principal, after_id: int | None, fetch: int, now: datetime
) -> list[PaymentRequestView]:
    """Up to ``fetch`` requests to the calling citizen, or from the calling merchant, newest
    first, older than ``after_id`` (the cursor's row) when given."""
    if caller.kind is UserKind.MERCHANT:
        scope = {"merchant_id": caller.merchant()}
    else:
        scope = {"citizen_id": caller.citizen()}
    with uow:
        rows = uow.channels.payment_requests(**scope, before_id=after_id, limit=fetch)
    return [_view(row, now) for row in rows]


def payment_request(
    uow: UnitOfWork, *, caller: Principal, request_id: int, now: datetime
) -> PaymentRequestView:
    with uow:
        row = uow.channels.payment_request(request_id)
    return _view(_visible(row, caller, request_id), now)


def approve_payment_request(
    uow: UnitOfWork,
    secrets: Secrets,
    *,
    caller: Principal,
    request_id: int,
    pin: str,
    attempts_max: int,
    idempotency_key: str,
    now: datetime,
) -> RequestPaymentResult:
    """Pay a request; it is closed as paid in the payment's own transaction."""
    now = require_aware(now)
    citizen_id = caller.citizen()
    with uow:
        _visible(uow.channels.payment_request(request_id), caller, request_id)
    verify_pin(uow, secrets, citizen_id=citizen_id, pin=pin, attempts_max=attempts_max)

    def action() -> RequestPaymentResult:
        records = uow.channels
        row = _visible(records.payment_request(request_id, lock=True), caller, request_id)
        PaymentRequestState(RequestStatus(row.status), row.expires_at).check_open(now)
        paid = pay_merchant_within(
            uow,
            wallet_id=row.wallet_id,
            merchant_id=row.merchant_id,
            amount_won=row.amount_won,
            idempotency_key=idempotency_key,
            now=now,
        )
        decided = records.decide_payment_request(
            request_id, status=RequestStatus.PAID.value, at=now, payment_id=paid.payment_id
        )
        if not decided:
            raise PaymentRequestClosed("this payment request was decided meanwhile")
        return RequestPaymentResult(
            request_id,
            paid.payment_id,
            paid.transaction_id,
            paid.wallet_id,
            paid.merchant_id,
            paid.amount_won,
        )

    return run_in_transaction(
        uow,
        action,
        once=Once(
            operation="approve_payment_request",
            key=idempotency_key,
            request={"request_id": request_id},
            now=now,
            result_type=RequestPaymentResult,
        ),
    )


def decline_payment_request(
    uow: UnitOfWork, *, caller: Principal, request_id: int, now: datetime
) -> PaymentRequestView:
    now = require_aware(now)
    caller.citizen()
    with uow:
        records = uow.channels
        row = _visible(records.payment_request(request_id, lock=True), caller, request_id)
        PaymentRequestState(RequestStatus(row.status), row.expires_at).check_open(now)
        if not records.decide_payment_request(
            request_id, status=RequestStatus.DECLINED.value, at=now, payment_id=None
        ):
            raise PaymentRequestClosed("this payment request was decided meanwhile")
        decided = records.payment_request(request_id)
        uow.commit()
    assert decided is not None  # noqa: S101 - read in this transaction
    return _view(decided, now)


def _visible(
    row: PaymentRequestRow | None, caller: Principal, request_id: int
) -> PaymentRequestRow:
    """The request if the caller is its citizen or its merchant; others are told it does not
    exist, so ids cannot be probed."""
    mine = row is not None and (
        (caller.kind is UserKind.CITIZEN and caller.citizen_id == row.citizen_id)
        or (caller.kind is UserKind.MERCHANT and caller.merchant_id == row.merchant_id)
    )
    if row is None or not mine:
        raise PaymentRequestNotFound(f"no payment request {request_id}", request_id=request_id)
    return row


def _view(row: PaymentRequestRow, now: datetime) -> PaymentRequestView:
    status = PaymentRequestState(RequestStatus(row.status), row.expires_at).status_at(now)
    return PaymentRequestView(
        row.id,
        row.merchant_id,
        row.merchant_name,
        row.wallet_id,
        row.amount_won,
        row.memo,
        status.value,
        row.created_at,
        row.expires_at,
        row.decided_at,
        row.payment_id,
    )
