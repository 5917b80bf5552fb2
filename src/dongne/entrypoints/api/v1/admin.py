"""Administration: regions (operator), officials, merchants, partners and budgets (officials).

Who may do what is asked of the caller's ``Principal``: the platform operator creates regions
and their first officials; a region's officials (operator role or higher) run its merchants
and partners; approvers fund its discount budget; a merchant's owner adds staff.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from dongne.domain.access import MerchantRole, OfficialRole, PartnerScope, UserKind
from dongne.domain.merchants import MerchantStatus
from dongne.domain.places import place_or_none
from dongne.entrypoints.api.deps import AppDep, CallerDep, KeyDep, now
from dongne.entrypoints.api.fields import Month, NewPassword, PositiveWon, RequestModel, Won
from dongne.entrypoints.api.pagination import Page, PageDep, page_of, rendered_as
from dongne.entrypoints.api.v1.problems import PROBLEMS
from dongne.services import accounts, merchant_locations, registry, resources
from dongne.services.idempotency import caller_scope, scoped_key
from dongne.services.onboarding import register_merchant_with_owner

router = APIRouter(tags=["administration"])

RegionId = Path(description="The region's id", ge=1)
MerchantId = Path(description="The merchant's id", ge=1)


class NewRegion(RequestModel):
    code: str = Field(max_length=40, examples=["siheung"], description="lowercase, 2-40 chars")
    name: str = Field(max_length=200, examples=["시흥시"])


class RegionOut(BaseModel):
    id: int
    code: str
    name: str


class NewOfficial(RequestModel):
    login: str = Field(min_length=1, max_length=100)
    password: NewPassword
    role: OfficialRole = Field(examples=["operator"])


class OfficialCreated(BaseModel):
    user_id: int
    login: str
    role: OfficialRole
    totp_secret: str = Field(description="Shown this once: load it into an authenticator app")
    otpauth_uri: str = Field(description="The same secret as an otpauth:// URI (for a QR code)")


class NewMerchant(RequestModel):
    name: str = Field(min_length=1, max_length=200, examples=["시루베이커리"])
    name_latin: str | None = Field(
        default=None,
        max_length=25,
        examples=["Siru Bakery"],
        description="The name in Latin letters its QR code shows; default: the name romanized",
    )
    business_number: str = Field(
        max_length=12, examples=["123-45-67891"], description="사업자등록번호, check digit valid"
    )
    category: str = Field(max_length=40, examples=["bakery"])
    annual_revenue_won: Won = Field(examples=[120_000_000])
    owner_login: str = Field(min_length=1, max_length=100)
    owner_password: NewPassword


class MerchantOut(BaseModel):
    id: int
    region_id: int
    name: str
    name_latin: str | None
    business_number: str
    category: str
    annual_revenue_won: int
    status: MerchantStatus
    created_at: datetime
    latitude: float | None = Field(default=None, description="On the directory's map (WGS 84)")
    longitude: float | None = None


class MerchantCreated(BaseModel):
    merchant: MerchantOut
    owner_user_id: int


class NewStatus(RequestModel):
    status: MerchantStatus


class NewLocation(RequestModel):
    latitude: float | None = Field(
        default=None, ge=-90, le=90, allow_inf_nan=False, examples=[37.38]
    )
    longitude: float | None = Field(
        default=None,
        ge=-180,
        le=180,
        allow_inf_nan=False,
        examples=[126.8029],
        description="Both null (or left out): take the merchant off the directory's map",
    )


class NewStaff(RequestModel):
    login: str = Field(min_length=1, max_length=100)
    password: NewPassword


class UserCreated(BaseModel):
    user_id: int
    login: str


class NewPartner(RequestModel):
    name: str = Field(min_length=1, max_length=200, examples=["배달특급"])
    scopes: list[PartnerScope] = Field(min_length=1, examples=[["payment_intents"]])
    webhook_url: str | None = Field(default=None, max_length=500)


class PartnerCreated(BaseModel):
    partner_id: int
    api_key: str = Field(description="Shown this once; send it as 'Authorization: Bearer <key>'")
    webhook_secret: str = Field(description="Verify our webhooks' HMAC signatures with it")


class NewFunding(RequestModel):
    amount_won: PositiveWon = Field(examples=[50_000_000])
    month: Month | None = Field(default=None, description="This Seoul month if absent")


class FundingOut(BaseModel):
    transaction_id: int
    region_id: int
    month: str
    amount_won: int
    budget_balance_won: int


def _merchant_out(row: Any) -> MerchantOut:
    return MerchantOut.model_validate(row, from_attributes=True)


@router.post("/regions", status_code=201, response_model=RegionOut, responses=PROBLEMS)
def create_region(body: NewRegion, app: AppDep, caller: CallerDep) -> RegionOut:
    """Create a region (platform operator only)."""
    caller.operator()
    region_id = registry.create_region(
        app.unit_of_work(), code=body.code, name=body.name, now=now()
    )
    return RegionOut(id=region_id, code=body.code, name=body.name.strip())


@router.get("/regions", response_model=Page[RegionOut], responses=PROBLEMS)
def list_regions(app: AppDep, caller: CallerDep, page: PageDep) -> Page[RegionOut]:
    """Every region, oldest first (platform operator only)."""
    caller.operator()
    rows = resources.regions_page(app.reader(), after_id=page.after_id, fetch=page.fetch)
    return page_of(rows, page, id_of=lambda row: row.id, render=rendered_as(RegionOut))


@router.post(
    "/regions/{region_id}/officials",
    status_code=201,
    response_model=OfficialCreated,
    responses=PROBLEMS,
)
def create_official(
    body: NewOfficial, app: AppDep, caller: CallerDep, region_id: int = RegionId
) -> OfficialCreated:
    """Create an official of the region (platform operator only); the TOTP secret is shown once."""
    caller.operator()
    credential = accounts.create_staff_user(
        app.unit_of_work(),
        app.secrets,
        kind=UserKind.OFFICIAL,
        login=body.login,
        password=body.password,
        role=body.role.value,
        region_id=region_id,
        merchant_id=None,
        now=now(),
    )
    uri = accounts.totp_provisioning_uri(credential.secret, body.login)
    return OfficialCreated(
        user_id=credential.id,
        login=body.login,
        role=body.role,
        totp_secret=credential.secret,
        otpauth_uri=uri,
    )


@router.post(
    "/regions/{region_id}/merchants",
    status_code=201,
    response_model=MerchantCreated,
    responses=PROBLEMS,
)
def register_merchant(
    body: NewMerchant, app: AppDep, caller: CallerDep, region_id: int = RegionId
) -> MerchantCreated:
    """Register a merchant with its owner's login (officials, operator role or higher)."""
    caller.official(region_id, at_least=OfficialRole.OPERATOR)
    onboarded = register_merchant_with_owner(
        app.unit_of_work(),
        app.secrets,
        region_id=region_id,
        name=body.name,
        business_number=body.business_number,
        category=body.category,
        annual_revenue_won=body.annual_revenue_won,
        owner_login=body.owner_login,
        owner_password=body.owner_password,
        now=now(),
        name_latin=body.name_latin,
    )
    merchant = resources.merchant_row(app.reader(), onboarded.merchant_id)
    return MerchantCreated(merchant=_merchant_out(merchant), owner_user_id=onboarded.owner_user_id)


