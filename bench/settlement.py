"""Daily settlement's figure: one business day of 1,000,000 payments settled on PostgreSQL.

The payments (and 2% of them half cancelled) are seeded in bulk with INSERT … SELECT
generate_series, untimed, over 10,000 merchants with bank details (1% without, 1% held), with
one balanced ledger transaction that credits each merchant's payable with its net takings, so
the payables hold what settlement will pay out. The reference, measured in the same run on the
same rows, is the plain SQL a settlement cannot do without: the GROUP BY per merchant over the
day's payments and over its cancellations (best of 3, warm). The figure is
``services.settlement.settle_day`` end to end (one database transaction: the day totals, the
carried amounts, the locked payable balance rows, a line per merchant, ledger transactions of
256 lines with a posting per merchant), then ``reconcile`` on the run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, text

from bench.postgres import ScratchDatabase, migrated_scratch
from bench.report import Figure, PartResults, figures_table
from dongne.domain.calendar import seoul_day, seoul_month
from dongne.domain.ledger import AccountType
from dongne.domain.program import VoucherProgram
from dongne.domain.settlement import day_bounds
from dongne.services import registry, settlement, settlement_reports
from dongne.services.unit_of_work import UnitOfWork

SCRATCH = "dongne_bench_settlement"
SETTLE_AIM = 20.0
"""A settlement may take this many times the bare GROUP BY: it also writes a line per merchant
and a ledger posting per merchant."""


@dataclass(frozen=True)
class SettlementSettings:
    payments: int
    merchants: int

    @classmethod
    def for_run(cls, *, quick: bool) -> SettlementSettings:
        return cls(50_000, 1_000) if quick else cls(1_000_000, 10_000)


class SettlementBench:
    def __init__(self, settings: SettlementSettings, console: Console, now: datetime):
        self.settings = settings
        self.console = console
        self.now = now
        self.results = PartResults()

    def run(self) -> PartResults:
        with migrated_scratch(SCRATCH, "settlement", self.results.notes) as scratch:
            if scratch is not None:
                self._measure(*scratch)
        return self.results

    def _measure(self, engine: Engine, scratch: ScratchDatabase) -> None:
        count, merchants = self.settings.payments, self.settings.merchants
        self.console.print(
            f"[bold]Settlement[/bold] ({count:,} payments, {merchants:,} merchants, PostgreSQL)"
        )
        day = seoul_day(self.now) - timedelta(days=1)
        began = time.monotonic()
        region_id, expected = _seed(engine, self.now, day, count, merchants)
        self.console.print(f"  seeded in {time.monotonic() - began:.1f} s")
        scratch.settle()
        reference_s = min(_group_by(engine, region_id, day) for _ in range(3))
        began = time.perf_counter()
        result = settlement.settle_day(
            UnitOfWork(engine),
            region_id=region_id,
            business_day=day,
            idempotency_key="bench-settlement",
            now=self.now,
        )
        settle_s = time.perf_counter() - began
        began = time.perf_counter()
        reconciled = settlement_reports.reconcile(
            UnitOfWork(engine), region_id=region_id, business_day=day
        )
        reconcile_s = time.perf_counter() - began
        self.console.print(
            f"  settle_day {settle_s:.2f} s, GROUP BY {reference_s:.3f} s,"
            f" reconcile {reconcile_s:.2f} s"
        )
        correct = result.transfer_won == expected and reconciled.matches
        self.results.failed = not correct
        self.results.figures += [
            Figure(
                f"settle one day: {count:,} payments, {result.line_count:,} merchants",
                f"{settle_s:.2f} s ({count / settle_s:,.0f} payments/s)",
                f"GROUP BY payments + cancellations {reference_s:.3f} s",
                f"{settle_s / reference_s:.1f}×",
                f"≤ {SETTLE_AIM:g}×",
                f"transferred {result.transfer_won:,} won to {result.transferred_count:,},"
                f" held {result.held_count:,}; {'correct' if correct else 'WRONG TOTAL'}",
            ),
            Figure(
                "reconcile that day",
                f"{reconcile_s:.2f} s",
                f"GROUP BY payments + cancellations {reference_s:.3f} s",
                f"{reconcile_s / reference_s:.1f}×",
                "-",
                "lines vs their ledger transactions, and every payable vs settlement"
                + ("" if reconciled.matches else f": {reconciled.problems[:2]}"),
            ),
        ]


def _group_by(engine: Engine, region_id: int, day: date) -> float:
    start, end = day_bounds(day)
    began = time.perf_counter()
    with engine.connect() as connection:
        connection.execute(
            text(
                "SELECT merchant_id, count(*), sum(amount_won) FROM payments WHERE region_id = :r"
                " AND paid_at >= :start AND paid_at < :end GROUP BY merchant_id"
            ),
            {"r": region_id, "start": start, "end": end},
        ).all()
        connection.execute(
            text(
                "SELECT p.merchant_id, count(*), sum(c.amount_won) FROM payment_cancellations c"
                " JOIN payments p ON p.id = c.payment_id WHERE c.region_id = :r"
                " AND c.cancelled_at >= :start AND c.cancelled_at < :end GROUP BY p.merchant_id"
            ),
            {"r": region_id, "start": start, "end": end},
        ).all()
    return time.perf_counter() - began


def _seed(engine: Engine, now: datetime, day: date, count: int, merchants: int) -> tuple[int, int]:
    """A region, its merchants, a wallet, ``count`` payments on ``day`` and their ledger
    transaction; returns the region and what settlement should transfer."""
    uow = UnitOfWork(engine)
    region_id = registry.create_region(uow, code="bench-settlement", name="정산시", now=now)
    registry.create_program(
        uow, region_id=region_id, program=VoucherProgram(brand_name="b"), now=now
    )
    wallet_id = registry.register_citizen(
        uow,
        name="벤치",
        phone="01099990000",
        home_region_id=region_id,
        wallet_region_id=region_id,
        idempotency_key="bench-citizen",
        now=now,
    ).wallet_id
    with uow:
        bank = uow.ledger.account(region_id, AccountType.CITIZEN_BANK)
        uow.commit()
    start, _ = day_bounds(day)
    values = {
        "r": region_id,
        "now": now,
        "m": merchants,
        "n": count,
        "w": wallet_id,
        "start": start,
        "month": seoul_month(start),
        "bank": bank.id,
    }
    with engine.begin() as connection:
        run = connection.execute
        run(
            text(
                "INSERT INTO accounts (region_id, type, key, shard_count, may_go_negative)"
                " SELECT :r, 'merchant_payable', 'merchant_payable:bench-' || i, 8, false"
                " FROM generate_series(1, :m) i"
            ),
            values,
        )
        run(
            text(
                "INSERT INTO account_balances (account_id, shard, region_id, balance_won,"
                " may_go_negative) SELECT a.id, s, :r, 0, false FROM accounts a,"
                " generate_series(0, 7) s WHERE a.region_id = :r AND a.type = 'merchant_payable'"
            ),
            values,
        )
        run(
            text(
                "INSERT INTO merchants (region_id, name, business_number, category,"
                " annual_revenue_won, status, account_id, created_at, status_changed_at,"
                " bank_code, bank_account_number, bank_account_holder, settlement_held)"
                " SELECT :r, '가게' || n, lpad(n::text, 10, '0'), 'bakery', 100000000, 'active',"
                " id, :now, :now, CASE WHEN n % 100 = 1 THEN NULL ELSE '004' END,"
                " '1002' || lpad(n::text, 8, '0'), '사장' || n, n % 100 = 2"
                " FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM accounts"
                " WHERE region_id = :r AND type = 'merchant_payable') a"
            ),
            values,
        )
        transaction_id = run(
            text(
                "INSERT INTO ledger_transactions (region_id, kind, created_at, idempotency_key)"
                " VALUES (:r, 'payment', :now, 'bench-seed') RETURNING id"
            ),
            values,
        ).scalar_one()
        values["tx"] = transaction_id
        first = run(text("SELECT min(id) FROM merchants WHERE region_id = :r"), values).scalar_one()
        values["first"] = first
        # Amounts 1,000-50,000 in thousands; every 50th payment half cancelled a minute later.
        run(
            text(
                "INSERT INTO payments (region_id, wallet_id, merchant_id, amount_won,"
                " cancelled_won, purchased_value_won, cashback_won, cashback_clawed_won, month,"
                " paid_at, transaction_id)"
                " SELECT :r, :w, :first + i % :m, a, CASE WHEN i % 50 = 0 THEN a / 2 ELSE 0 END,"
                " a, 0, 0, :month, :start + make_interval(secs => i * 86000.0 / :n), :tx"
                " FROM generate_series(1, :n) i,"
                " LATERAL (SELECT 1000 * (1 + i % 50 * 19 % 50) AS a) x"
            ),
            values,
        )
        run(
            text(
                "INSERT INTO payment_cancellations (region_id, payment_id, amount_won,"
                " cancelled_at, transaction_id) SELECT :r, id, cancelled_won,"
                " paid_at + interval '1 minute', :tx FROM payments"
                " WHERE region_id = :r AND cancelled_won > 0"
            ),
            values,
        )
        run(
            text(
                "INSERT INTO ledger_entries (region_id, transaction_id, account_id, amount_won)"
                " SELECT :r, :tx, m.account_id, sum(p.amount_won - p.cancelled_won)"
                " FROM payments p JOIN merchants m ON m.id = p.merchant_id"
                " WHERE p.region_id = :r GROUP BY m.account_id"
                " UNION ALL SELECT :r, :tx, :bank, -sum(amount_won - cancelled_won)"
                " FROM payments WHERE region_id = :r"
            ),
            values,
        )
        run(
            text(
                "UPDATE account_balances b SET balance_won = e.amount_won FROM ledger_entries e"
                " WHERE e.transaction_id = :tx AND b.account_id = e.account_id AND b.shard = 0"
            ),
            values,
        )
        expected = run(
            text(
                "SELECT sum(p.amount_won - p.cancelled_won) FROM payments p"
                " JOIN merchants m ON m.id = p.merchant_id WHERE p.region_id = :r"
                " AND m.bank_code IS NOT NULL AND NOT m.settlement_held"
            ),
            values,
        ).scalar_one()
    return region_id, int(expected)


def settlement_table(results: PartResults) -> Table:
    return figures_table("daily settlement (PostgreSQL)", results.figures)


def settlement_notes(results: PartResults) -> list[str]:
    return [
        "settlement: payments and cancellations seeded untimed with INSERT … SELECT"
        " generate_series over one Seoul day, the merchants' payables credited by one balanced"
        " ledger transaction; the reference is the bare GROUP BY per merchant over the same"
        " rows (payments, then cancellations joined to their payments), best of 3, warm;"
        " settle_day runs once, after ANALYZE and CHECKPOINT",
        *results.notes,
    ]
