"""Every way to pay a merchant: its QR code, the citizen's one-time payment code, and remote
payment requests (원격결제).

Each payment goes through ``pay_merchant_within`` inside the channel's own idempotent
transaction, so closing the code or the request and the payment commit together or not at
all. The PIN is checked first, and a wrong one is counted (committed) even though the payment
it guarded is refused. The two payments at the counter, the hot path, do everything in one
transaction, authentication included: the PIN is checked on the user's row locked as the
bearer token is read, before anything is written, so a wrong try commits just its count
(``accounts.check_pin_within``: the transaction runner commits it, then refuses). The other
channels check it in a transaction of its own (``accounts.verify_pin``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dongne.adapters.db.channel_records import PaymentRequestRow
from dongne.adapters.db.registry_records import Wallet
from dongne.adapters.secrets import Secrets
from dongne.domain.access import Principal, UserKind
from dongne.domain.calendar import require_aware
from dongne.domain.channels import (
    PaymentCodeState,
    PaymentRequestState,
    RequestStatus,
    check_may_read_merchant_qr,
    check_memo,
    check_request_expiry_seconds,
    new_payment_code,
    normalize_payment_code,
)
from dongne.domain.emvco import MerchantQr, build_payload, parse_payload
from dongne.domain.errors import (
    InvalidInput,
    MerchantNotEligible,
    PaymentCodeNotFound,
    PaymentCodeUsed,
    PaymentRequestClosed,
    PaymentRequestNotFound,
    QrInvalid,
    WalletNotFound,
)
from dongne.domain.money import positive_won
from dongne.domain.people import normalize_phone
from dongne.services.accounts import authenticate_within, check_pin_within, verify_pin
from dongne.services.idempotency import (
    Once,
    once_within,
    run_in_transaction,
    scoped_key,
)
from dongne.services.payments import pay_merchant_within
from dongne.services.results import PaymentResult
from dongne.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class IssuedPaymentCode:
    code: str
    wallet_id: int
    expires_at: datetime


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


# -- the merchant's QR ----------------------------------------------------------------------


def merchant_qr_payload(uow: UnitOfWork, *, caller: Principal, merchant_id: int) -> str:
    """The EMVCo payload of a merchant's static QR code."""
    with uow:
        merchant = uow.records.merchant(merchant_id).merchant
        check_may_read_merchant_qr(caller, merchant_id=merchant_id, region_id=merchant.region_id)
        qr = merchant_qr_within(uow, merchant_id)
    return build_payload(qr)


def merchant_qr_within(uow: UnitOfWork, merchant_id: int) -> MerchantQr:
    """What the merchant's codes say of it, static and dynamic alike: tag 59 its Latin name
    (or its name romanized), tag 64 its Korean name, tag 60 its region."""
    merchant = uow.records.merchant(merchant_id).merchant
    city, local_city = uow.channels.region_code(merchant.region_id)
    return MerchantQr.for_merchant(
        merchant_id,
        name=merchant.name,
        latin_name=merchant.name_latin,
        city=city.upper(),
        local_city=local_city,
    )


def pay_by_qr(
    uow: UnitOfWork,
    secrets: Secrets,
    *,
    token: str,
    payload: str,
    amount_won: int,
    pin: str,
    wallet_id: int | None,
    attempts_max: int,
    idempotency_key: str,
    now: datetime,
) -> PaymentResult:
    """Pay the merchant whose QR the citizen scanned, from their wallet in its region.

    One transaction does it all, in the order a refusal is reported: the bearer token (the
    user's row locked for the PIN), the merchant, the wallet (locked), the PIN, the
    idempotency key (the client's, scoped to the caller here) and the payment."""
    now = require_aware(now)

    def attempt() -> PaymentResult:
        caller = authenticate_within(uow, token=token, now=now, lock_user=True)
        citizen_id = caller.principal.citizen()
        scanned = parse_payload(payload)
        if scanned.is_dynamic:
            raise QrInvalid("this QR code is for one sale: pay it as a dynamic QR code")
        merchant_id = scanned.merchant_id
        positive_won(amount_won)
        merchant_found = uow.records.merchant(merchant_id)
        region_id = merchant_found.merchant.region_id
        wallet = own_wallet_for(uow, citizen_id, wallet_id, region_id=region_id)
        check_pin_within(uow, secrets, caller.user, pin=pin, attempts_max=attempts_max)
        key = scoped_key("pay-qr", caller.principal.user_id, idempotency_key)
        return once_within(
            uow,
            Once(
                operation="pay_merchant",
                key=key,
                request={
                    "wallet_id": wallet.id,
                    "merchant_id": merchant_id,
                    "amount_won": amount_won,
                },
                now=now,
                result_type=PaymentResult,
            ),
            lambda: pay_merchant_within(
                uow,
                wallet_id=wallet.id,
                merchant_id=merchant_id,
                amount_won=amount_won,
                idempotency_key=key,
                now=now,
                locked_wallet=wallet,
                merchant_found=merchant_found,
            ),
        )

    return run_in_transaction(uow, attempt)


