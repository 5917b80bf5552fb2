"""The card part of ``make bench`` (``--only card``): authorization latency under load over
ISO 8583, beside the mobile payment.

Each client is a terminal with a card of its own (its own wallet) that sends 0200 purchases
one after another over its TCP connection to a host serving on this machine, for the
measurement's duration; the mobile figure is the same number of clients calling
``pay_merchant`` (the service every mobile channel ends in) on wallets of their own. The card
figure is the mobile one plus what the card adds: the ISO 8583 codec, the TCP round trip,
the host's thread hand-off and the authorization's row. Both run on a scratch PostgreSQL
database.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from bench.postgres import migrated_scratch
from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.domain.merchants import business_number_check_digit
from dongne.domain.program import VoucherProgram
from dongne.entrypoints.card_host.server import RunningHost
from dongne.entrypoints.card_host.simulator import Terminal
from dongne.services import cards, purchases, registry
from dongne.services.payments import pay_merchant
from dongne.services.unit_of_work import UnitOfWork

CLIENTS = 8
PAYMENT_WON = 1_000
FACE_WON = 500_000
ACCEPTOR_ID = "BENCH0000000001"


@dataclass(frozen=True)
class Latencies:
    name: str
    clients: int
    seconds: float
    samples_ms: list[float]
    failures: int

    @property
    def per_second(self) -> float:
        return len(self.samples_ms) / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        if len(self.samples_ms) < 2:
            return self.samples_ms[0] if self.samples_ms else 0.0
        return statistics.quantiles(self.samples_ms, n=100, method="inclusive")[int(share) - 1]


def run_card(console: Console, now: datetime, *, quick: bool) -> bool:
    """The card part: its table; True if it failed."""
    duration = 1.5 if quick else 8.0
    notes: list[str] = []
    with migrated_scratch("dongne_bench_card", "card", notes) as scratch:
        if scratch is None:
            console.print(f"[yellow]{notes[-1]}[/yellow]")
            return False
        _, database = scratch
        app = bootstrap(Settings(database_url=database.url, database_pool_size=CLIENTS + 2))
        try:
            merchant_id, wallets = _provision(app.unit_of_work(), now, CLIENTS * 2)
            pans = [_card(app, wallet_id, now) for wallet_id in wallets[:CLIENTS]]
            console.print(f"[bold]card[/bold] ({CLIENTS} clients, {duration:.1f} s each)")
            mobile = _measure(
                "mobile payment (pay_merchant)",
                duration,
                [_mobile_client(app.unit_of_work(), w, merchant_id) for w in wallets[CLIENTS:]],
            )
            with RunningHost(app, workers=CLIENTS) as host:
                terminals = [
                    Terminal(
                        host.host, host.port, terminal_id=f"BNCH{i:04d}", acceptor_id=ACCEPTOR_ID
                    )
                    for i in range(CLIENTS)
                ]
                for terminal in terminals:
                    terminal.__enter__()
                try:
                    card = _measure(
                        "card authorization (ISO 8583 0200 over TCP)",
                        duration,
                        [_card_client(t, pan) for t, pan in zip(terminals, pans, strict=True)],
                    )
                finally:
                    for terminal in terminals:
                        terminal.__exit__()
        finally:
            app.engine.dispose()
    console.print(card_table([mobile, card]))
    for note in notes:
        console.print(f"[dim]• {note}[/dim]")
    return bool(mobile.failures or card.failures)


def card_table(results: list[Latencies]) -> Table:
    table = Table(title="card authorizations beside the mobile payment, PostgreSQL")
    table.add_column("what")
    table.add_column("clients", justify="right")
    for column in ("ops/s", "p50 ms", "p99 ms", "failures"):
        table.add_column(column, justify="right")
    for result in results:
        table.add_row(
            result.name,
            str(result.clients),
            f"{result.per_second:,.0f}",
            f"{result.percentile(50):.2f}",
            f"{result.percentile(99):.2f}",
            str(result.failures),
        )
    return table


def _measure(name: str, duration: float, clients: list[Callable[[], bool]]) -> Latencies:
    samples: list[float] = []
    failures = [0]
    lock = threading.Lock()
    start = threading.Barrier(len(clients))
    stop_at = [0.0]

    def client(call: Callable[[], bool]) -> None:
        start.wait()
        mine, failed = [], 0
        while time.monotonic() < stop_at[0]:
            began = time.perf_counter()
            ok = call()
            mine.append((time.perf_counter() - began) * 1000)
            failed += not ok
        with lock:
            samples.extend(mine)
            failures[0] += failed

    stop_at[0] = time.monotonic() + duration
    threads = [threading.Thread(target=client, args=(call,)) for call in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Latencies(name, len(clients), duration, samples, failures[0])


def _mobile_client(uow: UnitOfWork, wallet_id: int, merchant_id: int) -> Callable[[], bool]:
    def pay() -> bool:
        pay_merchant(
            uow,
            wallet_id=wallet_id,
            merchant_id=merchant_id,
            amount_won=PAYMENT_WON,
            idempotency_key=f"bench-{uuid.uuid4().hex}",
            now=datetime.now(UTC),
        )
        return True

    return pay


def _card_client(terminal: Terminal, pan: str) -> Callable[[], bool]:
    def authorize() -> bool:
        _, answer = terminal.purchase(pan, PAYMENT_WON)
        return answer["39"] == "00"

    return authorize


def _provision(uow: UnitOfWork, now: datetime, wallets: int) -> tuple[int, list[int]]:
    region_id = registry.create_region(uow, code="bench-card", name="벤치시", now=now)
    registry.create_program(
        uow, region_id=region_id, program=VoucherProgram(brand_name="벤치"), now=now
    )
    head = "31415926"
    merchant_id = registry.register_merchant(
        uow,
        region_id=region_id,
        name="벤치가게",
        business_number=f"{head}0" + str(business_number_check_digit(f"{head}0")),
        category="bakery",
        annual_revenue_won=100_000_000,
        now=now,
    )
    cards.set_card_acceptor(
        uow,
        caller=None,
        merchant_id=merchant_id,
        acceptor_id=ACCEPTOR_ID,
        idempotency_key="bench",
        now=now,
    )
    wallet_ids = []
    for serial in range(wallets):
        wallet_id = registry.register_citizen(
            uow,
            name=f"시민{serial}",
            phone=f"0109{serial:07d}",
            home_region_id=region_id,
            wallet_region_id=region_id,
            idempotency_key=f"bench-citizen-{serial}",
            now=now,
        ).wallet_id
        purchases.purchase_vouchers(
            uow,
            wallet_id=wallet_id,
            face_won=FACE_WON,
            idempotency_key=f"bench-buy-{serial}",
            now=now,
        )
        wallet_ids.append(wallet_id)
    return merchant_id, wallet_ids


def _card(app: App, wallet_id: int, now: datetime) -> str:
    view = cards.link_card(
        app.unit_of_work(),
        app.secrets,
        caller=None,
        wallet_id=wallet_id,
        pan=None,
        idempotency_key=f"bench-card-{wallet_id}",
        now=now,
    )
    assert view.pan is not None
    return view.pan
