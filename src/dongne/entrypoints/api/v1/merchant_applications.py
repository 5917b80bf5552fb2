"""Merchant onboarding over HTTP: a merchant applies; a region's official approves, rejects,
suspends or reinstates.

Anyone may apply (no account needed: the application is checked, then waits for an official).
Only the region's officials (operator role or higher) decide, and read what came in; an
application of another region is reported as not found.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from dongne.domain.access import OfficialRole, Principal
from dongne.domain.merchant_applications import ApplicationStatus, MerchantApplicationNotFound
from dongne.domain.merchants import MerchantStatus
from dongne.entrypoints.api.deps import AppDep, CallerDep, now
from dongne.entrypoints.api.fields import NewPassword, RequestModel, Won
from dongne.entrypoints.api.pagination import Page, PageDep, page_of
from dongne.entrypoints.api.v1.problems import PROBLEMS
from dongne.services import merchant_applications, resources
from dongne.services.ports import Application, ApplicationRow
from dongne.services.resources import is_official_of
from dongne.services.unit_of_work import UnitOfWork

router = APIRouter(tags=["merchant onboarding"])

RegionId = Path(description="The region's id", ge=1)
ApplicationId = Path(description="The application's id", ge=1)
MerchantId = Path(description="The merchant's id", ge=1)


class NewApplication(RequestModel):
    name: str = Field(min_length=1, max_length=200, examples=["시루베이커리"])
    business_number: str = Field(
        max_length=12, examples=["220-81-62517"], description="사업자등록번호, check digit valid"
    )
    category: str = Field(max_length=40, examples=["bakery"])
    annual_revenue_won: Won = Field(examples=[120_000_000])
    address: str = Field(min_length=1, max_length=300, examples=["경기도 시흥시 시청로 20"])
    phone: str | None = Field(default=None, max_length=20, examples=["031-310-2114"])
    bank_code: str = Field(max_length=3, examples=["004"], description="The bank's 3 digits")
    bank_account_number: str = Field(max_length=30, examples=["123-456-789012"])
    bank_account_holder: str = Field(min_length=1, max_length=100, examples=["김동네"])
    owner_login: str | None = Field(
        default=None, max_length=100, description="A login for the owner, made on approval"
    )
    owner_password: NewPassword | None = Field(default=None, description="With owner_login")


class ApplicationReceived(BaseModel):
    id: int
    region_id: int
    status: ApplicationStatus


class Approved(BaseModel):
    application_id: int
    merchant_id: int
    owner_user_id: int | None


class Rejection(RequestModel):
    reason: str = Field(max_length=500, examples=["사업장 소재지가 관외입니다"])


class MerchantStatusOut(BaseModel):
    merchant_id: int
    status: MerchantStatus


def _application_to_decide(uow: UnitOfWork, caller: Principal, application_id: int) -> int:
    """The application's id once the caller is known to be an official (operator+) of its
    region; another region's application is not found."""
    found = merchant_applications.application(uow, application_id=application_id)
    if not is_official_of(caller, found.region_id):
        raise MerchantApplicationNotFound(
            f"no merchant application {application_id}", application_id=application_id
        )
    caller.official(found.region_id, at_least=OfficialRole.OPERATOR)
    return found.id


@router.post(
    "/regions/{region_id}/merchant_applications",
    status_code=201,
    response_model=ApplicationReceived,
    responses=PROBLEMS,
)
def apply(body: NewApplication, app: AppDep, region_id: int = RegionId) -> ApplicationReceived:
    """Apply to become a merchant of the region (anyone; no account needed)."""
    application_id = merchant_applications.apply_for_merchant(
        app.unit_of_work(),
        app.secrets,
        region_id=region_id,
        now=now(),
        **body.model_dump(),
    )
    return ApplicationReceived(
        id=application_id, region_id=region_id, status=ApplicationStatus.PENDING
    )


@router.get(
    "/regions/{region_id}/merchant_applications",
    response_model=Page[Application],
    responses=PROBLEMS,
)
def list_applications(
    app: AppDep,
    caller: CallerDep,
    page: PageDep,
    status: Annotated[ApplicationStatus | None, Query(description="Only these")] = None,
    region_id: int = RegionId,
) -> Page[Application]:
    """The region's applications, oldest first (the region's officials)."""
    caller.official(region_id)
    rows = merchant_applications.applications(
        app.reader(), region_id=region_id, status=status, after_id=page.after_id, fetch=page.fetch
    )
    return page_of(rows, page, id_of=lambda row: row.id, render=ApplicationRow.shown)


@router.get(
    "/merchant_applications/{application_id}", response_model=Application, responses=PROBLEMS
)
def read_application(
    app: AppDep, caller: CallerDep, application_id: int = ApplicationId
) -> Application:
    """One application (officials of its region)."""
    found = merchant_applications.application(app.reader(), application_id=application_id)
    if not is_official_of(caller, found.region_id):
        raise MerchantApplicationNotFound(
            f"no merchant application {application_id}", application_id=application_id
        )
    return found.shown()


@router.post(
    "/merchant_applications/{application_id}/approve",
    response_model=Approved,
    responses=PROBLEMS,
)
def approve(app: AppDep, caller: CallerDep, application_id: int = ApplicationId) -> Approved:
    """Approve: the merchant is registered, active, with its bank account and owner login
    (officials of its region, operator role or higher)."""
    _application_to_decide(app.reader(), caller, application_id)
    approval = merchant_applications.approve_application(
        app.unit_of_work(),
        application_id=application_id,
        decided_by_user_id=caller.user_id,
        now=now(),
    )
    return Approved(**vars(approval))


@router.post(
    "/merchant_applications/{application_id}/reject",
    response_model=Application,
    responses=PROBLEMS,
)
def reject(
    body: Rejection, app: AppDep, caller: CallerDep, application_id: int = ApplicationId
) -> Application:
    """Reject, saying why (officials of its region, operator role or higher)."""
    _application_to_decide(app.reader(), caller, application_id)
    merchant_applications.reject_application(
        app.unit_of_work(),
        application_id=application_id,
        reason=body.reason,
        decided_by_user_id=caller.user_id,
        now=now(),
    )
    return merchant_applications.application(app.reader(), application_id=application_id).shown()


@router.post(
    "/merchants/{merchant_id}/suspend", response_model=MerchantStatusOut, responses=PROBLEMS
)
def suspend(app: AppDep, caller: CallerDep, merchant_id: int = MerchantId) -> MerchantStatusOut:
    """Suspend an active merchant: it takes no payments until reinstated (officials of its
    region, operator role or higher)."""
    resources.merchant_region_for_officials(
        app.reader(), caller, merchant_id, at_least=OfficialRole.OPERATOR
    )
    status = merchant_applications.suspend_merchant(
        app.unit_of_work(), merchant_id=merchant_id, now=now()
    )
    return MerchantStatusOut(merchant_id=merchant_id, status=status)


@router.post(
    "/merchants/{merchant_id}/reinstate", response_model=MerchantStatusOut, responses=PROBLEMS
)
def reinstate(app: AppDep, caller: CallerDep, merchant_id: int = MerchantId) -> MerchantStatusOut:
    """Reinstate a suspended merchant (officials of its region, operator role or higher)."""
    resources.merchant_region_for_officials(
        app.reader(), caller, merchant_id, at_least=OfficialRole.OPERATOR
    )
    status = merchant_applications.reinstate_merchant(
        app.unit_of_work(), merchant_id=merchant_id, now=now()
    )
    return MerchantStatusOut(merchant_id=merchant_id, status=status)