@router.get("/regions/{region_id}/merchants", response_model=Page[MerchantOut], responses=PROBLEMS)
def list_merchants(
    app: AppDep, caller: CallerDep, page: PageDep, region_id: int = RegionId
) -> Page[MerchantOut]:
    """The region's merchants, oldest first (the region's officials)."""
    caller.official(region_id)
    rows = resources.merchants_page(
        app.reader(), region_id, after_id=page.after_id, fetch=page.fetch
    )
    return page_of(rows, page, id_of=lambda row: row.id, render=_merchant_out)


@router.post("/merchants/{merchant_id}/status", response_model=MerchantOut, responses=PROBLEMS)
def set_merchant_status(
    body: NewStatus, app: AppDep, caller: CallerDep, merchant_id: int = MerchantId
) -> MerchantOut:
    """Suspend, close, reactivate or cancel a merchant (officials of its region, operator+)."""
    resources.merchant_region_for_officials(
        app.reader(), caller, merchant_id, at_least=OfficialRole.OPERATOR
    )
    registry.set_merchant_status(
        app.unit_of_work(), merchant_id=merchant_id, status=body.status, now=now()
    )
    return _merchant_out(resources.merchant_row(app.reader(), merchant_id))


@router.put("/merchants/{merchant_id}/location", response_model=MerchantOut, responses=PROBLEMS)
def set_merchant_location(
    body: NewLocation, app: AppDep, caller: CallerDep, merchant_id: int = MerchantId
) -> MerchantOut:
    """Put a merchant on the public directory's map, or take it off (officials of its region,
    operator+); the console's place page does the same."""
    merchant_locations.place_merchant(
        app.unit_of_work(),
        caller,
        merchant_id=merchant_id,
        location=place_or_none(body.latitude, body.longitude),
    )
    return _merchant_out(resources.merchant_row(app.reader(), merchant_id))


