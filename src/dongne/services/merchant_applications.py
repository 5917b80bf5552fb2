"""Merchant onboarding: a business applies, a region's official approves or rejects it, and
officials suspend and reinstate merchants.

Approval locks the application's row before anything else, so two officials approving at once
register one merchant, not two: the second waits, then finds the application decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dongne.adapters.db.merchant_application_records import (
    ApplicationRow,
)
from dongne.adapters.secrets import Secrets
from dongne.domain.access import MerchantRole, UserKind
from dongne.domain.approvals import ApprovalKind
from dongne.domain.calendar import require_aware
from dongne.domain.errors import AlreadyExists, InvalidInput
from dongne.domain.merchant_applications import (
    ApplicationStatus,
    MerchantApplicationForm,
    MerchantApplicationPending,
    MerchantStatusChangeNotAllowed,
    check_application,
    check_rejection_reason,
    check_status_change,
    check_undecided,
)
from dongne.domain.merchants import MerchantStatus, check_may_register
from dongne.services import accounts, registry
from dongne.services.approval_gate import refuse_without_second_approver
from dongne.services.authentication import MAX_LOGIN_LENGTH
from dongne.services.ports import MerchantApplicationStore
from dongne.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class OwnerLogin:
    """The login an application asks for its owner, its password already hashed."""

    login: str
    password_hash: str


@dataclass(frozen=True)
class Approval:
    application_id: int
    merchant_id: int
    owner_user_id: int | None


def apply_for_merchant(
    uow: UnitOfWork,
    secrets: Secrets,
    *,
    region_id: int,
    name: str,
    business_number: str,
    category: str,
    annual_revenue_won: int,
    address: str,
    phone: str | None,
    bank_code: str,
    bank_account_number: str,
    bank_account_holder: str,
    owner_login: str | None = None,
    owner_password: str | None = None,
    now: datetime,
) -> int:
    """Take a business's application to the region; returns its id. Refused at once when a
    field is malformed, the business is already registered here, still banned for fraud, or
    has an application waiting. The owner's password (if a login is asked for) is hashed
    before the transaction opens and kept only until the decision."""
    now = require_aware(now)
    form = check_application(
        name=name,
        business_number=business_number,
        category=category,
        annual_revenue_won=annual_revenue_won,
        address=address,
        phone=phone,
        bank_code=bank_code,
        bank_account_number=bank_account_number,
        bank_account_holder=bank_account_holder,
    )
    owner = _owner_login(secrets, owner_login, owner_password)
    with uow:
        uow.records.region(region_id)
        records = uow.merchant_applications
        _check_may_apply(uow, records, region_id, form, now)
        if owner is not None and uow.access.user_by_login(owner.login) is not None:
            raise AlreadyExists(f"the login {owner.login!r} is taken", field="owner_login")
        application_id = records.add_application(
            region_id,
            form,
            owner_login=owner.login if owner else None,
            owner_password_hash=owner.password_hash if owner else None,
            at=now,
        )
        uow.commit()
    return application_id


def application(uow: UnitOfWork, *, application_id: int) -> ApplicationRow:
    with uow:
        return uow.merchant_applications.application(application_id)


def applications(
    uow: UnitOfWork,
    *,
    region_id: int,
    status: ApplicationStatus | None = None,
    after_id: int | None = None,
    fetch: int = 100,
) -> list[ApplicationRow]:
    """The region's applications, oldest first (only those in ``status``, if given)."""
    with uow:
        return uow.merchant_applications.applications(
            region_id, status=status, after_id=after_id, fetch=fetch
        )


def approve_application(
    uow: UnitOfWork, *, application_id: int, decided_by_user_id: int | None, now: datetime
) -> Approval:
    """Register the applicant as an active merchant with its address and bank account, and
    its owner's login if the application asked for one: all of it or, on any refusal (a
    business registered or banned since it applied, a login taken since), none of it."""
    now = require_aware(now)
    with uow:
        records = uow.merchant_applications
        found = records.application(application_id, lock=True)
        check_undecided(found.id, found.status)
        form = _form_of(found)
        merchant_id = registry.register_merchant_within(
            uow,
            region_id=found.region_id,
            name=form.name,
            business_number=form.business_number,
            category=form.category,
            annual_revenue_won=form.annual_revenue_won,
            now=now,
        )
        records.set_merchant_details(merchant_id, form)
        owner_user_id = None
        if found.owner_login is not None and found.owner_password_hash is not None:
            draft = accounts.StaffUserDraft(
                UserKind.MERCHANT, MerchantRole.OWNER.value, found.owner_password_hash, None
            )
            owner_user_id = accounts.create_staff_user_within(
                uow,
                draft,
                login=found.owner_login,
                region_id=None,
                merchant_id=merchant_id,
                now=now,
            ).id
        records.decide(
            found.id,
            ApplicationStatus.APPROVED,
            user_id=decided_by_user_id,
            at=now,
            merchant_id=merchant_id,
        )
        uow.commit()
    return Approval(found.id, merchant_id, owner_user_id)


