"""Policy allowances' figures: a 1,000,000-recipient disbursement on PostgreSQL, end to end,
and the expiry job over the 1,000,000 lots it made.

Seeded in bulk, untimed (INSERT … SELECT generate_series): a region with a million citizens,
each with a wallet (its account and balance row) and an account carrying the HMAC of a resident
number, and a program funded with exactly what the lists need. The recipient lists are written
as CSV files of 500,000 rows (the most one list may hold), untimed. Timed, end to end, as an
official runs it: each list is parsed (identities hashed), matched into a preview and stored
(``allowance_uploads.upload_recipients``), then disbursed (``allowance_disbursement.disburse``:
the up-front check, then chunks of 10,000 grants, each one database transaction with one
ledger transaction, written by the server from the list's rows on PostgreSQL). The reference,
measured in the same run, is a COPY of the same million grant rows into a scratch table
without indexes: the least any disbursement must write. Then the expiry job, at the end of
validity, empties the million lots back into the budget, a chunk of 10,000 per database
transaction.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, text

from bench.bulk_people import insert_citizens_with_wallets
from bench.postgres import (
    SCRATCH_DATABASE,
    ScratchDatabase,
    migrated_scratch,
)
from bench.report import Figure, PartResults, figures_table, progress_bar
from dongne.adapters.db.allowance_records import Upload
from dongne.adapters.recipient_files import MAX_ROWS, read_recipients
from dongne.adapters.secrets import Secrets
from dongne.domain.access import Principal, UserKind
from dongne.domain.allowances import AllowanceTerms
from dongne.services import (
    allowance_disbursement,
    allowance_expiry,
    allowance_uploads,
    allowances,
    registry,
)
from dongne.services.allowance_disbursement import disburse
from dongne.services.allowance_expiry import expire_program
from dongne.services.unit_of_work import UnitOfWork

SCRATCH = f"{SCRATCH_DATABASE}_allowances"
RECIPIENTS_VARIABLE = "DONGNE_BENCH_RECIPIENTS"
"""How many people to pay instead of 1,000,000 (50,000 with ``--quick``): a profile or a
before/after comparison at 100,000 takes minutes, not a quarter of an hour."""
AMOUNT_WON = 10_000
DISBURSE_AIM_S = 60.0
EXPIRY_AIM_S = 30.0
POOL_SIZE = max(allowance_disbursement.WORKERS, allowance_expiry.WORKERS) + 2
"""Connections kept open: the chunks' (one per worker), the service's own and the CPU meter's.
One fewer, and a chunk's connection is closed when it is handed back, taking its backend's
CPU out of the meter's sum (and a new backend starts for a later chunk)."""
OPERATOR = Principal(UserKind.OPERATOR, user_id=0)
SECRETS = Secrets(pin_key=b"bench-pin-key", identity_key=b"bench-identity-key")


@dataclass(frozen=True)
class AllowanceSettings:
    recipients: int

    @classmethod
    def for_run(cls, *, quick: bool) -> AllowanceSettings:
        chosen = os.environ.get(RECIPIENTS_VARIABLE)
        if chosen:
            return cls(int(chosen))
        return cls(50_000 if quick else 1_000_000)


