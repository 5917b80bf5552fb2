"""Accounts and authentication: sign-up, log-in, tokens, PINs, officials, merchants, partners.

A bearer token is a random value shown once; its SHA-256 is stored with an expiry and can be
revoked. Officials log in with a TOTP code as well as their password. The payment PIN is
checked under the user's row lock, so parallel guesses cannot get more than the allowed tries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp

from dongne.adapters.db.access_records import UserRow
from dongne.adapters.secrets import Secrets, new_token, token_digest
from dongne.config import Settings
from dongne.domain.access import (
    InvalidCredentials,
    MerchantRole,
    OfficialRole,
    PartnerScope,
    PinIncorrect,
    PinLocked,
    PinNotSet,
    Principal,
    Unauthenticated,
    UserKind,
    check_password,
    check_pin,
    check_pin_format,
)
from dongne.domain.calendar import require_aware
from dongne.domain.errors import AlreadyExists, InvalidInput
from dongne.domain.login_throttle import LoginThrottlePolicy, after_failure, check_may_try
from dongne.domain.people import is_mobile_phone, normalize_identity_number, normalize_phone
from dongne.domain.webhook_urls import check_webhook_url
from dongne.services.allowances import claim_pending_grants_within
from dongne.services.idempotency import (
    CommitThenRefuse,
    CommitThenRunAgain,
    Once,
    run_in_transaction,
)
from dongne.services.registry import open_wallet_for
from dongne.services.unit_of_work import UnitOfWork

DEFAULT_LOGIN_THROTTLE = LoginThrottlePolicy()
MAX_LOGIN_LENGTH = 100
"""As long as the users table keeps a login; a longer one cannot be anyone's."""


@dataclass(frozen=True)
class SignedUp:
    user_id: int
    citizen_id: int
    wallet_id: int


@dataclass(frozen=True)
class Session:
    token: str
    expires_at: datetime
    principal: Principal


@dataclass(frozen=True)
class NewCredential:
    """A created account or key; the secret is shown this once and never stored."""

    id: int
    secret: str


def sign_up_citizen(
    uow: UnitOfWork,
    secrets: Secrets,
    *,
    phone: str,
    password: str,
    name: str,
    region_id: int,
    identity_number: str | None,
    idempotency_key: str,
    now: datetime,
    resident: bool = True,
) -> SignedUp:
    """A citizen account with a wallet in ``region_id``, their home region unless they are
    not ``resident`` there; the identity number only as an HMAC."""
    phone = normalize_phone(phone)
    password_hash = secrets.hash_password(check_password(password))
    identity = (
        secrets.identity_digest(normalize_identity_number(identity_number))
        if identity_number
        else None
    )
    if not name.strip():
        raise InvalidInput("a citizen needs a name", field="name")
    now = require_aware(now)

    def action() -> SignedUp:
        uow.records.region(region_id)
        if uow.access.user_by_login(phone) is not None:
            raise AlreadyExists("this phone number already has an account", field="phone")
        if identity and uow.access.identity_taken(identity):
            raise AlreadyExists("this person already has an account", field="identity_number")
        home_region_id = region_id if resident else None
        citizen_id = uow.records.add_citizen(name.strip(), phone, home_region_id, now)
        wallet_id = open_wallet_for(uow, citizen_id, region_id, now)
        user_id = uow.access.add_user(
            kind=UserKind.CITIZEN.value,
            login=phone,
            password_hash=password_hash,
            citizen_id=citizen_id,
            identity_hmac=identity,
            cash_receipt_number=phone,
            created_at=now,
        )
        # The wallet opened before the identity was on record: its pending allowances now.
        claim_pending_grants_within(uow, citizen_id=citizen_id, region_id=region_id, now=now)
        return SignedUp(user_id, citizen_id, wallet_id)

    request: dict[str, object] = {"phone": phone, "name": name.strip(), "region_id": region_id}
    if not resident:
        request["resident"] = False
    return run_in_transaction(
        uow,
        action,
        once=Once(
            operation="sign_up_citizen",
            key=idempotency_key,
            request=request,
            now=now,
            result_type=SignedUp,
        ),
    )


def create_staff_user(
    uow: UnitOfWork,
    secrets: Secrets,
    *,
    kind: UserKind,
    login: str,
    password: str,
    role: str | None,
    region_id: int | None,
    merchant_id: int | None,
    now: datetime,
) -> NewCredential:
    """An official, merchant or operator account; officials get a TOTP secret (returned)."""
    draft = draft_staff_user(secrets, kind=kind, password=password, role=role)
    with uow:
        created = create_staff_user_within(
            uow, draft, login=login, region_id=region_id, merchant_id=merchant_id, now=now
        )
        uow.commit()
    return created


@dataclass(frozen=True)
class StaffUserDraft:
    """A staff account's checked role and hashed password, made before any transaction opens:
    hashing a password is slow on purpose, and no lock should wait for it."""

    kind: UserKind
    role: str | None
    password_hash: str
    totp_secret: str | None