def own_wallet_for(
    uow: UnitOfWork, citizen_id: int, wallet_id: int | None, *, region_id: int
) -> Wallet:
    """The named wallet if it is the citizen's, else their wallet in ``region_id``, locked for
    the payment that follows."""
    wallet = uow.records.citizen_wallet(
        citizen_id, wallet_id=wallet_id, region_id=region_id, lock=True
    )
    if wallet is not None:
        return wallet
    if wallet_id is not None:
        raise WalletNotFound(f"you have no wallet {wallet_id}", wallet_id=wallet_id)
    raise MerchantNotEligible(
        "this merchant takes the vouchers of its own region, and you have no wallet there",
        reason="other_region",
    )


def _own_wallet(uow: UnitOfWork, citizen_id: int, wallet_id: int | None) -> int:
    """The named wallet if it is the citizen's; else their wallet in their home region, else
    their only one."""
    wallets = uow.channels.wallets_of_citizen(citizen_id)
    if wallet_id is not None:
        if wallet_id not in wallets.values():
            raise WalletNotFound(f"you have no wallet {wallet_id}", wallet_id=wallet_id)
        return wallet_id
    home = uow.channels.home_region(citizen_id)
    if home in wallets:
        return wallets[home]
    if len(wallets) == 1:
        return next(iter(wallets.values()))
    raise InvalidInput("you have several wallets: name one", field="wallet_id")


# -- one-time payment codes -----------------------------------------------------------------


def issue_payment_code(
    uow: UnitOfWork,
    secrets: Secrets,
    *,
    token: str,
    wallet_id: int | None,
    pin: str,
    attempts_max: int,
    lifetime: timedelta,
    now: datetime,
) -> IssuedPaymentCode:
    """A one-time code for the merchant to scan; only its keyed hash is stored. The bearer
    token, the wallet, the PIN and the code are one transaction, as in ``pay_by_qr``."""
    now = require_aware(now)
    expires_at = now + lifetime

    def attempt() -> IssuedPaymentCode:
        caller = authenticate_within(uow, token=token, now=now, lock_user=True)
        own_wallet_id = _own_wallet(uow, caller.principal.citizen(), wallet_id)
        check_pin_within(uow, secrets, caller.user, pin=pin, attempts_max=attempts_max)
        code = new_payment_code()
        uow.channels.add_payment_code(
            region_id=uow.records.wallet(own_wallet_id).region_id,
            wallet_id=own_wallet_id,
            code_hmac=secrets.code_digest(code),
            created_at=now,
            expires_at=expires_at,
        )
        return IssuedPaymentCode(code, own_wallet_id, expires_at)

    return run_in_transaction(uow, attempt)


def pay_by_code(
    uow: UnitOfWork,
    secrets: Secrets,
    *,
    merchant_id: int,
    code: str,
    amount_won: int,
    idempotency_key: str,
    now: datetime,
) -> PaymentResult:
    """Charge a scanned payment code. The code is locked, paid with and marked used in one
    transaction: of two counters scanning it at once, one pays and the other is told it is
    used."""
    now = require_aware(now)
    digest = secrets.code_digest(normalize_payment_code(code))
    positive_won(amount_won)
    return run_in_transaction(
        uow,
        lambda: _pay_with_code(
            uow,
            digest,
            merchant_id=merchant_id,
            amount_won=amount_won,
            idempotency_key=idempotency_key,
            now=now,
        ),
        once=Once(
            operation="pay_by_code",
            key=idempotency_key,
            request={"code": digest, "merchant_id": merchant_id, "amount_won": amount_won},
            now=now,
            result_type=PaymentResult,
        ),
    )


def charge_payment_code(
    uow: UnitOfWork,
    secrets: Secrets,
    *,
    token: str,
    code: str,
    amount_won: int,
    idempotency_key: str,
    now: datetime,
) -> PaymentResult:
    """``pay_by_code`` for the merchant's staff behind a bearer token, checked in the
    payment's own transaction; ``idempotency_key`` is the client's, scoped to the caller."""
    now = require_aware(now)

    def attempt() -> PaymentResult:
        caller = authenticate_within(uow, token=token, now=now).principal
        merchant_id = caller.merchant()
        digest = secrets.code_digest(normalize_payment_code(code))
        positive_won(amount_won)
        key = scoped_key("pay-code", caller.user_id, idempotency_key)
        return once_within(
            uow,
            Once(
                operation="pay_by_code",
                key=key,
                request={"code": digest, "merchant_id": merchant_id, "amount_won": amount_won},
                now=now,
                result_type=PaymentResult,
            ),
            lambda: _pay_with_code(
                uow,
                digest,
                merchant_id=merchant_id,
                amount_won=amount_won,
                idempotency_key=key,
                now=now,
            ),
        )

    return run_in_transaction(uow, attempt)


def _pay_with_code(
    uow: UnitOfWork,
    digest: str,
    *,
    merchant_id: int,
    amount_won: int,
    idempotency_key: str,
    now: datetime,
) -> PaymentResult:
    records = uow.channels
    found = records.payment_code(digest, lock=True)
    if found is None:
        raise PaymentCodeNotFound("no payment code matches")
    PaymentCodeState(found.expires_at, found.used_at).check_usable(now)
    result = pay_merchant_within(
        uow,
        wallet_id=found.wallet_id,
        merchant_id=merchant_id,
        amount_won=amount_won,
        idempotency_key=idempotency_key,
        now=now,
    )
    if not records.use_payment_code(found.id, at=now, payment_id=result.payment_id):
        raise PaymentCodeUsed("this payment code has already been used")
    return result


# -- remote payment requests ----------------------------------------------------------------


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
        program = uow.records.program(merchant.region_id)
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