class AllowanceBench:
    def __init__(self, settings: AllowanceSettings, console: Console, now: datetime):
        self.settings = settings
        self.console = console
        self.now = now
        self.results = PartResults()
        self.cpu: dict[str, CpuMeter] = {}

    def run(self) -> PartResults:
        with migrated_scratch(
            SCRATCH,
            "allowances",
            self.results.notes,
            pool_size=POOL_SIZE,
        ) as scratch:
            if scratch is not None:
                self._measure(*scratch)
        return self.results

    def _measure(self, engine: Engine, scratch: ScratchDatabase) -> None:
        count = self.settings.recipients
        self.console.print(f"[bold]allowances[/bold]: seeding {count:,} citizens and lists …")
        began = time.monotonic()
        program_id, until = _seed(engine, self.now, count)
        lists = _recipient_lists(count)
        scratch.settle()
        self.console.print(f"  seeded in {time.monotonic() - began:.0f} s")

        copy_s = _copy_reference(engine, program_id)
        scratch.settle()
        uploaded_s, disbursed_s = self._upload_and_disburse(engine, program_id, lists, count)
        report = allowances.program_report(UnitOfWork(engine), OPERATOR, program_id=program_id)
        if (report.granted_count, report.balance_won) != (count, 0):
            self.results.failed = True
            self.results.notes.append(f"disbursement did not pay everyone: {report}")
        scratch.settle()
        expiry_s, expired = self._expire(engine, program_id, until, count)
        if expired != count:
            self.results.failed = True
            self.results.notes.append(f"the expiry job emptied {expired:,} lots, not {count:,}")
        end_to_end_s = uploaded_s + disbursed_s
        self.results.figures += [
            Figure(
                f"upload, preview, disburse {count:,} recipients",
                f"{end_to_end_s:.1f} s ({count / end_to_end_s:,.0f}/s)",
                f"COPY of the grant rows: {copy_s:.1f} s",
                f"{end_to_end_s / copy_s:.1f}",
                f"< {DISBURSE_AIM_S:.0f} s",
                f"{len(lists)} CSV lists parsed and previewed in {uploaded_s:.1f} s"
                f" ({self.cpu['upload'].summary()}), then paid",
            ),
            Figure(
                f"disburse {count:,} recipients",
                f"{disbursed_s:.1f} s ({count / disbursed_s:,.0f}/s)",
                f"COPY of the grant rows: {copy_s:.1f} s",
                f"{disbursed_s / copy_s:.1f}",
                "≤ 10 × COPY",
                "10,000 grants per database transaction and ledger transaction, written by"
                " the server from the list's rows;"
                f" {self.cpu['disburse'].summary()}",
            ),
            Figure(
                f"expire {count:,} lots",
                f"{expiry_s:.1f} s ({count / expiry_s:,.0f}/s)",
                f"COPY of the grant rows: {copy_s:.1f} s",
                f"{expiry_s / copy_s:.1f}",
                f"< {EXPIRY_AIM_S:.0f} s",
                "10,000 lots per database transaction and ledger transaction;"
                f" {self.cpu['expire'].summary()}",
            ),
        ]

    def _upload_and_disburse(
        self, engine: Engine, program_id: int, lists: list[bytes], count: int
    ) -> tuple[float, float]:
        """Seconds spent parsing and previewing the lists, and paying them."""
        uploaded_s = disbursed_s = 0.0
        upload_cpu = self.cpu["upload"] = CpuMeter(engine)
        disburse_cpu = self.cpu["disburse"] = CpuMeter(engine)
        with progress_bar(self.console) as bar:
            task = bar.add_task("uploading and disbursing", total=count)
            done_before = 0
            for number, data in enumerate(lists, start=1):
                with upload_cpu:
                    began = time.perf_counter()
                    rows = read_recipients(data, f"list-{number}.csv", SECRETS.identity_digest)
                    summary = allowance_uploads.upload_recipients(
                        UnitOfWork(engine), OPERATOR, program_id=program_id,
                        filename=f"list-{number}.csv", rows=rows.rows, now=self.now,
                    )  # fmt: skip
                    uploaded_s += time.perf_counter() - began

                def advance(upload: Upload, before: int = done_before) -> None:
                    bar.update(task, completed=before + upload.paid_count + upload.pending_count)

                with disburse_cpu:
                    began = time.perf_counter()
                    disburse(UnitOfWork(engine), OPERATOR, upload_id=summary.upload_id,
                             now=self.now, on_progress=advance)  # fmt: skip
                    disbursed_s += time.perf_counter() - began
                done_before += summary.counts["matched"] + summary.counts["unmatched"]
        self.console.print(
            f"  parsed and previewed {count:,} rows in {uploaded_s:.1f} s"
            f" ({upload_cpu.summary()}), disbursed them in {disbursed_s:.1f} s"
            f" ({disburse_cpu.summary()})"
        )
        return uploaded_s, disbursed_s

    def _expire(
        self, engine: Engine, program_id: int, until: datetime, count: int
    ) -> tuple[float, int]:
        with progress_bar(self.console) as bar, CpuMeter(engine) as meter:
            self.cpu["expire"] = meter
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
        self.console.print(
            f"  expired {report.lots_expired:,} lots in {took:.1f} s ({meter.summary()})"
        )
        return took, report.lots_expired


