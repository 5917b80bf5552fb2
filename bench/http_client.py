"""The Python load generator: asyncio and httpx in a process of its own.

It costs 1.5–2 ms of CPU per request (4 ms in the open loop), as much as a fifth of the
server's, so the bench drives its load with wrk (``bench/wrk.py``) and runs this one only when
wrk is missing. Closed loop: N clients, each with one connection and its own slice of the
citizens. Open loop: requests sent on a fixed schedule, latency counted from the scheduled time.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from bench.http_world import PAYMENT_WON, PIN

OPEN_LOOP_IN_FLIGHT = 256
REQUEST_TIMEOUT_S = 30.0
PATH = "/api/v1/payments/qr"


@dataclass(frozen=True)
class Load:
    base_url: str
    clients: int
    """Closed loop: concurrent clients. Open loop: ``rate`` requests a second instead."""
    tokens: tuple[str, ...]
    payloads: tuple[str, ...]
    warmup_s: float
    duration_s: float
    rate: float | None = None


@dataclass
class LoadResult:
    completed: int = 0
    """Payments made in the timed window."""
    sent: int = 0
    """Requests sent in all, warm-up included (the CPU figures are per request sent)."""
    latencies_s: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    """Every response that was not a 201, warm-up included, by status (and problem code)."""
    duration_s: float = 0.0
    cpu_s: float = 0.0
    late_s: float = 0.0
    """Open loop: how far the generator fell behind its schedule at worst."""

    @property
    def per_second(self) -> float:
        return self.completed / self.duration_s if self.duration_s else 0.0

    def percentile_ms(self, fraction: float) -> float:
        if not self.latencies_s:
            return float("nan")
        ordered = sorted(self.latencies_s)
        return 1000 * ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class _Recorder:
    def __init__(self, window_start: float, window_stop: float):
        self.window_start = window_start
        self.window_stop = window_stop
        self.result = LoadResult()

    async def pay(
        self, client: httpx.AsyncClient, token: str, payload: str, started: float
    ) -> None:
        """One payment; its latency counts from ``started`` (the scheduled time, open loop)."""
        self.result.sent += 1
        body = {"payload": payload, "amount_won": PAYMENT_WON, "pin": PIN}
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
        try:
            response = await client.post(PATH, json=body, headers=headers)
            status = str(response.status_code)
            if response.status_code != 201:
                code = response.json().get("code") if response.content else None
                status = f"{status} {code}" if code else status
        except (httpx.HTTPError, ValueError) as error:
            status = type(error).__name__
        done = time.perf_counter()
        if status != "201":
            self.result.statuses[status] += 1
        elif self.window_start <= done <= self.window_stop:
            self.result.completed += 1
            self.result.latencies_s.append(done - started)


def _client(base_url: str, connections: int) -> httpx.AsyncClient:
    """Plain HTTP: ``verify=False`` spares each client loading the CA bundle (tens of ms)."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(
        base_url=base_url,
        limits=limits,
        timeout=REQUEST_TIMEOUT_S,
        verify=False,  # noqa: S501 - http://127.0.0.1, no TLS at all
    )


async def _closed_loop(load: Load, clients: list[httpx.AsyncClient]) -> LoadResult:
    began = time.perf_counter()
    stop = began + load.warmup_s + load.duration_s
    recorder = _Recorder(began + load.warmup_s, stop)

    async def client(index: int) -> None:
        tokens = load.tokens[index :: load.clients]
        payload = load.payloads[index % len(load.payloads)]
        async with clients[index] as http:
            turn = 0
            while (started := time.perf_counter()) < stop:
                await recorder.pay(http, tokens[turn % len(tokens)], payload, started)
                turn += 1

    await asyncio.gather(*(client(i) for i in range(load.clients)))
    recorder.result.duration_s = load.duration_s
    return recorder.result


async def _open_loop(load: Load, clients: list[httpx.AsyncClient]) -> LoadResult:
    assert load.rate
    began = time.perf_counter()
    stop = began + load.warmup_s + load.duration_s
    recorder = _Recorder(began + load.warmup_s, stop)
    tasks: set[asyncio.Task[None]] = set()
    async with clients[0] as http:
        turn = 0
        while (scheduled := began + turn / load.rate) < stop:
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                recorder.result.late_s = max(recorder.result.late_s, -delay)
            token = load.tokens[turn % len(load.tokens)]
            payload = load.payloads[turn % len(load.payloads)]
            task = asyncio.create_task(recorder.pay(http, token, payload, scheduled))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            turn += 1
        await asyncio.gather(*tasks)
    recorder.result.duration_s = load.duration_s
    return recorder.result


def generate(load: Load) -> LoadResult:
    """Runs in the load generator's process."""

    async def main() -> LoadResult:
        connections = 1 if load.rate is None else OPEN_LOOP_IN_FLIGHT
        clients = [_client(load.base_url, connections) for _ in range(max(1, load.clients))]
        cpu = time.process_time()  # the clients' set-up is not the load's
        loop = _open_loop if load.rate else _closed_loop
        result = await loop(load, clients)
        result.cpu_s = time.process_time() - cpu
        return result

    return asyncio.run(main())


@contextmanager
def load_generator() -> Iterator[Callable[[Load], LoadResult]]:
    """One process for every load, started once (a fresh one would import httpx each time)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        pool.apply(time.sleep, (0,))  # started and ready before the first load

        def run(load: Load) -> LoadResult:
            return pool.apply(generate, (load,))

        yield run
