"""Dated settings across their boundaries, and four-eyes approvals, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from dongne.adapters.db.engine import make_engine
from dongne.adapters.db.ledger_tables import ledger_transactions
from dongne.domain.access import Forbidden, Principal, UserKind
from dongne.domain.approvals import (
    ApprovalExpired,
    ApprovalKind,
    ApprovalMode,
    ApprovalRequestNotFound,
    ApprovalRequired,
    OwnApprovalRequest,
)
from dongne.domain.errors import CancellationWindowClosed, InvalidInput
from dongne.domain.merchants import MerchantStatus
from dongne.domain.program_timeline import ProgramChangeInThePast
from dongne.services import (
    approval_audit,
    approvals,
    merchant_applications,
    program_settings,
    purchases,
    registry,
)
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, unique_key

OPERATOR = Principal(UserKind.OPERATOR, user_id=1)


def official(world: World, user_id: int, role: str = "approver") -> Principal:
    return Principal(UserKind.OFFICIAL, user_id=user_id, region_id=world.region_id, role=role)


def change(
    uow: UnitOfWork, world: World, settings: dict[str, Any], *, starts: Any, ends: Any = None
) -> approvals.ApprovalView:
    return approvals.file_request(
        uow,
        official(world, 101),
        region_id=world.region_id,
        kind=ApprovalKind.SETTING_CHANGE,
        params={
            "settings": settings,
            "effective_at": starts.isoformat(),
            "ends_at": ends.isoformat() if ends else None,
        },
        reason="추석 할인 (Chuseok promotion)",
        idempotency_key=unique_key(),
        now=NOW,
    )


def buy(uow: UnitOfWork, wallet: int, at: Any, face_won: int = 100_000) -> Any:
    return purchases.purchase_vouchers(
        uow, wallet_id=wallet, face_won=face_won, idempotency_key=unique_key(), now=at
    )


def test_a_promotion_applies_from_its_start_up_to_its_end(uow: UnitOfWork) -> None:
    world = World(uow, NOW)
    world.fund(10_000_000)
    wallet = world.citizen()
    starts, ends = NOW + timedelta(hours=1), NOW + timedelta(hours=5)
    done = change(uow, world, {"base_rate_bp": 1_500}, starts=starts, ends=ends)
    assert done.status == "approved"
    assert done.result is not None
    assert done.result["change_id"] > 0
    one_microsecond = timedelta(microseconds=1)
    bonuses = [
        buy(uow, wallet, at).bonus_won
        for at in (starts - one_microsecond, starts, ends - one_microsecond, ends)
    ]
    assert bonuses == [10_000, 15_000, 15_000, 10_000]


def test_a_lasting_change_under_a_promotion_shows_once_the_promotion_ends(
    uow: UnitOfWork,
) -> None:
    world = World(uow, NOW)
    hour = timedelta(hours=1)
    change(uow, world, {"base_rate_bp": 1_500}, starts=NOW + hour, ends=NOW + 3 * hour)
    change(uow, world, {"base_rate_bp": 700}, starts=NOW + 2 * hour)
    view = program_settings.program_timeline(uow, region_id=world.region_id, now=NOW)
    assert [entry.state for entry in view.entries] == ["scheduled", "scheduled"]
    with uow:
        timeline = uow.records.program_timeline(world.region_id)
    rates = [timeline.at(NOW + k * hour).base_rate_bp for k in (0, 1, 2, 3)]
    assert rates == [1_000, 1_500, 1_500, 700]


def test_a_purchase_keeps_the_cancellation_window_it_was_sold_with(uow: UnitOfWork) -> None:
    world = World(uow, NOW)
    world.fund(1_000_000)
    wallet = world.citizen()
    bought = buy(uow, wallet, NOW)
    change(uow, world, {"cancellation_window_days": 1}, starts=NOW + timedelta(minutes=1))
    three_days = NOW + timedelta(days=3)
    purchases.cancel_purchase(
        uow, purchase_id=bought.purchase_id, idempotency_key=unique_key(), now=three_days
    )
    later = buy(uow, wallet, NOW + timedelta(hours=1))
    with pytest.raises(CancellationWindowClosed):
        purchases.cancel_purchase(
            uow, purchase_id=later.purchase_id, idempotency_key=unique_key(), now=three_days
        )


def test_a_change_cannot_take_effect_in_the_past(uow: UnitOfWork) -> None:
    world = World(uow, NOW)
    with pytest.raises(ProgramChangeInThePast):
        change(uow, world, {"base_rate_bp": 500}, starts=NOW - timedelta(seconds=1))


def test_a_change_reaches_a_process_that_had_the_program_cached(
    engine: Engine, database_url: str
) -> None:
    first = UnitOfWork(engine)
    world = World(first, NOW)
    with first:
        assert first.records.program(world.region_id, at=NOW).base_rate_bp == 1_000
    other_engine = make_engine(database_url)  # another process: a cache of its own
    try:
        other = UnitOfWork(other_engine)
        change(other, world, {"base_rate_bp": 300}, starts=NOW)
    finally:
        other_engine.dispose()
    with first:
        assert first.records.program(world.region_id, at=NOW).base_rate_bp == 300


def two_person(uow: UnitOfWork, world: World, kind: ApprovalKind) -> None:
    approvals.set_approval_mode(
        uow,
        official(world, 100),
        region_id=world.region_id,
        kind=kind,
        mode=ApprovalMode.INITIATOR_AND_APPROVER,
        now=NOW,
    )


def file_funding(uow: UnitOfWork, world: World, by: Principal, amount_won: int) -> int:
    return approvals.file_request(
        uow,
        by,
        region_id=world.region_id,
        kind=ApprovalKind.BUDGET_FUNDING,
        params={"budget": "discount", "amount_won": amount_won},
        reason="12월 할인 예산 (December's discount budget)",
        idempotency_key=unique_key(),
        now=NOW,
    ).id


def approve(uow: UnitOfWork, by: Principal, request_id: int, at: Any = NOW) -> Any:
    return approvals.approve_request(
        uow,
        by,
        request_id=request_id,
        reason="확인 (checked)",
        idempotency_key=unique_key(),
        now=at,
    )


def test_four_eyes_refuses_the_initiator_another_region_and_a_late_approval(
    uow: UnitOfWork, engine: Engine
) -> None:
    world = World(uow, NOW)
    two_person(uow, world, ApprovalKind.BUDGET_FUNDING)
    with pytest.raises(ApprovalRequired):
        world.fund(1_000_000)
    initiator, approver = official(world, 201), official(world, 202)
    request_id = file_funding(uow, world, initiator, 1_000_000)
    with pytest.raises(OwnApprovalRequest):
        approve(uow, initiator, request_id)
    elsewhere = World(uow, NOW)
    with pytest.raises(ApprovalRequestNotFound):
        approve(uow, official(elsewhere, 301), request_id)
    with pytest.raises(ApprovalExpired):
        approve(uow, approver, request_id, NOW + timedelta(hours=72))
    done = approve(uow, approver, request_id, NOW + timedelta(hours=71))
    assert (done.status, done.requested_by_user_id, done.decided_by_user_id) == (
        "approved",
        201,
        202,
    )
    with engine.connect() as connection:
        keys = connection.execute(
            select(ledger_transactions.c.idempotency_key).where(
                ledger_transactions.c.id == done.result["transaction_id"]
            )
        ).scalar_one()
    assert keys == done.ledger_key
    allowed = approval_audit.who_allowed(uow, region_id=world.region_id)
    assert [(m.transaction_id, m.approved_by_user_id, m.key_matches) for m in allowed] == [
        (done.result["transaction_id"], 202, True)
    ]


def test_a_rejected_request_moves_nothing(uow: UnitOfWork) -> None:
    world = World(uow, NOW)
    two_person(uow, world, ApprovalKind.BUDGET_FUNDING)
    request_id = file_funding(uow, world, official(world, 201), 500_000)
    rejected = approvals.reject_request(
        uow, official(world, 202), request_id=request_id, reason="too early", now=NOW
    )
    assert rejected.status == "rejected"
    assert approval_audit.who_allowed(uow, region_id=world.region_id) == []


def test_only_the_platform_operator_lifts_the_second_approver(uow: UnitOfWork) -> None:
    world = World(uow, NOW)
    two_person(uow, world, ApprovalKind.MERCHANT_SUSPENSION)
    with pytest.raises(Forbidden):
        approvals.set_approval_mode(
            uow,
            official(world, 100),
            region_id=world.region_id,
            kind=ApprovalKind.MERCHANT_SUSPENSION,
            mode=ApprovalMode.ONE_APPROVER,
            now=NOW,
        )
    modes = approvals.set_approval_mode(
        uow,
        OPERATOR,
        region_id=world.region_id,
        kind=ApprovalKind.MERCHANT_SUSPENSION,
        mode=ApprovalMode.ONE_APPROVER,
        now=NOW,
    )
    assert modes["merchant_suspension"] == "one_approver"


def test_a_suspension_waits_for_the_second_approver(uow: UnitOfWork) -> None:
    world = World(uow, NOW)
    merchant = world.merchant()
    two_person(uow, world, ApprovalKind.MERCHANT_SUSPENSION)
    with pytest.raises(ApprovalRequired):
        merchant_applications.suspend_merchant(uow, merchant_id=merchant, now=NOW)
    filed = approvals.file_request(
        uow,
        official(world, 201, role="operator"),
        region_id=world.region_id,
        kind=ApprovalKind.MERCHANT_SUSPENSION,
        params={"merchant_id": merchant},
        reason="깡 의심 (suspected cash-out)",
        idempotency_key=unique_key(),
        now=NOW,
    )
    assert filed.status == "pending"
    with uow:
        assert uow.records.merchant(merchant).merchant.status is MerchantStatus.ACTIVE
    approve(uow, official(world, 202), filed.id)
    with uow:
        assert uow.records.merchant(merchant).merchant.status is MerchantStatus.SUSPENDED


def test_a_paper_print_run_request_names_what_to_print(uow: UnitOfWork) -> None:
    world = World(uow, NOW)
    for params in ({}, {"counts": {"10000": "5"}}, {"counts": {"7000": 5}}):
        with pytest.raises(InvalidInput):
            approvals.file_request(
                uow,
                official(world, 201),
                region_id=world.region_id,
                kind=ApprovalKind.PAPER_PRINT_RUN,
                params=params,
                reason="지류 발행",
                idempotency_key=unique_key(),
                now=NOW,
            )


def test_a_one_approver_region_funds_at_once_and_names_the_approver(uow: UnitOfWork) -> None:
    world = World(uow, NOW)
    request_id = file_funding(uow, world, official(world, 205), 300_000)
    with uow:
        found = uow.governance.approval_request(request_id)
    assert (found.status.value, found.decided_by_user_id) == ("approved", 205)
    registry.fund_discount_budget(  # the direct way stays open in such a region
        uow,
        region_id=world.region_id,
        amount_won=1,
        idempotency_key=unique_key(),
        now=NOW,
    )