@dataclass
class CpuMeter:
    """CPU seconds spent by this process and by the scratch database's backends while a step
    runs: on a shared machine the wall time says how busy the others were, the CPU what the
    step costs (on an idle machine the wall time is about the larger of the two, plus the
    commits' flushes)."""

    engine: Engine
    client_s: float = 0.0
    server_s: float | None = 0.0
    wal_bytes: int = 0
    """The WAL the server wrote meanwhile (all of it: the bench is meant to run alone), a
    measure of the rows and index entries written that the machine's speed does not move."""
    _began: tuple[float, dict[int, float], str] = (0.0, {}, "0/0")

    def __enter__(self) -> CpuMeter:
        self._began = (time.process_time(), self._backends(), self._wal_position())
        return self

    def __exit__(self, *exc: object) -> None:
        client, backends, wal_began = self._began
        self.client_s += time.process_time() - client
        self.wal_bytes += self._wal_since(wal_began)
        after = self._backends()
        if self.server_s is None or not after:
            self.server_s = None
            return
        self.server_s += sum(cpu - backends.get(pid, 0.0) for pid, cpu in after.items())

    def _backends(self) -> dict[int, float]:
        with self.engine.connect() as connection:
            pids = connection.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            ).scalars()
            return {pid: cpu for pid in pids if (cpu := _process_cpu_s(pid)) is not None}

    def _wal_position(self) -> str:
        with self.engine.connect() as connection:
            return str(connection.execute(text("SELECT pg_current_wal_lsn()")).scalar_one())

    def _wal_since(self, began: str) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(
                    text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), CAST(:began AS pg_lsn))"),
                    {"began": began},
                ).scalar_one()
            )

    def summary(self) -> str:
        server = "?" if self.server_s is None else f"{self.server_s:.1f}"
        wal = f"WAL {self.wal_bytes / 2**20:,.0f} MiB"
        return f"CPU: client {self.client_s:.1f} s, PostgreSQL {server} s; {wal}"


def _process_cpu_s(pid: int) -> float | None:
    """User + system CPU of a local process (a PostgreSQL backend), None if unreadable."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _identity(number: int) -> str:
    """The resident number of seeded person ``number`` (well formed; the last digit is not
    checked, as for numbers issued since 2020)."""
    return f"800101{1_000_000 + number:07d}"


def _seed(engine: Engine, now: datetime, count: int) -> tuple[int, datetime]:
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
    values = {"r": region_id, "n": count, "at": now}
    statements = [
        "CREATE TEMPORARY TABLE bench_identities (phone TEXT, identity_hmac TEXT)",
    ]
    with engine.begin() as connection:
        insert_citizens_with_wallets(
            connection, region_id=region_id, count=count, name="시민", phone_prefix="b", at=now
        )
        for statement in statements:
            connection.execute(text(statement), values)
        raw: Any = connection.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy("COPY bench_identities FROM STDIN") as copy:
            for number in range(1, count + 1):
                copy.write_row((f"b{number}", SECRETS.identity_digest(_identity(number))))
        connection.execute(
            text(
                "INSERT INTO users (kind, login, password_hash, citizen_id, identity_hmac,"
                " created_at) SELECT 'citizen', c.phone, '-', c.id, i.identity_hmac, :at"
                " FROM citizens c JOIN bench_identities i ON i.phone = c.phone"
                " WHERE c.region_id = :r"
            ),
            values,
        )
    return created.program_id, until


def _recipient_lists(count: int) -> list[bytes]:
    """The million people as CSV lists of at most ``MAX_ROWS`` rows, as a city exports them."""
    lists = []
    for start in range(1, count + 1, MAX_ROWS):
        lines = ["주민등록번호,이름,전화번호"]
        lines += [
            f"{_identity(number)},시민,010-{number // 10_000 % 10_000:04d}-{number % 10_000:04d}"
            for number in range(start, min(start + MAX_ROWS, count + 1))
        ]
        lists.append("\n".join(lines).encode())
    return lists


def _copy_reference(engine: Engine, program_id: int) -> float:
    """Seconds to COPY the million grant rows a disbursement writes into a bare scratch table
    (the rows are read before the clock starts)."""
    with engine.begin() as connection:
        rows: list[tuple[Any, ...]] = [
            tuple(row)
            for row in connection.execute(
                text(
                    "SELECT w.id, w.region_id, :p, s.identity_hmac, 0, w.id, :amount,"
                    " 'granted', w.id, 0, now() FROM wallets w"
                    " JOIN users s ON s.citizen_id = w.citizen_id"
                    " JOIN allowance_programs p ON p.id = :p AND p.region_id = w.region_id"
                    " ORDER BY w.id"
                ),
                {"p": program_id, "amount": AMOUNT_WON},
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
        "people and wallets are seeded and the CSV lists written untimed; parsing, previewing"
        " and disbursing them are timed (the disbursement's time includes its up-front check)",
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
