"""Who is asking, and what they may do: the principal behind every API call.

Six kinds of caller: a citizen, a merchant's owner or staff, a region's official (viewer,
operator or approver), the platform operator, a partner app (API key, scoped to one region and
to named operations), or nobody. Every rule about who may touch what is a method here, so the
routes stay thin and the authorization matrix test can read the rules from one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from dongne.domain.errors import (
    DongneError,
    InvalidInput,
    MerchantNotFound,
    NotFound,
    RegionNotFound,
)


class Unauthenticated(DongneError):
    """No credentials, or credentials that are wrong, expired or revoked."""

    code = "AUTHENTICATION_REQUIRED"


class Forbidden(DongneError):
    """The caller is known but their role may not do this. Never raised for someone else's
    thing or region: that is its not-found, so a refusal tells no one what exists."""

    code = "FORBIDDEN"


class InvalidCredentials(Unauthenticated):
    code = "INVALID_CREDENTIALS"


class LoginThrottled(DongneError):
    """Too many wrong passwords for this login lately: log-ins are refused, even with the right
    password, until the window ends (``details['retry_after_seconds']``)."""

    code = "LOGIN_THROTTLED"


class PinIncorrect(DongneError):
    """A wrong payment PIN; ``details['attempts_left']`` says how many remain."""

    code = "PIN_INCORRECT"


class PinLocked(DongneError):
    """Too many wrong PINs: payments are locked until the PIN is reset with the password."""

    code = "PIN_LOCKED"


class PinNotSet(DongneError):
    code = "PIN_NOT_SET"


class UserKind(StrEnum):
    CITIZEN = "citizen"
    MERCHANT = "merchant"
    OFFICIAL = "official"
    OPERATOR = "operator"
    PARTNER = "partner"


class OfficialRole(StrEnum):
    VIEWER = "viewer"
    """Reads the region's data."""
    OPERATOR = "operator"
    """Also runs the region's day-to-day work (merchants, programs, partners)."""
    APPROVER = "approver"
    """Also approves what needs a second pair of eyes (disbursements, settlement holds)."""


OFFICIAL_RANK = {OfficialRole.VIEWER: 0, OfficialRole.OPERATOR: 1, OfficialRole.APPROVER: 2}


class MerchantRole(StrEnum):
    OWNER = "owner"
    STAFF = "staff"


class PartnerScope(StrEnum):
    PAYMENT_INTENTS = "payment_intents"
    STEPS = "steps"
    G2P = "g2p"
    """A welfare system sending G2P Connect disbursements into the region's allowance programs."""
    PAPER_SALES = "paper_sales"
    """A sale agent (a bank) of paper vouchers: sells the ranges issued to it."""


PIN = re.compile(r"[0-9]{6}")
"""Six ASCII digits: ``\\d`` would also take full-width and other scripts' digits, which no
keypad sends and no stored PIN can match."""
MIN_PASSWORD_LENGTH = 10


def check_pin_format(pin: str) -> str:
    """Refuse what cannot be a PIN at all, before it is compared: a malformed PIN is a typing
    slip, not a guess, and must not cost one of the citizen's tries."""
    if not PIN.fullmatch(pin):
        raise InvalidInput("a payment PIN is exactly 6 digits", field="pin")
    return pin


def check_pin(pin: str) -> str:
    """A PIN that may be set: well formed, and not one repeated digit or a run."""
    check_pin_format(pin)
    if len(set(pin)) == 1 or pin in "0123456789" or pin in "9876543210":
        raise InvalidInput("a payment PIN may not be one repeated digit or a run", field="pin")
    return pin


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"a password has at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    return password


@dataclass(frozen=True)
class Principal:
    kind: UserKind
    user_id: int | None = None
    region_id: int | None = None
    citizen_id: int | None = None
    merchant_id: int | None = None
    role: str | None = None
    partner_id: int | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)

    def citizen(self) -> int:
        """The caller's citizen id; only citizens may act as one."""
        if self.kind is not UserKind.CITIZEN or self.citizen_id is None:
            raise Forbidden("only a citizen may do this")
        return self.citizen_id

    def merchant(self, merchant_id: int | None = None, *, owner: bool = False) -> int:
        """The caller's merchant id, checked against ``merchant_id`` when one is named: another
        merchant's reads as a merchant that does not exist."""
        if self.kind is not UserKind.MERCHANT or self.merchant_id is None:
            raise Forbidden("only a merchant's account may do this")
        if merchant_id is not None and merchant_id != self.merchant_id:
            raise MerchantNotFound(f"no merchant {merchant_id}", merchant_id=merchant_id)
        if owner and self.role != MerchantRole.OWNER:
            raise Forbidden("only the merchant's owner may do this")
        return self.merchant_id

    def is_official_of(self, region_id: int) -> bool:
        """An official of the region (any role), or the platform operator."""
        if self.kind is UserKind.OPERATOR:
            return True
        return self.kind is UserKind.OFFICIAL and self.region_id == region_id

    def official(
        self,
        region_id: int,
        *,
        at_least: OfficialRole = OfficialRole.VIEWER,
        missing: NotFound | None = None,
    ) -> None:
        """Officials act in their own region only; the operator acts everywhere.

        Another region reads as one that does not exist. For a thing looked up first (an
        alert, a program), ``missing`` is the error the lookup raises for an id that does not
        exist, and anyone but the region's officials gets it: the answer must not tell an
        existing thing from a missing one. Too low a role in one's own region is a 403, which
        says nothing of what exists."""
        if not self.is_official_of(region_id):
            if missing is not None:
                raise missing
            if self.kind is not UserKind.OFFICIAL:
                raise Forbidden("only an official of this region may do this")
            raise RegionNotFound(f"no region {region_id}", region_id=region_id)
        if self.kind is UserKind.OPERATOR:
            return
        if OFFICIAL_RANK[OfficialRole(self.role or OfficialRole.VIEWER)] < OFFICIAL_RANK[at_least]:
            raise Forbidden(f"this needs the {at_least.value} role or higher")

    def operator(self) -> None:
        if self.kind is not UserKind.OPERATOR:
            raise Forbidden("only the platform operator may do this")

    def partner(self, scope: PartnerScope) -> int:
        if self.kind is not UserKind.PARTNER or self.partner_id is None:
            raise Forbidden("only a partner app may do this")
        if scope.value not in self.scopes:
            raise Forbidden(f"this API key is not scoped for {scope.value}")
        return self.partner_id
