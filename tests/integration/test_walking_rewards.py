"""Walking rewards on SQLite and PostgreSQL: grants, caps, repeated reports, the budget, expiry,
and parallel reports of one citizen's day that must not grant twice."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, func, select

from dongne.adapters.db.walking_tables import walking_grants
from dongne.domain.errors import IdempotencyKeyReused
from dongne.domain.ledger import AccountType
from dongne.domain.walking import (
    StepReportDateOutOfRange,
    Tier,
    WalkerNotFound,
    WalkingProgram,
    WalkingProgramInactive,
    WalkingProgramNotFound,
)
from dongne.services import read_models, refunds, registry, walking
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, unique_key

TODAY = date(2026, 11, 26)  # the Seoul day of NOW
TWO_TIERS = WalkingProgram(
    tiers=(Tier(5_000, 50), Tier(10_000, 100)),
    daily_cap_won=100,
    monthly_cap_won=250,
    yearly_cap_won=None,
    validity_days=30,
)


def set_up(world: World, program: WalkingProgram = TWO_TIERS, *, budget_won: int = 10_000) -> None:
    walking.configure_walking_program(
        world.uow, region_id=world.region_id, program=program, now=NOW
    )
    if budget_won:
        walking.fund_rewards_budget(
            world.uow,
            region_id=world.region_id,
            amount_won=budget_won,
            idempotency_key=unique_key("rewards"),
            now=NOW,
        )


def report(
    world: World, wallet_id: int, steps: int, day: date = TODAY, **kwargs: object
) -> walking.StepReportResult:
    return walking.report_steps(
        world.uow,
        region_id=world.region_id,
        wallet_id=wallet_id,
        day=day,
        steps=steps,
        idempotency_key=str(kwargs.pop("key", unique_key("steps"))),
        now=NOW,
        **kwargs,  # type: ignore[arg-type]
    )


def budget_won(world: World) -> int:
    return walking.walking_overview(world.uow, region_id=world.region_id).budget_balance_won


def points_won(world: World, wallet_id: int) -> int:
    return read_models.wallet_balance(world.uow, wallet_id=wallet_id, now=NOW).by_kind_won["reward"]


def test_reaching_a_tier_grants_its_points_from_the_rewards_budget(world: World) -> None:
    set_up(world)
    wallet = world.citizen()
    result = report(world, wallet, 5_000)
    assert (result.status, result.points_won, result.granted_today_won) == ("granted", 50, 50)
    assert result.transaction_id is not None
    assert result.lot_id is not None
    assert points_won(world, wallet) == 50
    assert budget_won(world) == 10_000 - 50
    assert read_models.ledger_problems(world.uow, region_id=world.region_id) == []


def test_a_higher_count_later_grants_the_difference_up_to_the_daily_cap(world: World) -> None:
    set_up(world)
    wallet = world.citizen()
    report(world, wallet, 6_000)
    second = report(world, wallet, 40_000)
    assert (second.status, second.points_won, second.granted_today_won) == ("granted", 50, 100)
    assert points_won(world, wallet) == 100


def test_a_repeated_or_lower_count_grants_nothing_and_keeps_the_highest(world: World) -> None:
    set_up(world)
    wallet = world.citizen()
    report(world, wallet, 12_000)
    repeated = report(world, wallet, 12_000)
    lower = report(world, wallet, 3_000)
    assert (repeated.status, repeated.points_won) == ("no_new_points", 0)
    assert (lower.status, lower.points_won, lower.steps) == ("no_new_points", 0, 12_000)
    assert points_won(world, wallet) == 100
    assert budget_won(world) == 10_000 - 100


def test_a_retry_with_the_same_key_returns_the_first_answer(world: World) -> None:
    set_up(world)
    wallet = world.citizen()
    first = report(world, wallet, 10_000, key="partner-report-1")
    again = report(world, wallet, 10_000, key="partner-report-1")
    assert again == first
    with pytest.raises(IdempotencyKeyReused):
        report(world, wallet, 11_000, key="partner-report-1")
    assert points_won(world, wallet) == 100


def test_the_monthly_cap_counts_the_days_of_the_month_walked(world: World) -> None:
    set_up(world)  # monthly cap 250
    wallet = world.citizen()
    days = [TODAY - timedelta(days=n) for n in (3, 2, 1)]
    granted = [report(world, wallet, 10_000, day).points_won for day in days]
    assert granted == [100, 100, 50]
    capped = report(world, wallet, 10_000, TODAY)
    assert (capped.status, capped.points_won) == ("cap_reached", 0)
    assert points_won(world, wallet) == 250


def test_the_yearly_cap_holds_across_months(world: World) -> None:
    program = WalkingProgram(monthly_cap_won=1_000, yearly_cap_won=150, report_window_days=60)
    set_up(world, program)
    wallet = world.citizen()
    assert report(world, wallet, 10_000, date(2026, 10, 30)).points_won == 100
    last = report(world, wallet, 10_000, TODAY)
    assert (last.status, last.points_won) == ("granted", 50)
    assert report(world, wallet, 10_000, TODAY - timedelta(days=1)).status == "cap_reached"


def test_an_exhausted_budget_pauses_grants_but_keeps_the_count(world: World) -> None:
    set_up(world, budget_won=120)
    walker, late_walker = world.citizen(), world.citizen()
    assert report(world, walker, 10_000).points_won == 100
    paused = report(world, late_walker, 10_000)
    assert (paused.status, paused.points_won, paused.steps) == ("budget_exhausted", 0, 10_000)
    assert paused.transaction_id is None
    assert budget_won(world) == 20
    assert points_won(world, late_walker) == 0
    walking.fund_rewards_budget(
        world.uow,
        region_id=world.region_id,
        amount_won=1_000,
        idempotency_key=unique_key("refill"),
        now=NOW,
    )
    resumed = report(world, late_walker, 5_000)  # lower than the kept count: still owed 100
    assert (resumed.status, resumed.points_won, resumed.steps) == ("granted", 100, 10_000)
    assert budget_won(world) == 920


def test_points_expire_back_into_the_rewards_budget(world: World) -> None:
    set_up(world, budget_won=1_000)
    wallet = world.citizen()
    result = report(world, wallet, 10_000)
    assert result.expires_at == (NOW + timedelta(days=30)).isoformat()
    still_valid = refunds.expire_lots(
        world.uow,
        region_id=world.region_id,
        idempotency_key=unique_key("expire"),
        now=NOW + timedelta(days=30) - timedelta(seconds=1),
    )
    assert still_valid.lots_expired == 0
    expired = refunds.expire_lots(
        world.uow,
        region_id=world.region_id,
        idempotency_key=unique_key("expire"),
        now=NOW + timedelta(days=30),
    )
    assert (expired.lots_expired, expired.to_breakage_won, expired.to_budget_won) == (1, 0, 100)
    assert budget_won(world) == 1_000
    assert points_won(world, wallet) == 0
    assert read_models.ledger_problems(world.uow, region_id=world.region_id) == []


def test_a_citizen_is_found_by_phone_in_the_partner_region_only(world: World) -> None:
    set_up(world)
    citizen = registry.register_citizen(
        world.uow,
        name="걷는사람",
        phone="010-7777-1234",
        home_region_id=world.region_id,
        wallet_region_id=world.region_id,
        idempotency_key=unique_key("citizen"),
        now=NOW,
    )
    by_phone = walking.report_steps(
        world.uow,
        region_id=world.region_id,
        phone="01077771234",
        day=TODAY,
        steps=10_000,
        idempotency_key=unique_key("steps"),
        now=NOW,
    )
    assert (by_phone.wallet_id, by_phone.points_won) == (citizen.wallet_id, 100)
    elsewhere = World(world.uow, NOW)
    set_up(elsewhere)
    with pytest.raises(WalkerNotFound):
        report(elsewhere, citizen.wallet_id, 10_000)
    with pytest.raises(WalkerNotFound):
        walking.report_steps(
            world.uow,
            region_id=elsewhere.region_id,
            phone="010-7777-1234",
            day=TODAY,
            steps=10_000,
            idempotency_key=unique_key("steps"),
            now=NOW,
        )


def test_reports_out_of_the_window_or_to_a_paused_program_change_nothing(world: World) -> None:
    wallet = world.citizen()
    with pytest.raises(WalkingProgramNotFound):
        report(world, wallet, 10_000)
    set_up(world)
    with pytest.raises(StepReportDateOutOfRange):
        report(world, wallet, 10_000, TODAY + timedelta(days=1))
    with pytest.raises(StepReportDateOutOfRange):
        report(world, wallet, 10_000, TODAY - timedelta(days=8))
    switched_off = WalkingProgram(
        tiers=TWO_TIERS.tiers, monthly_cap_won=250, validity_days=30, active=False
    )
    walking.configure_walking_program(
        world.uow, region_id=world.region_id, program=switched_off, now=NOW
    )
    with pytest.raises(WalkingProgramInactive):
        report(world, wallet, 10_000)
    assert points_won(world, wallet) == 0
    assert budget_won(world) == 10_000


# -- real parallel clients on PostgreSQL ------------------------------------------------------

CLIENTS = 8


def _in_parallel(
    engine: Engine, jobs: list[dict[str, object]], region_id: int
) -> list[walking.StepReportResult]:
    """Run one step report per job, each on its own thread and connection, released
    together; fail the test with the first error any of them raised."""
    barrier = threading.Barrier(len(jobs))
    results: list[walking.StepReportResult | BaseException | None] = [None] * len(jobs)

    def client(index: int) -> None:
        uow = UnitOfWork(engine)  # one per thread: a UnitOfWork is not thread-safe
        barrier.wait(timeout=60)
        try:
            results[index] = walking.report_steps(
                uow,
                region_id=region_id,
                day=TODAY,
                idempotency_key=unique_key("race"),
                now=NOW,
                **jobs[index],  # type: ignore[arg-type]
            )
        except Exception as error:
            results[index] = error

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    reports = [r for r in results if isinstance(r, walking.StepReportResult)]
    assert len(reports) == len(jobs), results
    return reports


@pytest.mark.postgres
def test_parallel_reports_of_one_citizen_day_grant_once(pg_engine: Engine) -> None:
    world = World(UnitOfWork(pg_engine), NOW)
    set_up(world)
    wallet = world.citizen()
    jobs: list[dict[str, object]] = [
        {"wallet_id": wallet, "steps": 10_000 + n * 100} for n in range(CLIENTS)
    ]
    results = _in_parallel(pg_engine, jobs, world.region_id)
    assert sum(r.points_won for r in results) == 100
    assert points_won(world, wallet) == 100
    assert budget_won(world) == 10_000 - 100
    with world.uow:
        grants = world.uow.connection.execute(
            select(func.count()).select_from(walking_grants)
        ).scalar_one()
    assert grants == 1
    assert read_models.ledger_problems(world.uow, region_id=world.region_id) == []


@pytest.mark.postgres
def test_parallel_reports_never_oversell_the_rewards_budget(pg_engine: Engine) -> None:
    world = World(UnitOfWork(pg_engine), NOW)
    set_up(world, budget_won=350)  # three and a half walkers' worth
    wallets = [world.citizen() for _ in range(CLIENTS)]
    results = _in_parallel(
        pg_engine, [{"wallet_id": w, "steps": 10_000} for w in wallets], world.region_id
    )
    statuses = sorted(r.status for r in results)
    assert statuses == ["budget_exhausted"] * (CLIENTS - 3) + ["granted"] * 3
    assert budget_won(world) == 50
    assert sum(points_won(world, w) for w in wallets) == 300
    assert read_models.ledger_problems(world.uow, region_id=world.region_id) == []
    with world.uow:
        balance = world.uow.ledger.balance(
            world.uow.ledger.account(world.region_id, AccountType.REWARDS_BUDGET).id
        )
    assert balance == 50