def draft_staff_user(
    secrets: Secrets, *, kind: UserKind, password: str, role: str | None
) -> StaffUserDraft:
    password_hash = secrets.hash_password(check_password(password))
    if kind is UserKind.OFFICIAL:
        role = OfficialRole(role).value if role in set(OfficialRole) else _bad_role(role)
    elif kind is UserKind.MERCHANT:
        role = MerchantRole(role).value if role in set(MerchantRole) else _bad_role(role)
    totp_secret = pyotp.random_base32() if kind is UserKind.OFFICIAL else None
    return StaffUserDraft(kind, role, password_hash, totp_secret)


def create_staff_user_within(
    uow: UnitOfWork,
    draft: StaffUserDraft,
    *,
    login: str,
    region_id: int | None,
    merchant_id: int | None,
    now: datetime,
) -> NewCredential:
    """``create_staff_user`` inside the caller's open unit of work, which commits it."""
    if region_id is not None:
        uow.records.region(region_id)
    if merchant_id is not None:
        region_id = uow.records.merchant(merchant_id).merchant.region_id
    if uow.access.user_by_login(login) is not None:
        raise AlreadyExists(f"the login {login!r} is taken", field="login")
    user_id = uow.access.add_user(
        kind=draft.kind.value,
        login=login,
        password_hash=draft.password_hash,
        role=draft.role,
        region_id=region_id,
        merchant_id=merchant_id,
        totp_secret=draft.totp_secret,
        created_at=require_aware(now),
    )
    return NewCredential(user_id, draft.totp_secret or "")


def _bad_role(role: str | None) -> str:
    raise InvalidInput(f"unknown role {role!r}", field="role")


def log_in(
    uow: UnitOfWork,
    secrets: Secrets,
    *,
    login: str,
    password: str,
    totp_code: str | None,
    lifetime: timedelta,
    now: datetime,
    throttle: LoginThrottlePolicy = DEFAULT_LOGIN_THROTTLE,
) -> Session:
    """A bearer token for a user whose password (and, for officials, TOTP code) matches.

    Wrong passwords and codes are counted per login (``domain.login_throttle``): past
    ``throttle.failures_max`` in its window, log-ins for that login are refused with
    ``LoginThrottled`` until the window ends. A failure's count commits before it is reported.
    """
    now = require_aware(now)
    if is_mobile_phone(login):
        login = normalize_phone(login)
    if not login or len(login) > MAX_LOGIN_LENGTH:
        raise InvalidCredentials("the login or the password is wrong")
    with uow:
        failures = uow.login_throttle
        count = failures.locked_count(login, now)
        check_may_try(count, now, throttle)
        user = uow.access.user_by_login(login)
        refusal = _log_in_refusal(secrets, user, password, totp_code, now)
        if refusal is not None:
            failures.save(login, after_failure(count, now, throttle))
            failures.forget_windows_before(now - throttle.window)
            uow.commit()
            raise refusal
        assert user is not None  # noqa: S101 - _log_in_refusal refuses a missing user
        failures.clear(login)
        token, digest = new_token("dgt")
        expires_at = now + lifetime
        uow.access.add_token(digest, user.id, now, expires_at)
        uow.commit()
    return Session(token, expires_at, principal_of(user))


def _log_in_refusal(
    secrets: Secrets, user: UserRow | None, password: str, totp_code: str | None, now: datetime
) -> InvalidCredentials | None:
    """Why these credentials do not log ``user`` in, or None if they do."""
    if user is None or not secrets.password_matches(user.password_hash, password):
        return InvalidCredentials("the login or the password is wrong")
    # One 30-second step either side (RFC 6238 section 5.2): a code typed as its window closes,
    # or on a phone whose clock is a little off, still counts.
    if user.totp_secret and not (
        totp_code and pyotp.TOTP(user.totp_secret).verify(totp_code, for_time=now, valid_window=1)
    ):
        return InvalidCredentials("officials log in with a current TOTP code", field="totp")
    return None


def log_out(uow: UnitOfWork, *, token: str, now: datetime) -> None:
    with uow:
        uow.access.revoke_token(token_digest(token), require_aware(now))
        uow.commit()


def principal_of(user: UserRow) -> Principal:
    return Principal(
        kind=UserKind(user.kind),
        user_id=user.id,
        region_id=user.region_id,
        citizen_id=user.citizen_id,
        merchant_id=user.merchant_id,
        role=user.role,
    )


def authenticate(uow: UnitOfWork, *, token: str, now: datetime) -> Principal:
    """The principal behind a bearer token or a partner API key."""
    with uow:
        return authenticate_within(uow, token=token, now=now).principal


@dataclass(frozen=True)
class Authenticated:
    principal: Principal
    user: UserRow | None
    """The user's row (None for a partner's API key)."""


