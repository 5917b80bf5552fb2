"""Accounts: who may act. Citizens sign up (and get a wallet), staff users and partner apps
are created, and an account sets its payment PIN; officials get a TOTP secret.

Proving who is acting (log-in, tokens, the PIN check before a payment) is in
``authentication``. A secret made here (a partner's API key, an official's TOTP secret) is
shown once and never stored in the clear.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pyotp

from dongne.adapters.secrets import Secrets, new_token
from dongne.domain.access import (
    InvalidCredentials,
    MerchantRole,
    OfficialRole,
    PartnerScope,
    UserKind,
    check_password,
    check_pin,
)
from dongne.domain.calendar import require_aware
from dongne.domain.errors import AlreadyExists, InvalidInput
from dongne.domain.people import normalize_identity_number, normalize_phone
from dongne.domain.webhook_urls import check_webhook_url
from dongne.services.allowances import claim_grants_left_pending, claim_pending_grants_within
from dongne.services.idempotency import Once, run_in_transaction
from dongne.services.registry import open_wallet_for
from dongne.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class SignedUp:
    user_id: int
    citizen_id: int
    wallet_id: int


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
    signed_up = run_in_transaction(
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
    claim_grants_left_pending(uow, citizen_id=signed_up.citizen_id, region_id=region_id, now=now)
    return signed_up


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


def set_pin(uow: UnitOfWork, secrets: Secrets, *, user_id: int, password: str, pin: str) -> None:
    """Set or reset the payment PIN; the password proves it is the owner, and clears a lock."""
    check_pin(pin)
    with uow:
        user = uow.access.user(user_id, for_update=True)
        if user is None or not secrets.password_matches(user.password_hash, password):
            raise InvalidCredentials("the password is wrong", field="password")
        uow.access.update_user(user_id, pin_hmac=secrets.pin_digest(user_id, pin), pin_failures=0)
        uow.commit()


def create_partner(
    uow: UnitOfWork,
    *,
    region_id: int,
    name: str,
    scopes: list[str],
    webhook_url: str | None,
    now: datetime,
    allow_private_webhook_addresses: bool = False,
    created_by_user_id: int | None = None,
) -> NewCredential:
    """A partner app with an API key (shown once) scoped to one region and named operations.
    Its webhook URL may point at a private address only where that is allowed (not in
    production: ``domain.webhook_urls``). ``created_by_user_id``, the official registering
    it, answers for what it does under its scopes (``docs/g2p-connect.md``)."""
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
            created_by_user_id=created_by_user_id,
        )
        uow.commit()
    return NewCredential(partner_id, key)


TOTP_ISSUER = "dongne"
"""The issuer an authenticator app shows beside an official's login."""


def totp_provisioning_uri(secret: str, login: str) -> str:
    """The otpauth:// URI of an official's TOTP secret, for an authenticator app's QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=login, issuer_name=TOTP_ISSUER)
