"""Paying a merchant at its counter: its QR code (static), and the citizen's one-time payment
code that the merchant scans. Remote payment requests are in ``payment_requests``, dynamic QR
codes in ``dynamic_qr``; this module also holds what those share with the counter: the
merchant's QR identity (``merchant_qr_within``) and the citizen's wallet for a region
(``own_wallet_for``).

Each payment goes through ``pay_merchant_within`` inside the channel's own idempotent
transaction, so closing the code and the payment commit together or not at all. The counter is
the hot path, so everything is one transaction, authentication included: the PIN is checked on
the user's row locked as the bearer token is read, before anything is written, so a wrong try
commits just its count (``authentication.check_pin_within``: the transaction runner commits it, then
refuses).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from dongne.adapters.db.access_records import UserRow
from dongne.adapters.db.registry_records import MerchantWithPayable, Wallet
from dongne.adapters.secrets import Secrets, token_digest
from dongne.domain.access import Principal, UserKind
from dongne.domain.calendar import require_aware
from dongne.domain.channels import (
    PaymentCodeState,
    check_may_read_merchant_qr,
    new_payment_code,
    normalize_payment_code,
)
from dongne.domain.emvco import MerchantQr, build_payload, parse_payload
from dongne.domain.errors import (
    DongneError,
    InvalidInput,
    MerchantNotEligible,
    PaymentCodeNotFound,
    PaymentCodeUsed,
    QrInvalid,
    WalletNotFound,
)
from dongne.domain.money import positive_won
from dongne.services.authentication import (
    PARTNER_KEY_PREFIX,
    authenticate_within,
    check_pin_within,
    principal_of,
)
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


@dataclass(frozen=True)
class QrPayment:
    """A citizen's request to pay the merchant whose QR they scanned."""

    token: str
    payload: str
    amount_won: int
    pin: str
    wallet_id: int | None
    idempotency_key: str
    now: datetime


def pay_by_qr(
    uow: UnitOfWork, secrets: Secrets, payment: QrPayment, *, attempts_max: int
) -> PaymentResult:
    """Pay the merchant whose QR the citizen scanned, from their wallet in its region, in a
    transaction of its own. The API sends these through ``payment_batches`` instead, which
    runs the same attempt with others in one transaction."""
    return run_in_transaction(uow, qr_payment_attempt(uow, secrets, payment, attempts_max))


def qr_payment_attempt(
    uow: UnitOfWork, secrets: Secrets, payment: QrPayment, attempts_max: int
) -> Callable[[], PaymentResult]:
    """One try at ``payment`` inside ``uow``'s open transaction.

    It does it all, in the order a refusal is reported: the bearer token (the user's row
    locked for the PIN), the merchant, the wallet (locked), the PIN, the idempotency key (the
    client's, scoped to the caller here) and the payment."""
    now = require_aware(payment.now)

    def attempt() -> PaymentResult:
        parties = _parties_at_once(uow, payment, now) or _parties_one_by_one(uow, payment, now)
        check_pin_within(uow, secrets, parties.user, pin=payment.pin, attempts_max=attempts_max)
        key = scoped_key("pay-qr", parties.user.id, payment.idempotency_key)
        wallet, merchant_id = parties.wallet, parties.merchant.merchant.id
        return once_within(
            uow,
            Once(
                operation="pay_merchant",
                key=key,
                request={
                    "wallet_id": wallet.id,
                    "merchant_id": merchant_id,
                    "amount_won": parties.amount_won,
                },
                now=now,
                result_type=PaymentResult,
            ),
            lambda: pay_merchant_within(
                uow,
                wallet_id=wallet.id,
                merchant_id=merchant_id,
                amount_won=parties.amount_won,
                idempotency_key=key,
                now=now,
                locked_wallet=wallet,
                merchant_found=parties.merchant,
            ),
        )

    return attempt


@dataclass(frozen=True)
class _QrParties:
    """Who pays whom, checked in the order a refusal is reported: the bearer token (the
    user's row locked for the PIN), the QR and the amount, the merchant, the wallet (locked)."""

    user: UserRow
    merchant: MerchantWithPayable
    wallet: Wallet
    amount_won: int


def _parties_at_once(uow: UnitOfWork, payment: QrPayment, now: datetime) -> _QrParties | None:
    """The usual case in one statement; None when anything is amiss (a partner's key, a bad
    QR or amount, a missing user, merchant or wallet), for ``_parties_one_by_one`` to say
    what."""
    if payment.token.startswith(PARTNER_KEY_PREFIX):
        return None
    try:
        scanned = parse_payload(payment.payload)
        amount_won = positive_won(payment.amount_won)
    except DongneError:
        return None
    if scanned.is_dynamic:
        return None
    found = uow.payment_parties.of_qr(
        token_hash=token_digest(payment.token),
        now=now,
        merchant_id=scanned.merchant_id,
        wallet_id=payment.wallet_id,
    )
    if found is None or principal_of(found.user).kind is not UserKind.CITIZEN:
        return None
    return _QrParties(found.user, found.merchant, found.wallet, amount_won)


def _parties_one_by_one(uow: UnitOfWork, payment: QrPayment, now: datetime) -> _QrParties:
    caller = authenticate_within(uow, token=payment.token, now=now, lock_user=True)
    citizen_id = caller.principal.citizen()
    scanned = parse_payload(payment.payload)
    if scanned.is_dynamic:
        raise QrInvalid("this QR code is for one sale: pay it as a dynamic QR code")
    amount_won = positive_won(payment.amount_won)
    merchant_found = uow.records.merchant(scanned.merchant_id)
    region_id = merchant_found.merchant.region_id
    wallet = own_wallet_for(uow, citizen_id, payment.wallet_id, region_id=region_id)
    if caller.user is None:  # a partner's key: ``citizen()`` refused it above
        raise AssertionError("a citizen's token has a user")
    return _QrParties(caller.user, merchant_found, wallet, amount_won)


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
                made_by_user_id=caller.user_id,
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
    made_by_user_id: int | None = None,
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
        made_by_user_id=made_by_user_id,
    )
    if not records.use_payment_code(found.id, at=now, payment_id=result.payment_id):
        raise PaymentCodeUsed("this payment code has already been used")
    return result
