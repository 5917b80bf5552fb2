"""Authentication: proving who is acting. Log-in and log-out, bearer tokens and partner API
keys, the log-in throttle, and the payment PIN checked before a payment.

A bearer token is a random value shown once; its SHA-256 is stored with an expiry and can be
revoked. Officials log in with a TOTP code as well as their password. The payment PIN is
checked under the user's row lock, so parallel guesses cannot get more than the allowed tries.
Creating the accounts, and setting the PIN, is in ``accounts``.
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
    PinIncorrect,
    PinLocked,
    PinNotSet,
    Principal,
    Unauthenticated,
    UserKind,
    check_pin_format,
)
from dongne.domain.calendar import require_aware
from dongne.domain.login_throttle import LoginThrottlePolicy, after_failure, check_may_try
from dongne.domain.people import is_mobile_phone, normalize_phone
from dongne.services.idempotency import (
    CommitThenRefuse,
    CommitThenRunAgain,
    run_in_transaction,
)
from dongne.services.unit_of_work import UnitOfWork

DEFAULT_LOGIN_THROTTLE = LoginThrottlePolicy()
MAX_LOGIN_LENGTH = 100
"""As long as the users table keeps a login; a longer one cannot be anyone's."""


@dataclass(frozen=True)
class Session:
    token: str
    expires_at: datetime
    principal: Principal


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


PARTNER_KEY_PREFIX = "dgk_"
"""How a partner's API key starts (``accounts.create_partner``); a user's token does not."""


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
    if token.startswith(PARTNER_KEY_PREFIX):
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
    return authenticated_user(user)


def authenticated_user(user: UserRow | None) -> Authenticated:
    """The caller whose user's token was read as live (``user``), as ``authenticate_within``
    tells it: for a read that fetched the token's user with something else."""
    if user is None:
        raise Unauthenticated("the token is unknown, expired or revoked")
    return Authenticated(principal_of(user), user)


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