def reject_application(
    uow: UnitOfWork,
    *,
    application_id: int,
    reason: str,
    decided_by_user_id: int | None,
    now: datetime,
) -> None:
    """Turn the application down, saying why; the business may apply again."""
    now = require_aware(now)
    reason = check_rejection_reason(reason)
    with uow:
        records = uow.merchant_applications
        found = records.application(application_id, lock=True)
        check_undecided(found.id, found.status)
        records.decide(
            found.id,
            ApplicationStatus.REJECTED,
            user_id=decided_by_user_id,
            at=now,
            rejection_reason=reason,
        )
        uow.commit()


def suspend_merchant(uow: UnitOfWork, *, merchant_id: int, now: datetime) -> MerchantStatus:
    """Stop an active merchant from taking payments until it is reinstated."""
    return _change_status(uow, merchant_id, "suspend", now)


def reinstate_merchant(uow: UnitOfWork, *, merchant_id: int, now: datetime) -> MerchantStatus:
    """Let a suspended merchant take payments again."""
    return _change_status(uow, merchant_id, "reinstate", now)


def suspend_merchant_within(uow: UnitOfWork, *, merchant_id: int, now: datetime) -> MerchantStatus:
    """Suspend inside the caller's open unit of work (an approved request's)."""
    merchant = uow.records.merchant(merchant_id).merchant
    after = check_status_change(merchant_id, merchant.status, "suspend")
    if not uow.merchant_applications.change_merchant_status(
        merchant_id, merchant.status, after, now
    ):
        raise MerchantStatusChangeNotAllowed(
            f"merchant {merchant_id} changed status meanwhile", merchant_id=merchant_id
        )
    return after


def _change_status(uow: UnitOfWork, merchant_id: int, action: str, now: datetime) -> MerchantStatus:
    now = require_aware(now)
    with uow:
        merchant = uow.records.merchant(merchant_id).merchant
        after = check_status_change(merchant_id, merchant.status, action)
        if action == "suspend":
            kind = ApprovalKind.MERCHANT_SUSPENSION
            refuse_without_second_approver(uow, merchant.region_id, kind)
        records = uow.merchant_applications
        if not records.change_merchant_status(merchant_id, merchant.status, after, now):
            # Its status changed between the read and the update: report what it is now.
            current = uow.records.merchant(merchant_id).merchant
            check_status_change(merchant_id, current.status, action)
            raise MerchantStatusChangeNotAllowed(
                f"merchant {merchant_id} changed status meanwhile", merchant_id=merchant_id
            )
        uow.commit()
    return after


def _check_may_apply(
    uow: UnitOfWork,
    records: MerchantApplicationStore,
    region_id: int,
    form: MerchantApplicationForm,
    now: datetime,
) -> None:
    registrations = uow.records.registrations(region_id, form.business_number)
    fraud = [at for status, at in registrations if status is MerchantStatus.CANCELLED_FOR_FRAUD]
    check_may_register(form.business_number, fraud, now)
    if any(status is not MerchantStatus.CANCELLED_FOR_FRAUD for status, _ in registrations):
        raise AlreadyExists(
            f"business {form.business_number} is already registered in this region",
            business_number=form.business_number,
        )
    if records.has_pending(region_id, form.business_number):
        raise MerchantApplicationPending(
            f"business {form.business_number} already has an application waiting here",
            business_number=form.business_number,
        )


def _owner_login(secrets: Secrets, login: str | None, password: str | None) -> OwnerLogin | None:
    if login is None and password is None:
        return None
    if login is None or password is None or not login.strip():
        raise InvalidInput("an owner login comes with its password", field="owner_login")
    login = login.strip()
    if len(login) > MAX_LOGIN_LENGTH:
        raise InvalidInput(
            f"a login has at most {MAX_LOGIN_LENGTH} characters", field="owner_login"
        )
    draft = accounts.draft_staff_user(
        secrets, kind=UserKind.MERCHANT, password=password, role=MerchantRole.OWNER.value
    )
    return OwnerLogin(login, draft.password_hash)


def _form_of(found: ApplicationRow) -> MerchantApplicationForm:
    return check_application(
        name=found.name,
        business_number=found.business_number,
        category=found.category,
        annual_revenue_won=found.annual_revenue_won,
        address=found.address,
        phone=found.phone,
        bank_code=found.bank_code,
        bank_account_number=found.bank_account_number,
        bank_account_holder=found.bank_account_holder,
    )
