"""Policy allowances' figures: a 1,000,000-recipient disbursement on PostgreSQL, and the expiry
job over the 1,000,000 lots it made.

Seeded in bulk, untimed (INSERT … SELECT generate_series): a region with a million citizens,
each with a wallet (its account and balance row) and an account carrying an identity HMAC, a
program funded with exactly what the list needs, and an uploaded list of them all, matched.
The reference, measured in the same run, is a COPY of the same million grant rows into a
scratch table without indexes: the least any disbursement must write. The figure is
``allowance_disbursement.disburse`` end to end: the up-front check (still to pay against the
budget), then chunks of 2,000 grants, each one database transaction (the program's and the
wallets' locks, one ledger transaction with a posting per wallet, the lots and their
movements, the grants, the upload's progress). Then the expiry job, at the end of validity,
empties the million lots back into the budget in chunks of 5,000.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, text

from bench.postgres import ScratchDatabase, migrated_scratch
from bench.report import Figure, PartResults, figures_table, progress_bar
from dongne.adapters.db.allowance_records import Upload
from dongne.domain.access import Principal, UserKind
from dongne.domain.allowances import AllowanceTerms
from dongne.services import allowances, registry
from dongne.services.allowance_disbursement import disburse
from dongne.services.allowance_expiry import expire_program
from dongne.services.unit_of_work import UnitOfWork

SCRATCH = "dongne_bench_allowances"
AMOUNT_WON = 10_000
DISBURSE_AIM_S = 60.0
OPERATOR = Principal(UserKind.OPERATOR, user_id=0)


@dataclass(frozen=True)
class AllowanceSettings:
    recipients: int

    @classmethod
    def for_run(cls, *, quick: bool) -> AllowanceSettings:
        return cls(50_000 if quick else 1_000_000)


class AllowanceBench:
    def __init__(self, settings: AllowanceSettings, console: Console, now: datetime):
        self.settings = settings
        self.console = console
        self.now = now
        self.results = PartResults()

    def run(self) -> PartResults:
        with migrated_scratch(SCRATCH, "allowances", self.results.notes) as scratch:
            if scratch is not None:
                self._measure(*scratch)
        return self.results

    def _measure(self, engine: Engine, scratch: ScratchDatabase) -> None:
        count = self.settings.recipients
        self.console.print(f"[bold]allowances[/bold]: seeding {count:,} citizens and a list …")
        began = time.monotonic()
        program_id, upload_id, until = _seed(engine, self.now, count)
        scratch.settle()
        self.console.print(f"  seeded in {time.monotonic() - began:.0f} s")

        copy_s = _copy_reference(engine, upload_id)
        scratch.settle()
        disbursed_s = self._disburse(engine, upload_id, count)
        report = allowances.program_report(UnitOfWork(engine), OPERATOR, program_id=program_id)
        if (report.granted_count, report.balance_won) != (count, 0):
            self.results.failed = True
            self.results.notes.append(f"disbursement did not pay everyone: {report}")
        scratch.settle()
        expiry_s, expired = self._expire(engine, program_id, until, count)
        if expired != count:
            self.results.failed = True
            self.results.notes.append(f"the expiry job emptied {expired:,} lots, not {count:,}")
        self.results.figures += [
            Figure(
                f"disburse {count:,} recipients",
                f"{disbursed_s:.1f} s ({count / disbursed_s:,.0f}/s)",
                f"COPY of the grant rows: {copy_s:.1f} s",
                f"{disbursed_s / copy_s:.1f}",
                f"< {DISBURSE_AIM_S:.0f} s",
                "2,000 grants per database transaction: ledger postings, lots, grants",
            ),
            Figure(
                f"expire {count:,} lots",
                f"{expiry_s:.1f} s ({count / expiry_s:,.0f}/s)",
                f"COPY of the grant rows: {copy_s:.1f} s",
                f"{expiry_s / copy_s:.1f}",
                "-",
                "5,000 lots per database transaction, back to the program's budget",
            ),
        ]

    def _disburse(self, engine: Engine, upload_id: int, count: int) -> float:
        with progress_bar(self.console) as bar:
            task = bar.add_task("disbursing", total=count)

            def advance(upload: Upload) -> None:
                bar.update(task, completed=upload.paid_count + upload.pending_count)

            began = time.perf_counter()
            disburse(UnitOfWork(engine), OPERATOR, upload_id=upload_id, now=self.now,
                     on_progress=advance)  # fmt: skip
            took = time.perf_counter() - began
        self.console.print(f"  disbursed {count:,} in {took:.1f} s")
        return took

    def _expire(
        self, engine: Engine, program_id: int, until: datetime, count: int
    ) -> tuple[float, int]:
        with progress_bar(self.console) as bar:
            task = bar.add_task("expiring", total=count)
            began = time.perf_counter()
            report = expire_program(
                UnitOfWork(engine),
                OPERATOR,
                program_id=program_id,
                now=until,
                on_progress=lambda done: bar.update(task, completed=done),
            )
            took = time.perf_counter() - began
        self.console.print(f"  expired {report.lots_expired:,} lots in {took:.1f} s")
        return took, report.lots_expired


def _seed(engine: Engine, now: datetime, count: int) -> tuple[int, int, datetime]:
    uow = UnitOfWork(engine)
    region_id = registry.create_region(uow, code="bench-allowances", name="벤치시", now=now)
    until = now + timedelta(days=90)
    created = allowances.create_program(
        uow,
        OPERATOR,
        region_id=region_id,
        terms=AllowanceTerms("재난지원금", AMOUNT_WON, now, until),
        budget_won=AMOUNT_WON * count,
        idempotency_key="bench-allowance-program",
        now=now,
    )
    values = {"r": region_id, "n": count, "at": now, "p": created.program_id}
    statements = [
        "INSERT INTO citizens (region_id, name, phone, created_at)"
        " SELECT :r, '시민', 'b' || i, :at FROM generate_series(1, :n) AS i",
        "INSERT INTO accounts (region_id, type, key, shard_count, may_go_negative)"
        " SELECT :r, 'wallet', 'wallet:citizen-' || c.id, 1, false FROM citizens c"
        " WHERE c.region_id = :r",
        "INSERT INTO account_balances (account_id, shard, region_id, balance_won,"
        " may_go_negative) SELECT a.id, 0, :r, 0, false FROM accounts a"
        " WHERE a.region_id = :r AND a.type = 'wallet'",
        "INSERT INTO wallets (region_id, citizen_id, account_id, created_at)"
        " SELECT :r, c.id, a.id, :at FROM citizens c JOIN accounts a"
        " ON a.region_id = :r AND a.key = 'wallet:citizen-' || c.id WHERE c.region_id = :r",
        "INSERT INTO users (kind, login, password_hash, citizen_id, identity_hmac, created_at)"
        " SELECT 'citizen', c.phone, '-', c.id, md5(c.phone) || md5(c.phone || '.'), :at"
        " FROM citizens c WHERE c.region_id = :r",
    ]
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement), values)
        upload_id = connection.execute(
            text(
                "INSERT INTO recipient_uploads (region_id, program_id, filename, uploaded_at,"
                " row_count, matched_count, unmatched_count, duplicate_count, invalid_count,"
                " total_won, status, next_row, paid_count, pending_count, skipped_count,"
                " paid_won) VALUES (:r, :p, 'bench.csv', :at, :n, :n, 0, 0, 0, :total,"
                " 'previewed', 0, 0, 0, 0, 0) RETURNING id"
            ),
            {**values, "total": AMOUNT_WON * count},
        ).scalar_one()
        connection.execute(
            text(
                "INSERT INTO recipient_rows (upload_id, row_number, region_id, identity_hmac,"
                " name, phone, amount_won, status) SELECT :u, 1 + row_number() OVER"
                " (ORDER BY c.id), :r, md5(c.phone) || md5(c.phone || '.'), c.name,"
                " '01000000000', :amount, 'matched' FROM citizens c WHERE c.region_id = :r"
            ),
            {**values, "u": upload_id, "amount": AMOUNT_WON},
        )
    return created.program_id, int(upload_id), until


def _copy_reference(engine: Engine, upload_id: int) -> float:
    """Seconds to COPY the million grant rows a disbursement writes into a bare scratch table
    (the rows are read before the clock starts)."""
    with engine.begin() as connection:
        rows: list[tuple[Any, ...]] = [
            tuple(row)
            for row in connection.execute(
                text(
                    "SELECT r.row_number, r.region_id, u.program_id, r.identity_hmac,"
                    " r.upload_id, r.row_number, r.amount_won, 'granted', w.id, 0, now()"
                    " FROM recipient_rows r"
                    " JOIN recipient_uploads u ON u.id = r.upload_id"
                    " JOIN users s ON s.identity_hmac = r.identity_hmac"
                    " JOIN wallets w ON w.citizen_id = s.citizen_id"
                    " WHERE r.upload_id = :u ORDER BY r.row_number"
                ),
                {"u": upload_id},
            )
        ]
        connection.execute(text("CREATE TABLE bench_grants_copy (LIKE allowance_grants)"))
    raw: Any = engine.raw_connection()
    try:
        began = time.perf_counter()
        with raw.cursor() as cursor:
            columns = "id, region_id, program_id, identity_hmac, upload_id, row_number,"
            columns += " amount_won, status, wallet_id, transaction_id, granted_at"
            with cursor.copy(f"COPY bench_grants_copy ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        raw.commit()
        took = time.perf_counter() - began
    finally:
        raw.close()
    return took


def allowance_table(results: PartResults) -> Table:
    return figures_table("policy allowances on PostgreSQL", results.figures)


def allowance_notes(results: PartResults) -> list[str]:
    return [
        "the list is seeded untimed; the disbursement's time includes its up-front check",
        "COPY writes the same grant rows into a table without indexes or constraints: a"
        " floor, not a rival (no ledger, lots, locks or idempotency)",
        *results.notes,
    ]


def run_allowances(console: Console, now: datetime, *, quick: bool) -> bool:
    """The allowances part of ``make bench``: its table and notes; True if it failed."""
    started = time.monotonic()
    results = AllowanceBench(AllowanceSettings.for_run(quick=quick), console, now).run()
    console.print()
    console.print(allowance_table(results))
    for note in allowance_notes(results):
        console.print(f"[dim]• {note}[/dim]")
    console.print(f"[dim]• allowances: {time.monotonic() - started:.0f} s[/dim]")
    return results.failed
