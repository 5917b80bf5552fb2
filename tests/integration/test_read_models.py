"""Balances, histories, account totals and the ledger's own health check.

Defaults of the program under test (``VoucherProgram``): 10% discount, units of 10,000,
700,000 a month, 1,500,000 held, five years' validity, refunds from 60% spent, a 7-day
cancellation window. ``NOW`` is 12:00 on 26 November 2026 in Seoul, so ``days(5)`` is December.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select, update

from dongne.adapters.db.ledger_tables import account_balances
from dongne.adapters.db.tables import lots, wallets
from dongne.services import read_models, refunds
from dongne.services.read_models import HistoryLine
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, unique_key
from tests.helpers import (
    SECOND,
    UNKNOWN_ID,
    assert_ledger_sound,
    buy,
    days,
    give,
    pay,
    refused,
    world_with,
)

# -- wallet_balance, wallet_history, account_totals ---------------------------------------------


def test_a_wallet_balance_counts_expired_value_only_until_the_expiry_job_runs(
    uow: UnitOfWork, engine: Engine
) -> None:
    world = world_with(uow, validity_days=30)
    wallet, shop = world.citizen(), world.merchant()
    buy(uow, wallet, 100_000)
    pay(uow, wallet, shop, 30_000)
    live = read_models.wallet_balance(uow, wallet_id=wallet, now=days(30) - SECOND)
    expired = read_models.wallet_balance(uow, wallet_id=wallet, now=days(30))
    assert (live.balance_won, live.usable_won) == (70_000, 70_000)
    assert (expired.balance_won, expired.usable_won) == (70_000, 0)
    assert expired.by_kind_won == {
        "purchased": 70_000,
        "gifted": 0,
        "cashback": 0,
        "reward": 0,
        "allowance": 0,
    }
    refunds.expire_lots(uow, region_id=world.region_id, idempotency_key=unique_key(), now=days(30))
    after = read_models.wallet_balance(uow, wallet_id=wallet, now=days(30))
    assert (after.balance_won, after.usable_won) == (0, 0)
    assert_ledger_sound(uow)
    with refused(engine, "WALLET_NOT_FOUND"):
        read_models.wallet_balance(uow, wallet_id=UNKNOWN_ID, now=NOW)
    with refused(engine, "WALLET_NOT_FOUND"):
        read_models.wallet_history(uow, wallet_id=UNKNOWN_ID)


def test_wallet_history_lists_signed_amounts_newest_first_with_aware_times(
    uow: UnitOfWork, world: World
) -> None:
    world.fund(100_000)
    wallet, friend, shop = world.citizen(), world.citizen(), world.merchant()
    hour = timedelta(hours=1)
    bought = buy(uow, wallet, 100_000)
    paid = pay(uow, wallet, shop, 30_000, now=NOW + hour)
    given = give(uow, wallet, friend, 20_000, now=NOW + 2 * hour)
    history = read_models.wallet_history(uow, wallet_id=wallet)
    assert history == [
        HistoryLine(given.transaction_id, "gift", NOW + 2 * hour, -20_000),
        HistoryLine(paid.transaction_id, "payment", NOW + hour, -30_000),
        HistoryLine(bought.transaction_id, "purchase", NOW, 100_000),
    ]
    assert all(line.at.utcoffset() == timedelta(0) for line in history)
    assert read_models.wallet_history(uow, wallet_id=wallet, limit=1) == history[:1]
    assert read_models.wallet_history(uow, wallet_id=friend) == [
        HistoryLine(given.transaction_id, "gift", NOW + 2 * hour, 20_000)
    ]
    assert_ledger_sound(uow)


def test_account_totals_are_kept_per_region_and_sum_to_zero(uow: UnitOfWork, world: World) -> None:
    quiet = World(uow, NOW)
    assert read_models.account_totals(uow, region_id=quiet.region_id) == {}
    world.fund(50_000)
    buy(uow, world.citizen(), 100_000)
    totals = read_models.account_totals(uow, region_id=world.region_id)
    assert totals == {
        "city_funding": -50_000,
        "discount_budget": 40_000,
        "wallet": 100_000,
        "citizen_bank": -90_000,
    }
    assert sum(totals.values()) == 0
    assert read_models.account_totals(uow, region_id=quiet.region_id) == {}
    assert_ledger_sound(uow)


# -- ledger_problems -----------------------------------------------------------------------------


def test_ledger_problems_names_balances_and_lots_changed_behind_the_ledgers_back(
    uow: UnitOfWork, engine: Engine, world: World
) -> None:
    wallet = world.citizen()
    lot = buy(uow, wallet, 100_000).lot_id
    assert read_models.ledger_problems(uow) == []
    with engine.begin() as connection:
        account = connection.execute(
            select(wallets.c.account_id).where(wallets.c.id == wallet)
        ).scalar_one()
        connection.execute(
            update(account_balances)
            .where(account_balances.c.account_id == account)
            .values(balance_won=account_balances.c.balance_won + 1)
        )
    assert read_models.ledger_problems(uow) == [
        "balances sum to 1, not zero",
        f"account {account} stores 100001 but its entries sum to 100000",
        f"wallet {wallet} balance 100001 differs from its lots' 100000",
    ]
    with engine.begin() as connection:
        connection.execute(
            update(account_balances)
            .where(account_balances.c.account_id == account)
            .values(balance_won=account_balances.c.balance_won - 1)
        )
        connection.execute(update(lots).where(lots.c.id == lot).values(remaining_won=90_000))
    assert read_models.ledger_problems(uow, region_id=world.region_id) == [
        f"lot {lot} holds 90000 but its movements sum to 100000",
        f"wallet {wallet} balance 100000 differs from its lots' 90000",
    ]
    assert read_models.ledger_problems(uow, region_id=World(uow, NOW).region_id) == []
