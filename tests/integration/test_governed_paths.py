"""Every way of doing one of the six governed kinds of action goes through the four-eyes gate,
and every direct movement of public money names its approver, on SQLite and PostgreSQL.

``DIRECT_PATHS`` lists the services the CLI, the API, the console and the demo call to act
directly (G2P is in ``tests/e2e/test_g2p_four_eyes.py``; setting changes have no direct way:
they are only ever approval requests). Where a kind needs two officials each path is
refused with ``APPROVAL_REQUIRED`` and changes nothing; where one suffices, each path that
moves money posts under an approval naming the person who acted.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from dongne.adapters.db.ledger_tables import ledger_transactions
from dongne.domain.access import Principal, UserKind
from dongne.domain.allowances import AllowanceTerms
from dongne.domain.approvals import ApprovalKind, ApprovalMode, ApprovalRequired
from dongne.domain.calendar import SEOUL
from dongne.services import (
    accounts,
    allowances,
    approval_audit,
    approvals,
    merchant_applications,
    paper_printing,
    registry,
    settlement,
    walking,
)
from dongne.services.allowance_disbursement import disburse
from tests.conftest import NOW
from tests.factories import World, unique_key
from tests.helpers import buy, pay
from tests.integration.test_allowances import (
    SECRETS,
    UNTIL,
    csv_of,
    make_program,
    resident_number,
    signed_up,
    upload,
)
from tests.integration.test_settlement import DAY, give_bank_details


@dataclass
class Setting:
    """A region, an approver of it (a real account, so the audit can name them) and an engine."""

    world: World
    engine: Engine
    official: Principal
    login: str

    @property
    def user_id(self) -> int:
        assert self.official.user_id is not None
        return self.official.user_id


def an_official(world: World, login: str | None = None) -> tuple[Principal, str]:
    login = login or f"gov-{uuid.uuid4().hex[:10]}"
    credential = accounts.create_staff_user(
        world.uow,
        SECRETS,
        kind=UserKind.OFFICIAL,
        login=login,
        password="correct horse battery",  # noqa: S106 - a test password
        role="approver",
        region_id=world.region_id,
        merchant_id=None,
        now=NOW,
    )
    official = Principal(
        UserKind.OFFICIAL, user_id=credential.id, region_id=world.region_id, role="approver"
    )
    return official, login


@pytest.fixture
def setting(world: World, engine: Engine) -> Setting:
    official, login = an_official(world)
    return Setting(world, engine, official, login)


def terms() -> AllowanceTerms:
    return AllowanceTerms("청년수당", 100_000, NOW, UNTIL)


def _create_program(s: Setting) -> Any:
    return allowances.create_program(
        s.world.uow,
        s.official,
        region_id=s.world.region_id,
        terms=terms(),
        budget_won=500_000,
        idempotency_key=unique_key(),
        now=NOW,
    )


def _fund_program(s: Setting) -> Any:
    program_id = _unfunded_program(s)
    return allowances.fund_program(
        s.world.uow,
        s.official,
        program_id=program_id,
        amount_won=500_000,
        idempotency_key=unique_key(),
        now=NOW,
    )


def _unfunded_program(s: Setting) -> int:
    return allowances.create_program(
        s.world.uow,
        s.official,
        region_id=s.world.region_id,
        terms=terms(),
        budget_won=0,
        idempotency_key=unique_key(),
        now=NOW,
    ).program_id


def _fund_discount(s: Setting) -> Any:
    return registry.fund_discount_budget(
        s.world.uow,
        region_id=s.world.region_id,
        amount_won=1_000_000,
        idempotency_key=unique_key(),
        now=NOW,
        by_user_id=s.user_id,
    )


def _fund_rewards(s: Setting) -> Any:
    return walking.fund_rewards_budget(
        s.world.uow,
        region_id=s.world.region_id,
        amount_won=100_000,
        idempotency_key=unique_key(),
        now=NOW,
        by_user_id=s.user_id,
    )


def _disburse(s: Setting) -> Any:
    program_id = make_program(s.world)  # funded by the operator, before the policy changes
    identity = resident_number()
    signed_up(s.world, identity)
    listed = upload(s.world, program_id, csv_of(identity))
    return lambda: disburse(s.world.uow, s.official, upload_id=listed.upload_id, now=NOW)


def _settle(s: Setting) -> Any:
    registry.fund_discount_budget(
        s.world.uow,
        region_id=s.world.region_id,
        amount_won=1_000_000,
        idempotency_key=unique_key(),
        now=NOW,
    )
    shop = s.world.merchant()
    give_bank_details(s.engine, shop)
    wallet = s.world.citizen()
    buy(s.world.uow, wallet, 100_000)
    pay(s.world.uow, wallet, shop, 30_000)
    return lambda: settlement.settle_day(
        s.world.uow,
        region_id=s.world.region_id,
        business_day=DAY,
        idempotency_key=unique_key(),
        now=datetime.combine(DAY + timedelta(days=1), time(12), tzinfo=SEOUL),
        by_user_id=s.user_id,
    )


def _print(s: Setting) -> Any:
    return paper_printing.order_print(
        s.world.uow,
        region_id=s.world.region_id,
        counts={10_000: 5},
        idempotency_key=unique_key(),
        now=NOW,
        ordered_by=s.user_id,
    )


def _suspend(s: Setting) -> Any:
    merchant = s.world.merchant()
    return lambda: merchant_applications.suspend_merchant(
        s.world.uow, merchant_id=merchant, now=NOW
    )


@dataclass(frozen=True)
class Path:
    kind: ApprovalKind
    act: Callable[[Setting], Any]
    prepared: bool = False
    """``act`` sets things up and returns the action itself (a lambda) to run."""
    moves_money: bool = True


DIRECT_PATHS: dict[str, Path] = {
    "allowances.create_program": Path(ApprovalKind.BUDGET_FUNDING, _create_program),
    "allowances.fund_program": Path(ApprovalKind.BUDGET_FUNDING, _fund_program),
    "registry.fund_discount_budget": Path(ApprovalKind.BUDGET_FUNDING, _fund_discount),
    "walking.fund_rewards_budget": Path(ApprovalKind.BUDGET_FUNDING, _fund_rewards),
    "allowance_disbursement.disburse": Path(
        ApprovalKind.ALLOWANCE_DISBURSEMENT, _disburse, prepared=True
    ),
    "settlement.settle_day": Path(ApprovalKind.SETTLEMENT_RELEASE, _settle, prepared=True),
    "paper_printing.order_print": Path(ApprovalKind.PAPER_PRINT_RUN, _print),
    "merchant_applications.suspend_merchant": Path(
        ApprovalKind.MERCHANT_SUSPENSION, _suspend, prepared=True, moves_money=False
    ),
}


def test_the_paths_cover_every_kind_that_can_be_done_directly() -> None:
    covered = {path.kind for path in DIRECT_PATHS.values()}
    assert covered == set(ApprovalKind) - {ApprovalKind.SETTING_CHANGE}


def _ready(path: Path, s: Setting) -> Callable[[], Any]:
    if path.prepared:
        action: Callable[[], Any] = path.act(s)
        return action
    return lambda: path.act(s)


def _transactions(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(select(func.count()).select_from(ledger_transactions)).scalar()
        )


@pytest.mark.parametrize("name", sorted(DIRECT_PATHS))
def test_each_direct_path_is_refused_where_two_officials_are_needed(
    name: str, setting: Setting
) -> None:
    path = DIRECT_PATHS[name]
    action = _ready(path, setting)
    approvals.set_approval_mode(
        setting.world.uow,
        setting.official,
        region_id=setting.world.region_id,
        kind=path.kind,
        mode=ApprovalMode.INITIATOR_AND_APPROVER,
        now=NOW,
    )
    before = _transactions(setting.engine)
    with pytest.raises(ApprovalRequired):
        action()
    assert _transactions(setting.engine) == before, "a refused action moved money"


@pytest.mark.parametrize("name", sorted(n for n, p in DIRECT_PATHS.items() if p.moves_money))
def test_each_direct_movement_of_public_money_names_who_allowed_it(
    name: str, setting: Setting
) -> None:
    action = _ready(DIRECT_PATHS[name], setting)
    region_id = setting.world.region_id
    unnamed_before = approval_audit.nobody_named(setting.world.uow, region_id=region_id)
    allowed_before = approval_audit.who_allowed(setting.world.uow, region_id=region_id)
    action()
    assert approval_audit.nobody_named(setting.world.uow, region_id=region_id) == unnamed_before
    allowed = approval_audit.who_allowed(setting.world.uow, region_id=region_id)[
        len(allowed_before) :
    ]
    assert allowed, "the movement names nobody"
    assert {(m.approved_by_user_id, m.approved_by_login, m.key_matches) for m in allowed} == {
        (setting.user_id, setting.login, True)
    }


def test_a_program_is_created_unfunded_then_funded_by_an_approved_request(
    setting: Setting,
) -> None:
    world = setting.world
    approvals.set_approval_mode(
        world.uow,
        setting.official,
        region_id=world.region_id,
        kind=ApprovalKind.BUDGET_FUNDING,
        mode=ApprovalMode.INITIATOR_AND_APPROVER,
        now=NOW,
    )
    created = allowances.create_program(
        world.uow,
        setting.official,
        region_id=world.region_id,
        terms=terms(),
        budget_won=0,
        idempotency_key=unique_key(),
        now=NOW,
    )
    assert (created.transaction_id, created.budget_won) == (None, 0)
    second, second_login = an_official(world)
    filed = approvals.file_request(
        world.uow,
        setting.official,
        region_id=world.region_id,
        kind=ApprovalKind.BUDGET_FUNDING,
        params={
            "budget": "allowance_program",
            "program_id": created.program_id,
            "amount_won": 700_000,
        },
        reason="청년수당 예산 (youth allowance budget)",
        idempotency_key=unique_key(),
        now=NOW,
    )
    assert (filed.status, filed.requested_by_login) == ("pending", setting.login)
    approved = approvals.approve_request(
        world.uow, second, request_id=filed.id, reason=None, idempotency_key=unique_key(), now=NOW
    )
    assert (approved.decided_by_login, approved.result and approved.result["budget_won"]) == (
        second_login,
        700_000,
    )
    [funding] = approval_audit.who_allowed(world.uow, region_id=world.region_id)
    assert (funding.transaction_kind, funding.requested_by_login, funding.approved_by_login) == (
        "allowance_funding",
        setting.login,
        second_login,
    )


@pytest.mark.parametrize(
    ("kind", "params", "transaction_kind"),
    [
        (
            ApprovalKind.BUDGET_FUNDING,
            {"budget": "rewards", "amount_won": 50_000},
            "rewards_funding",
        ),
        (ApprovalKind.PAPER_PRINT_RUN, {"counts": {"10000": 3, "50000": 1}}, "paper_printing"),
    ],
)
def test_rewards_funding_and_paper_print_runs_run_from_an_approved_request(
    setting: Setting, kind: ApprovalKind, params: dict[str, Any], transaction_kind: str
) -> None:
    world = setting.world
    approvals.set_approval_mode(
        world.uow,
        setting.official,
        region_id=world.region_id,
        kind=kind,
        mode=ApprovalMode.INITIATOR_AND_APPROVER,
        now=NOW,
    )
    filed = approvals.file_request(
        world.uow,
        setting.official,
        region_id=world.region_id,
        kind=kind,
        params=params,
        reason="결재 요청 (asked for)",
        idempotency_key=unique_key(),
        now=NOW,
    )
    assert filed.status == "pending"
    second, second_login = an_official(world)
    approvals.approve_request(
        world.uow, second, request_id=filed.id, reason=None, idempotency_key=unique_key(), now=NOW
    )
    [moved] = approval_audit.who_allowed(world.uow, region_id=world.region_id)
    assert (moved.transaction_kind, moved.request_id, moved.approved_by_login) == (
        transaction_kind,
        filed.id,
        second_login,
    )