def authenticate_within(
    uow: UnitOfWork, *, token: str, now: datetime, lock_user: bool = False
) -> Authenticated:
    """``authenticate`` inside the caller's open unit of work, so a payment checks its caller
    in its own transaction. ``lock_user`` reads the user's row under its lock, ready for
    ``check_pin_within``, in the same statement."""
    digest = token_digest(token)
    if token.startswith("dgk_"):
        partner = uow.access.partner_by_key(digest)
        if partner is None:
            raise Unauthenticated("this API key is unknown or revoked")
        principal = Principal(
            kind=UserKind.PARTNER,
            region_id=partner.region_id,
            partner_id=partner.id,
            scopes=frozenset(partner.scopes),
        )
        return Authenticated(principal, None)
    user = uow.access.user_of_token(digest, require_aware(now), for_update=lock_user)
    if user is None:
        raise Unauthenticated("the token is unknown, expired or revoked")
    return Authenticated(principal_of(user), user)


def set_pin(uow: UnitOfWork, secrets: Secrets, *, user_id: int, password: str, pin: str) -> None:
    """Set or reset the payment PIN; the password proves it is the owner, and clears a lock."""
    check_pin(pin)
    with uow:
        user = uow.access.user(user_id, for_update=True)
        if user is None or not secrets.password_matches(user.password_hash, password):
            raise InvalidCredentials("the password is wrong", field="password")
        uow.access.update_user(user_id, pin_hmac=secrets.pin_digest(user_id, pin), pin_failures=0)
        uow.commit()


def verify_pin(
    uow: UnitOfWork, secrets: Secrets, *, citizen_id: int, pin: str, attempts_max: int
) -> None:
    """Check a payment PIN in its own transaction, so a wrong try is counted even though the
    payment it guarded is refused; the count resets on a right one."""

    def attempt() -> None:
        user = uow.access.user_of_citizen(citizen_id, for_update=True)
        check_pin_within(uow, secrets, user, pin=pin, attempts_max=attempts_max)

    run_in_transaction(uow, attempt)


def check_pin_within(
    uow: UnitOfWork, secrets: Secrets, user: UserRow | None, *, pin: str, attempts_max: int
) -> None:
    """Check a payment PIN against ``user``'s row, read under its lock in an attempt of
    ``run_in_transaction``, before the attempt has written anything. A wrong try is counted,
    and the runner commits just that count before it refuses (``CommitThenRefuse`` with
    ``PinIncorrect`` or ``PinLocked``), so the count survives the refused payment. A right
    PIN after wrong ones resets the count, which the runner commits before it runs the
    attempt again (``CommitThenRunAgain``)."""
    check_pin_format(pin)
    if user is None or user.pin_hmac is None:
        raise PinNotSet("set a payment PIN first")
    if user.pin_failures >= attempts_max:
        raise PinLocked("payments are locked after too many wrong PINs; reset the PIN")
    if secrets.pin_digest(user.id, pin) == user.pin_hmac:
        if user.pin_failures:
            uow.access.update_user(user.id, pin_failures=0)
            raise CommitThenRunAgain
        return
    failures = user.pin_failures + 1
    uow.access.update_user(user.id, pin_failures=failures)
    if failures >= attempts_max:
        raise CommitThenRefuse(
            PinLocked("that was the last try: payments are locked until the PIN is reset")
        )
    raise CommitThenRefuse(PinIncorrect("the PIN is wrong", attempts_left=attempts_max - failures))


def create_partner(
    uow: UnitOfWork,
    *,
    region_id: int,
    name: str,
    scopes: list[str],
    webhook_url: str | None,
    now: datetime,
    allow_private_webhook_addresses: bool = False,
) -> NewCredential:
    """A partner app with an API key (shown once) scoped to one region and named operations.
    Its webhook URL may point at a private address only where that is allowed (not in
    production: ``domain.webhook_urls``)."""
    if not name.strip():
        raise InvalidInput("a partner needs a name", field="name")
    known = {scope.value for scope in PartnerScope}
    if not scopes or not set(scopes) <= known:
        raise InvalidInput(f"scopes are some of {sorted(known)}", field="scopes")
    if webhook_url is not None:
        check_webhook_url(webhook_url, allow_private_addresses=allow_private_webhook_addresses)
    key, digest = new_token("dgk")
    webhook_secret, _ = new_token("whsec")
    with uow:
        uow.records.region(region_id)
        partner_id = uow.access.add_partner(
            region_id=region_id,
            name=name.strip(),
            key_hash=digest,
            key_prefix=key[:12],
            scopes=sorted(set(scopes)),
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            created_at=require_aware(now),
        )
        uow.commit()
    return NewCredential(partner_id, key)


TOTP_ISSUER = "dongne"
"""The issuer an authenticator app shows beside an official's login."""


def totp_provisioning_uri(secret: str, login: str) -> str:
    """The otpauth:// URI of an official's TOTP secret, for an authenticator app's QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=login, issuer_name=TOTP_ISSUER)


def login_throttle_of(settings: Settings) -> LoginThrottlePolicy:
    return LoginThrottlePolicy(
        failures_max=settings.login_failures_max,
        window_seconds=settings.login_failure_window_minutes * 60,
    )


def requires_totp(uow: UnitOfWork, *, login: str) -> bool:
    """Whether logging in as ``login`` asks for a TOTP code (officials), so a prompt can ask
    for one before the attempt instead of spending a try on a refusal."""
    with uow:
        user = uow.access.user_by_login(login)
    return user is not None and bool(user.totp_secret)
