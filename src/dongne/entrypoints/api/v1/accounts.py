"""Accounts: citizens sign up, everyone logs in and out, citizens set their payment PIN."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from dongne.entrypoints.api.deps import AppDep, CallerDep, KeyDep, TokenDep, now
from dongne.entrypoints.api.fields import NewPassword, Pin, RequestModel
from dongne.entrypoints.api.v1.problems import PROBLEMS
from dongne.services import accounts, authentication
from dongne.services.idempotency import scoped_key

router = APIRouter(tags=["accounts"])


class SignUp(RequestModel):
    phone: str = Field(max_length=20, examples=["010-1234-5678"])
    password: NewPassword
    name: str = Field(min_length=1, max_length=100)
    region_code: str = Field(min_length=1, max_length=40, examples=["siheung"])
    identity_number: str | None = Field(
        default=None,
        max_length=100,
        description="National identity number or CI; stored only as a keyed hash",
    )


class SignedUp(BaseModel):
    user_id: int
    citizen_id: int
    wallet_id: int


class LogIn(RequestModel):
    login: str = Field(min_length=1, max_length=100, description="A citizen's phone number")
    password: str = Field(min_length=1, max_length=200)
    totp: str | None = Field(default=None, max_length=10, description="Officials only")


class SessionOut(BaseModel):
    token: str
    expires_at: datetime
    kind: str


class Me(BaseModel):
    kind: str
    user_id: int | None
    region_id: int | None
    citizen_id: int | None
    merchant_id: int | None
    role: str | None
    partner_id: int | None


class NewPin(RequestModel):
    password: str = Field(min_length=1, max_length=200)
    pin: Pin


@router.post("/citizens", status_code=201, response_model=SignedUp, responses=PROBLEMS)
def sign_up(body: SignUp, app: AppDep, key: KeyDep) -> SignedUp:
    """Sign up as a citizen; opens a wallet in the region."""
    uow = app.unit_of_work()
    with app.reader() as reader:
        region_id = reader.records.region_by_code(body.region_code).id
    signed_up = accounts.sign_up_citizen(
        uow,
        app.secrets,
        phone=body.phone,
        password=body.password,
        name=body.name,
        region_id=region_id,
        identity_number=body.identity_number,
        idempotency_key=scoped_key("sign-up", None, key),
        now=now(),
    )
    return SignedUp(**vars(signed_up))


@router.post("/sessions", status_code=201, response_model=SessionOut, responses=PROBLEMS)
def log_in(body: LogIn, app: AppDep) -> SessionOut:
    """Log in; the bearer token expires after the configured lifetime."""
    session = authentication.log_in(
        app.unit_of_work(),
        app.secrets,
        login=body.login,
        password=body.password,
        totp_code=body.totp,
        lifetime=timedelta(minutes=app.settings.access_token_minutes),
        now=now(),
        throttle=authentication.login_throttle_of(app.settings),
    )
    return SessionOut(
        token=session.token, expires_at=session.expires_at, kind=session.principal.kind.value
    )


@router.delete("/sessions/current", status_code=204, responses=PROBLEMS)
def log_out(app: AppDep, token: TokenDep, caller: CallerDep) -> Response:
    """Revoke the token this request carries."""
    authentication.log_out(app.unit_of_work(), token=token, now=now())
    return Response(status_code=204)


@router.get("/me", response_model=Me, responses=PROBLEMS)
def me(caller: CallerDep) -> Me:
    """Who the token belongs to."""
    return Me(
        kind=caller.kind.value,
        user_id=caller.user_id,
        region_id=caller.region_id,
        citizen_id=caller.citizen_id,
        merchant_id=caller.merchant_id,
        role=caller.role,
        partner_id=caller.partner_id,
    )


@router.put("/me/pin", status_code=204, responses=PROBLEMS)
def set_pin(body: NewPin, app: AppDep, caller: CallerDep) -> Response:
    """Set or reset the 6-digit payment PIN (the password proves it is you; unlocks payments)."""
    caller.citizen()
    assert caller.user_id is not None  # noqa: S101 - every citizen principal has a user
    accounts.set_pin(
        app.unit_of_work(),
        app.secrets,
        user_id=caller.user_id,
        password=body.password,
        pin=body.pin,
    )
    return Response(status_code=204)