@router.post(
    "/merchants/{merchant_id}/staff",
    status_code=201,
    response_model=UserCreated,
    responses=PROBLEMS,
)
def add_staff(
    body: NewStaff, app: AppDep, caller: CallerDep, merchant_id: int = MerchantId
) -> UserCreated:
    """Give a staff member a login that takes payments (the merchant's owner only)."""
    caller.merchant(merchant_id, owner=True)
    credential = accounts.create_staff_user(
        app.unit_of_work(),
        app.secrets,
        kind=UserKind.MERCHANT,
        login=body.login,
        password=body.password,
        role=MerchantRole.STAFF.value,
        region_id=None,
        merchant_id=merchant_id,
        now=now(),
    )
    return UserCreated(user_id=credential.id, login=body.login)


@router.post(
    "/regions/{region_id}/partners",
    status_code=201,
    response_model=PartnerCreated,
    responses=PROBLEMS,
)
def create_partner(
    body: NewPartner, app: AppDep, caller: CallerDep, region_id: int = RegionId
) -> PartnerCreated:
    """Register a partner app; its API key and webhook secret are shown this once."""
    caller.official(region_id, at_least=OfficialRole.OPERATOR)
    credential = accounts.create_partner(
        app.unit_of_work(),
        region_id=region_id,
        name=body.name,
        scopes=[scope.value for scope in body.scopes],
        webhook_url=body.webhook_url,
        allow_private_webhook_addresses=app.settings.allow_private_webhook_addresses,
        now=now(),
        created_by_user_id=caller.user_id,
    )
    return PartnerCreated(
        partner_id=credential.id,
        api_key=credential.secret,
        webhook_secret=resources.partner_webhook_secret(app.reader(), credential.id),
    )


@router.post(
    "/regions/{region_id}/budget", status_code=201, response_model=FundingOut, responses=PROBLEMS
)
def fund_budget(
    body: NewFunding, app: AppDep, caller: CallerDep, key: KeyDep, region_id: int = RegionId
) -> FundingOut:
    """Put city money into a month's discount budget (approvers; Idempotency-Key required)."""
    caller.official(region_id, at_least=OfficialRole.APPROVER)
    funded = registry.fund_discount_budget(
        app.unit_of_work(),
        region_id=region_id,
        amount_won=body.amount_won,
        month=body.month,
        idempotency_key=scoped_key("budget", caller_scope(caller), key),
        now=now(),
        by_user_id=caller.user_id,
    )
    return FundingOut(**vars(funded))
