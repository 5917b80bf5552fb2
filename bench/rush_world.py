"""The rush's world and its checks: buyers made in bulk, the budget watched and checked.

The buyers are rows, not API calls: one ``INSERT … SELECT generate_series`` per table makes
the citizens with their wallets (``bench.bulk_people``), users, and a bearer token each (the
token's SHA-256 computed by PostgreSQL from a per-run secret and the citizen's id), as
``accounts.sign_up_citizen`` and ``authentication.log_in`` would leave them. The region and its
program (in a sale window every day of the month: ``sale_queue_month_start_days=31``) and the
month's discount budget go through the services.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, text

from bench.bulk_people import insert_citizens_with_wallets
from dongne.adapters.db.engine import make_engine
from dongne.domain.calendar import seoul_month
from dongne.domain.ledger import AccountType
from dongne.domain.program import VoucherProgram
from dongne.services import read_models, registry
from dongne.services.unit_of_work import UnitOfWork

BONUS_WON = 10_000
"""The program's default 10% discount on a 100,000-won purchase."""
BUDGET_SHARE = 0.5
"""The month's discount budget covers this share of the buyers' discounts."""
WATCH_EVERY_S = 0.05


@dataclass(frozen=True)
class Buyers:
    region_id: int
    month: str
    budget_won: int
    lines: tuple[str, ...]
    """"WALLET_ID TOKEN", one per buyer."""


def seed_buyers(engine: Engine, count: int, now: datetime) -> Buyers:
    uow = UnitOfWork(engine)
    region_id = registry.create_region(uow, code="bench-rush", name="러시시", now=now)
    program = VoucherProgram(brand_name="러시", sale_queue_month_start_days=31)
    registry.create_program(uow, region_id=region_id, program=program, now=now)
    month = seoul_month(now)
    budget_won = int(count * BUDGET_SHARE) * BONUS_WON
    registry.fund_discount_budget(
        uow, region_id=region_id, amount_won=budget_won, idempotency_key="bench-rush", now=now
    )
    prefix = f"dgt_rush{secrets.token_hex(12)}_"
    values = {"r": region_id, "n": count, "at": now, "until": now + timedelta(hours=6)}
    statements = [
        "INSERT INTO users (kind, login, password_hash, citizen_id, cash_receipt_number,"
        " created_at) SELECT 'citizen', c.phone, '-', c.id, c.phone, :at FROM citizens c"
        " WHERE c.region_id = :r",
        "INSERT INTO access_tokens (token_hash, user_id, created_at, expires_at)"
        " SELECT encode(sha256(convert_to(:prefix || u.citizen_id, 'UTF8')), 'hex'), u.id,"
        " :at, :until FROM users u JOIN citizens c ON c.id = u.citizen_id"
        " WHERE c.region_id = :r",
    ]
    with engine.begin() as connection:
        insert_citizens_with_wallets(
            connection, region_id=region_id, count=count, name="구매자", phone_prefix="r", at=now
        )
        for statement in statements:
            connection.execute(text(statement), {**values, "prefix": prefix})
        rows = connection.execute(
            text("SELECT id, citizen_id FROM wallets WHERE region_id = :r ORDER BY id"), values
        ).all()
        connection.execute(text("ANALYZE"))
    lines = tuple(f"{wallet} {prefix}{citizen}" for wallet, citizen in rows)
    return Buyers(region_id, month, budget_won, lines)


class BudgetWatcher(threading.Thread):
    """Reads the budget account's balance every ``WATCH_EVERY_S`` while the rush runs."""

    def __init__(self, url: str, region_id: int, month: str):
        super().__init__(name="rush-budget-watcher", daemon=True)
        self.engine = make_engine(url, pool_size=1)
        self.region_id = region_id
        self.month = month
        self.stopping = threading.Event()
        self.seen: list[int] = []

    def run(self) -> None:
        uow = UnitOfWork(self.engine, read_only=True)
        while not self.stopping.wait(WATCH_EVERY_S):
            self.seen.append(budget_balance(uow, self.region_id, self.month))

    def stop(self) -> None:
        self.stopping.set()
        self.join()
        self.engine.dispose()


def budget_balance(uow: UnitOfWork, region_id: int, month: str) -> int:
    with uow:
        account = uow.ledger.account(region_id, AccountType.DISCOUNT_BUDGET, month)
        return uow.ledger.balance(account.id)


@dataclass(frozen=True)
class BudgetCheck:
    discounts_won: int
    summary: str
    problems: list[str] = field(default_factory=list)


def check_budget(
    engine: Engine, world: Buyers, *, acknowledged: int, budget_seen: tuple[int, ...]
) -> BudgetCheck:
    """The rush's claims, read from the database: never oversold, nothing doubled, sound."""
    with engine.connect() as connection:
        purchases, wallets, discounts_won, discounted = connection.execute(
            text(
                "SELECT count(*), count(DISTINCT wallet_id), coalesce(sum(bonus_won), 0),"
                " count(*) FILTER (WHERE bonus_won > 0) FROM purchases WHERE region_id = :r"
            ),
            {"r": world.region_id},
        ).one()
    uow = UnitOfWork(engine)
    left_won = budget_balance(uow, world.region_id, world.month)
    problems = []
    if discounts_won > world.budget_won:
        problems.append(f"{discounts_won:,} won of discounts on a {world.budget_won:,} budget")
    if left_won < 0 or min(budget_seen, default=0) < 0:
        problems.append(f"the budget went negative: {min([left_won, *budget_seen]):,} won")
    if left_won != world.budget_won - discounts_won:
        problems.append(f"the budget holds {left_won:,} won, not budget less discounts")
    if wallets != purchases:
        problems.append(f"{purchases - wallets} wallet(s) bought twice")
    if purchases != acknowledged:
        problems.append(f"{purchases:,} purchases stored, {acknowledged:,} answered 201")
    problems += read_models.ledger_problems(uow, region_id=world.region_id)[:5]
    summary = (
        f"{discounted:,} of {purchases:,} purchases discounted; {left_won:,} won left; the"
        f" budget read {len(budget_seen):,} times during the rush, never below"
        f" {min(budget_seen, default=left_won):,}; no wallet twice; ledger sound"
    )
    return BudgetCheck(int(discounts_won), summary, problems)
