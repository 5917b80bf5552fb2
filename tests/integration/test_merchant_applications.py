"""Merchant onboarding on SQLite and PostgreSQL: a business applies, an official approves or
rejects it, suspends and reinstates the merchant, and payments follow the merchant's status,
category and revenue."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from dongne.adapters.db.tables import merchants
from dongne.adapters.secrets import Secrets
from dongne.config import Settings
from dongne.domain.access import UserKind
from dongne.domain.errors import (
    AlreadyExists,
    InvalidBusinessNumber,
    InvalidInput,
    MerchantBanned,
    MerchantNotEligible,
)
from dongne.domain.merchant_applications import (
    ApplicationStatus,
    InvalidBankAccount,
    MerchantApplicationDecided,
    MerchantApplicationNotFound,
    MerchantApplicationPending,
    MerchantStatusChangeNotAllowed,
    RejectionReasonRequired,
)
from dongne.domain.merchants import MerchantStatus
from dongne.services import (
    accounts,
    authentication,
    merchant_applications,
    payments,
    purchases,
    registry,
)
from dongne.services.results import PaymentResult
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, business_number, unique_key

PASSWORD = "correct horse battery"  # noqa: S105 - a test password
SECRETS = Secrets.from_settings(Settings())


def apply(world: World, **changes: Any) -> int:
    fields: dict[str, Any] = {
        "region_id": world.region_id,
        "name": "동네빵집",
        "business_number": business_number(uuid.uuid4().int % 10**9),
        "category": "bakery",
        "annual_revenue_won": 100_000_000,
        "address": "경기도 시흥시 시청로 20",
        "phone": "031-310-2114",
        "bank_code": "004",
        "bank_account_number": "123-456-789012",
        "bank_account_holder": "김동네",
        "now": world.now,
    }
    return merchant_applications.apply_for_merchant(world.uow, SECRETS, **(fields | changes))


def approve(world: World, application_id: int) -> merchant_applications.Approval:
    return merchant_applications.approve_application(
        world.uow, application_id=application_id, decided_by_user_id=None, now=world.now
    )


def status_of(world: World, application_id: int) -> ApplicationStatus:
    found = merchant_applications.application(world.uow, application_id=application_id)
    return found.status


def test_an_approved_application_becomes_an_active_merchant_with_its_bank_account(
    world: World,
) -> None:
    application_id = apply(world, business_number="220-81-62517")
    approval = approve(world, application_id)
    with world.uow:
        row = world.uow.connection.execute(
            select(merchants).where(merchants.c.id == approval.merchant_id)
        ).one()
    assert (row.status, row.business_number, row.category) == ("active", "2208162517", "bakery")
    assert (row.address, row.phone) == ("경기도 시흥시 시청로 20", "0313102114")
    assert (row.bank_code, row.bank_account_number, row.bank_account_holder) == (
        "004",
        "123456789012",
        "김동네",
    )
    decided = merchant_applications.application(world.uow, application_id=application_id)
    assert (decided.status, decided.merchant_id) == (ApplicationStatus.APPROVED, row.id)
    assert approval.owner_user_id is None


def test_an_application_with_an_owner_login_gets_it_on_approval(world: World) -> None:
    login = f"owner-{uuid.uuid4().hex[:8]}"
    application_id = apply(world, owner_login=login, owner_password=PASSWORD)
    with world.uow:
        assert world.uow.access.user_by_login(login) is None
    approval = approve(world, application_id)
    session = authentication.log_in(
        world.uow,
        SECRETS,
        login=login,
        password=PASSWORD,
        totp_code=None,
        lifetime=timedelta(hours=1),
        now=world.now,
    )
    principal = authentication.authenticate(world.uow, token=session.token, now=world.now)
    assert (principal.merchant_id, principal.role) == (approval.merchant_id, "owner")
    found = merchant_applications.application(world.uow, application_id=application_id)
    assert found.owner_password_hash is None


def test_a_login_taken_before_approval_refuses_the_whole_approval(world: World) -> None:
    login = f"owner-{uuid.uuid4().hex[:8]}"
    digits = business_number(uuid.uuid4().int % 10**9)
    application_id = apply(
        world, business_number=digits, owner_login=login, owner_password=PASSWORD
    )
    accounts.create_staff_user(
        world.uow,
        SECRETS,
        kind=UserKind.OPERATOR,
        login=login,
        password=PASSWORD,
        role=None,
        region_id=None,
        merchant_id=None,
        now=world.now,
    )
    with pytest.raises(AlreadyExists):
        approve(world, application_id)
    assert status_of(world, application_id) is ApplicationStatus.PENDING
    with world.uow:
        assert world.uow.records.registrations(world.region_id, digits) == []


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"business_number": "123-45-67890"}, InvalidBusinessNumber),
        ({"category": "casino"}, InvalidInput),
        ({"bank_code": "04"}, InvalidBankAccount),
        ({"bank_code": "0045"}, InvalidBankAccount),
        ({"bank_account_number": "12345"}, InvalidBankAccount),
        ({"bank_account_number": "1234-56789x"}, InvalidBankAccount),
        ({"bank_account_holder": " "}, InvalidBankAccount),
        ({"annual_revenue_won": -1}, InvalidInput),
        ({"address": ""}, InvalidInput),
        ({"phone": "12-34"}, InvalidInput),
        ({"name": " "}, InvalidInput),
        ({"owner_login": "someone"}, InvalidInput),
        ({"owner_login": "someone", "owner_password": "short"}, InvalidInput),
    ],
)
def test_a_malformed_application_is_refused_and_nothing_is_stored(
    world: World, changes: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        apply(world, **changes)
    assert merchant_applications.applications(world.uow, region_id=world.region_id) == []


def test_a_business_may_not_apply_twice_while_waiting_or_once_registered(world: World) -> None:
    digits = business_number(uuid.uuid4().int % 10**9)
    first = apply(world, business_number=digits)
    with pytest.raises(MerchantApplicationPending):
        apply(world, business_number=digits)
    approve(world, first)
    with pytest.raises(AlreadyExists):
        apply(world, business_number=digits)


def test_a_business_cancelled_for_fraud_may_not_apply_for_a_year(world: World) -> None:
    merchant_id = world.merchant()
    with world.uow:
        digits = world.uow.records.merchant(merchant_id).merchant.business_number
    registry.set_merchant_status(
        world.uow, merchant_id=merchant_id, status=MerchantStatus.CANCELLED_FOR_FRAUD, now=world.now
    )
    with pytest.raises(MerchantBanned):
        apply(world, business_number=digits)
    later = world.now + timedelta(days=365)
    application_id = apply(world, business_number=digits, now=later)
    assert status_of(world, application_id) is ApplicationStatus.PENDING


def test_a_rejection_needs_a_reason_and_is_final(world: World) -> None:
    digits = business_number(uuid.uuid4().int % 10**9)
    application_id = apply(world, business_number=digits)
    with pytest.raises(RejectionReasonRequired):
        merchant_applications.reject_application(
            world.uow,
            application_id=application_id,
            reason="  ",
            decided_by_user_id=None,
            now=world.now,
        )
    merchant_applications.reject_application(
        world.uow,
        application_id=application_id,
        reason="사업장 주소가 관외입니다",
        decided_by_user_id=None,
        now=world.now,
    )
    found = merchant_applications.application(world.uow, application_id=application_id)
    assert (found.status, found.rejection_reason) == (
        ApplicationStatus.REJECTED,
        "사업장 주소가 관외입니다",
    )
    with pytest.raises(MerchantApplicationDecided):
        approve(world, application_id)
    again = apply(world, business_number=digits)  # turned down, it may apply again
    assert status_of(world, again) is ApplicationStatus.PENDING


def test_an_application_is_approved_once(world: World) -> None:
    application_id = apply(world)
    approve(world, application_id)
    with pytest.raises(MerchantApplicationDecided):
        approve(world, application_id)
    with pytest.raises(MerchantApplicationNotFound):
        approve(world, application_id + 1000)


def test_applications_are_listed_per_region_and_status(world: World) -> None:
    waiting, approved = apply(world), apply(world)
    approve(world, approved)
    elsewhere = World(world.uow, world.now)
    apply(elsewhere)
    pending = merchant_applications.applications(
        world.uow, region_id=world.region_id, status=ApplicationStatus.PENDING
    )
    everything = merchant_applications.applications(world.uow, region_id=world.region_id)
    assert [a.id for a in pending] == [waiting]
    assert [a.id for a in everything] == [waiting, approved]


def test_a_merchant_is_suspended_and_reinstated_only_from_the_right_status(world: World) -> None:
    merchant_id = approve(world, apply(world)).merchant_id
    with pytest.raises(MerchantStatusChangeNotAllowed):
        merchant_applications.reinstate_merchant(world.uow, merchant_id=merchant_id, now=world.now)
    assert (
        merchant_applications.suspend_merchant(world.uow, merchant_id=merchant_id, now=world.now)
        is MerchantStatus.SUSPENDED
    )
    with pytest.raises(MerchantStatusChangeNotAllowed):
        merchant_applications.suspend_merchant(world.uow, merchant_id=merchant_id, now=world.now)
    assert (
        merchant_applications.reinstate_merchant(world.uow, merchant_id=merchant_id, now=world.now)
        is MerchantStatus.ACTIVE
    )
    registry.set_merchant_status(
        world.uow, merchant_id=merchant_id, status=MerchantStatus.CANCELLED_FOR_FRAUD, now=world.now
    )
    with pytest.raises(MerchantStatusChangeNotAllowed):
        merchant_applications.reinstate_merchant(world.uow, merchant_id=merchant_id, now=world.now)


# -- payment-time enforcement for onboarded merchants -----------------------------------------


def _buyer(world: World) -> int:
    world.fund(1_000_000)
    wallet = world.citizen()
    purchases.purchase_vouchers(
        world.uow, wallet_id=wallet, face_won=50_000, idempotency_key=unique_key(), now=world.now
    )
    return wallet


def _pay(world: World, wallet: int, merchant_id: int) -> PaymentResult:
    return payments.pay_merchant(
        world.uow,
        wallet_id=wallet,
        merchant_id=merchant_id,
        amount_won=1_000,
        idempotency_key=unique_key("pay"),
        now=world.now,
    )


def test_a_suspended_onboarded_merchant_is_refused_until_reinstated(world: World) -> None:
    wallet = _buyer(world)
    merchant_id = approve(world, apply(world)).merchant_id
    assert _pay(world, wallet, merchant_id).amount_won == 1_000
    merchant_applications.suspend_merchant(world.uow, merchant_id=merchant_id, now=world.now)
    with pytest.raises(MerchantNotEligible) as refused:
        _pay(world, wallet, merchant_id)
    assert refused.value.details["reason"] == "inactive"
    merchant_applications.reinstate_merchant(world.uow, merchant_id=merchant_id, now=world.now)
    assert _pay(world, wallet, merchant_id).amount_won == 1_000


def test_an_onboarded_merchant_of_an_excluded_category_is_refused(world: World) -> None:
    wallet = _buyer(world)
    merchant_id = approve(world, apply(world, category="large_mart")).merchant_id
    with pytest.raises(MerchantNotEligible) as refused:
        _pay(world, wallet, merchant_id)
    assert refused.value.details["reason"] == "excluded_category"


def test_an_onboarded_merchant_above_the_revenue_cap_is_refused_purchased_value(
    world: World,
) -> None:
    wallet = _buyer(world)
    at_cap = approve(world, apply(world, annual_revenue_won=3_000_000_000)).merchant_id
    above = approve(world, apply(world, annual_revenue_won=3_000_000_001)).merchant_id
    assert _pay(world, wallet, at_cap).amount_won == 1_000
    with pytest.raises(MerchantNotEligible) as refused:
        _pay(world, wallet, above)
    assert refused.value.details["reason"] == "revenue_cap"


# -- real parallel officials on PostgreSQL ----------------------------------------------------


@pytest.mark.postgres
def test_officials_approving_at_once_register_one_merchant(pg_engine: Engine) -> None:
    world = World(UnitOfWork(pg_engine), NOW)
    digits = business_number(uuid.uuid4().int % 10**9)
    application_id = apply(world, business_number=digits)
    officials = 4
    barrier = threading.Barrier(officials)
    outcomes: list[object] = []

    def official() -> None:
        uow = UnitOfWork(pg_engine)  # one per thread: a UnitOfWork is not thread-safe
        barrier.wait(timeout=60)
        try:
            outcomes.append(
                merchant_applications.approve_application(
                    uow, application_id=application_id, decided_by_user_id=None, now=NOW
                )
            )
        except MerchantApplicationDecided as refused:
            outcomes.append(refused)

    threads = [threading.Thread(target=official) for _ in range(officials)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    approvals = [o for o in outcomes if isinstance(o, merchant_applications.Approval)]
    refusals = [o for o in outcomes if isinstance(o, MerchantApplicationDecided)]
    assert (len(approvals), len(refusals)) == (1, officials - 1)
    with world.uow:
        assert len(world.uow.records.registrations(world.region_id, digits)) == 1
