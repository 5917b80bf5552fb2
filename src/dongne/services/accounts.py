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
)
from dongne.domain.calendar import require_aware
from dongne.domain.errors import AlreadyExists, InvalidInput
from dongne.services.idempotency import run_once
from dongne.services.setup import PHONE, open_wallet_for
from dongne.services.unit_of_work import UnitOfWork


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


def _normalized_phone(phone: str) -> str:
    normalized = phone.replace("-", "").strip()
    if not PHONE.match(normalized):
        raise InvalidInput("a phone number looks like 010-1234-5678", field="phone")
    return normalized


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
) -> SignedUp:
    """A citizen account with a wallet in ``region_id``; the identity number only as an HMAC."""
    phone = _normalized_phone(phone)
    password_hash = secrets.hash_password(check_password(password))
    identity = secrets.identity_digest(identity_number) if identity_number else None
    if not name.strip():
        raise InvalidInput("a citizen needs a name", field="name")
    now = require_aware(now)

    def action() -> SignedUp:
        uow.records.region(region_id)
        if uow.access.user_by_login(phone) is not None:
            raise AlreadyExists("this phone number already has an account", field="phone")
        if identity and uow.access.identity_taken(identity):
            raise AlreadyExists("this person already has an account", field="identity_number")
        citizen_id = uow.records.add_citizen(name.strip(), phone, region_id, now)
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
        return SignedUp(user_id, citizen_id, wallet_id)

    request = {"phone": phone, "name": name.strip(), "region_id": region_id}
    return run_once(
        uow,
        operation="sign_up_citizen",
        idempotency_key=idempotency_key,
        request=request,
        now=now,
        result_type=SignedUp,
        action=action,
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
    password_hash = secrets.hash_password(check_password(password))
    if kind is UserKind.OFFICIAL:
        role = OfficialRole(role).value if role in set(OfficialRole) else _bad_role(role)
    elif kind is UserKind.MERCHANT:
        role = MerchantRole(role).value if role in set(MerchantRole) else _bad_role(role)
    totp_secret = pyotp.random_base32() if kind is UserKind.OFFICIAL else None
    with uow:
        if region_id is not None:
            uow.records.region(region_id)
        if merchant_id is not None:
            region_id = uow.records.merchant(merchant_id)[0].region_id
        if uow.access.user_by_login(login) is not None:
            raise AlreadyExists(f"the login {login!r} is taken", field="login")
        user_id = uow.access.add_user(
            kind=kind.value,
            login=login,
            password_hash=password_hash,
            role=role,
            region_id=region_id,
            merchant_id=merchant_id,
            totp_secret=totp_secret,
            created_at=require_aware(now),
        )
        uow.commit()
    return NewCredential(user_id, totp_secret or "")


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
) -> Session:
    """A bearer token for a user whose password (and, for officials, TOTP code) matches."""
    now = require_aware(now)
    if PHONE.match(login.replace("-", "").strip()):
        login = login.replace("-", "").strip()
    with uow:
        user = uow.access.user_by_login(login)
        if user is None or not secrets.password_matches(user.password_hash, password):
            raise InvalidCredentials("the login or the password is wrong")
        if user.totp_secret and not (
            totp_code and pyotp.TOTP(user.totp_secret).verify(totp_code, for_time=now)
        ):
            raise InvalidCredentials("officials log in with a current TOTP code", field="totp")
        token, digest = new_token("dgt")
        expires_at = now + lifetime
        uow.access.add_token(digest, user.id, now, expires_at)
        uow.commit()
    return Session(token, expires_at, principal_of(user))


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
    digest = token_digest(token)
    with uow:
        if token.startswith("dgk_"):
            partner = uow.access.partner_by_key(digest)
            if partner is None:
                raise Unauthenticated("this API key is unknown or revoked")
            return Principal(
                kind=UserKind.PARTNER,
                region_id=partner.region_id,
                partner_id=partner.id,
                scopes=frozenset(partner.scopes),
            )
        user = uow.access.user_of_token(digest, require_aware(now))
        if user is None:
            raise Unauthenticated("the token is unknown, expired or revoked")
        return principal_of(user)


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
    with uow:
        user = uow.access.user_of_citizen(citizen_id, for_update=True)
        if user is None or user.pin_hmac is None:
            raise PinNotSet("set a payment PIN first")
        if user.pin_failures >= attempts_max:
            raise PinLocked("payments are locked after too many wrong PINs; reset the PIN")
        if secrets.pin_digest(user.id, pin) == user.pin_hmac:
            if user.pin_failures:
                uow.access.update_user(user.id, pin_failures=0)
                uow.commit()
            return
        failures = user.pin_failures + 1
        uow.access.update_user(user.id, pin_failures=failures)
        uow.commit()
    if failures >= attempts_max:
        raise PinLocked("that was the last try: payments are locked until the PIN is reset")
    raise PinIncorrect("the PIN is wrong", attempts_left=attempts_max - failures)


def create_partner(
    uow: UnitOfWork,
    *,
    region_id: int,
    name: str,
    scopes: list[str],
    webhook_url: str | None,
    now: datetime,
) -> NewCredential:
    """A partner app with an API key (shown once) scoped to one region and named operations."""
    if not name.strip():
        raise InvalidInput("a partner needs a name", field="name")
    known = {scope.value for scope in PartnerScope}
    if not scopes or not set(scopes) <= known:
        raise InvalidInput(f"scopes are some of {sorted(known)}", field="scopes")
    if webhook_url is not None and not webhook_url.startswith(("http://", "https://")):
        raise InvalidInput("a webhook URL is http(s)", field="webhook_url")
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
