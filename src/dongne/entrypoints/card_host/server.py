"""The authorization host: ISO 8583 over TCP, answered as the card's issuer.

One asyncio loop reads framed messages from any number of connections; a connection may
carry several messages at once, each answered when its decision is ready (a response names
its request by DE11, DE37 and DE41). Decisions run on a pool of threads, each with its own
unit of work, under a deadline: a decision that is not ready in time is answered 91 (issuer
unavailable). So is one that fails for any other reason than a refusal (a database that has
gone away, a pool exhausted by overload). The card fails closed: nothing but a decision
taken in time approves, and nothing falls back to another source of funds.

The service checks the same deadline just before it commits, so a late decision rolls back;
should a commit still land after its 91 was sent, the host reverses it at once
(``reverse_late_approval``), so the terminal's answer and the ledger agree.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from dongne.adapters.iso8583_messages import (
    FRAME_HEADER,
    MESSAGE_MAX_BYTES,
    Fields,
    card_request,
    decode,
    encode,
    frame,
    response,
)
from dongne.bootstrap import App
from dongne.domain.cards import CardMessageInvalid, CardRequest, ResponseCode
from dongne.services.card_authorizations import (
    CardAnswer,
    authorize,
    reverse,
    reverse_late_approval,
)

log = logging.getLogger(__name__)

DEADLINE_SECONDS_DEFAULT = 2.0
"""Card networks give an issuer a few seconds; answering 91 in time beats answering late."""
WORKERS_DEFAULT = 8
LATE_REVERSAL_ATTEMPTS = 5


@dataclass(frozen=True)
class Decision:
    response_code: str
    approval_code: str | None = None


class CardHost:
    def __init__(
        self,
        app: App,
        *,
        deadline_seconds: float = DEADLINE_SECONDS_DEFAULT,
        workers: int = WORKERS_DEFAULT,
        clock: Callable[[], datetime] | None = None,
    ):
        self.app = app
        self.clock = clock or _utc_now
        self.deadline_seconds = deadline_seconds
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="card-host")

    async def serve(self, host: str, port: int, ready: asyncio.Future[int] | None = None) -> None:
        server = await asyncio.start_server(self._connection, host, port)
        if ready is not None:
            ready.set_result(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)

    async def respond(self, raw: bytes) -> Fields | None:
        """The answer to one message; None for bytes that are no message at all."""
        try:
            fields = decode(raw)
        except CardMessageInvalid as error:
            log.warning("card host: unreadable message dropped: %s", error.message)
            return None
        message_type = fields.get("t", "")
        if message_type == "0800":
            return response(fields, ResponseCode.APPROVED)
        if message_type not in {"0100", "0200", "0400"}:
            return response(fields, ResponseCode.FORMAT_ERROR)
        try:
            request = card_request(fields)
        except CardMessageInvalid:
            return response(fields, ResponseCode.FORMAT_ERROR)
        decision = await self._decide_in_time(request)
        return response(fields, decision.response_code, approval_code=decision.approval_code)

    async def _decide_in_time(self, request: CardRequest) -> Decision:
        deadline = time.monotonic() + self.deadline_seconds
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self.executor, self._decide, request, deadline)
        try:
            answer = await asyncio.wait_for(asyncio.shield(future), timeout=self.deadline_seconds)
            return _decision(answer)
        except TimeoutError:
            future.add_done_callback(self._reverse_if_approved_late)
            log.warning("card host: no decision in %.1f s: 91", self.deadline_seconds)
        except Exception:
            # Fail closed: whatever kept the decision from being taken (the database gone,
            # the pool exhausted, a bug) is answered as the issuer being unavailable.
            log.exception("card host: no decision: 91")
        return Decision(ResponseCode.ISSUER_UNAVAILABLE)

    def _decide(self, request: CardRequest, deadline: float) -> Decision | CardAnswer:
        now = self.clock()
        uow = self.app.unit_of_work()
        if request.message_type == "0400":
            reversed_ = reverse(uow, request, now=now, deadline=deadline)
            return Decision(reversed_.response_code)
        return authorize(uow, self.app.secrets, request, now=now, deadline=deadline)

    def _reverse_if_approved_late(self, future: asyncio.Future[Decision | CardAnswer]) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        answer = future.result()
        if isinstance(answer, CardAnswer) and answer.newly_approved:
            assert answer.authorization_id is not None  # noqa: S101 - an approval has its row
            self.executor.submit(self._reverse_late, answer.authorization_id)

    def _reverse_late(self, authorization_id: int) -> None:
        for attempt in range(LATE_REVERSAL_ATTEMPTS):
            try:
                returned = reverse_late_approval(
                    self.app.unit_of_work(), authorization_id, now=self.clock()
                )
            except Exception:
                log.exception("card host: late approval %s not yet reversed", authorization_id)
                time.sleep(2**attempt)
                continue
            log.warning("card host: late approval %s reversed (%s won)", authorization_id, returned)
            return

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writing = asyncio.Lock()
        answering: set[asyncio.Task[None]] = set()
        try:
            while True:
                (length,) = FRAME_HEADER.unpack(await reader.readexactly(FRAME_HEADER.size))
                if length > MESSAGE_MAX_BYTES:
                    log.warning("card host: a %d-byte frame: connection closed", length)
                    break
                raw = await reader.readexactly(length)
                task = asyncio.create_task(self._answer(raw, writer, writing))
                answering.add(task)
                task.add_done_callback(answering.discard)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the terminal hung up
        finally:
            if answering:
                await asyncio.gather(*answering, return_exceptions=True)
            writer.close()

    async def _answer(
        self, raw: bytes, writer: asyncio.StreamWriter, writing: asyncio.Lock
    ) -> None:
        answer = await self.respond(raw)
        if answer is None:
            return
        async with writing:
            writer.write(frame(encode(answer)))
            await writer.drain()


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _decision(answer: Decision | CardAnswer) -> Decision:
    if isinstance(answer, CardAnswer):
        return Decision(answer.response_code, answer.approval_code)
    return answer


class RunningHost:
    """A host serving on a thread of its own (for the demo, the simulator's tests and the
    bench): ``with RunningHost(app) as host:`` listens on ``host.port``."""

    def __init__(
        self,
        app: App,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        deadline_seconds: float = DEADLINE_SECONDS_DEFAULT,
        workers: int = WORKERS_DEFAULT,
        clock: Callable[[], datetime] | None = None,
    ):
        self.card_host = CardHost(
            app, deadline_seconds=deadline_seconds, workers=workers, clock=clock
        )
        self.host = host
        self._requested_port = port
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="card-host-loop", daemon=True)
        self._started = threading.Event()
        self._serving: asyncio.Task[None] | None = None

    def __enter__(self) -> RunningHost:
        self._thread.start()
        self._started.wait(timeout=10)
        if not self.port:
            raise RuntimeError("the card host did not start")
        return self

    def __exit__(self, *_: object) -> None:
        if self._serving is not None:
            self._loop.call_soon_threadsafe(self._serving.cancel)
        self._thread.join(timeout=10)
        self.card_host.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        ready: asyncio.Future[int] = self._loop.create_future()
        ready.add_done_callback(self._on_ready)
        serve = self.card_host.serve(self.host, self._requested_port, ready)
        self._serving = self._loop.create_task(serve)
        try:
            self._loop.run_until_complete(self._serving)
        except asyncio.CancelledError:
            pass
        finally:
            _hang_up_and_close(self._loop)

    def _on_ready(self, ready: asyncio.Future[int]) -> None:
        self.port = ready.result()
        self._started.set()


def _hang_up_and_close(loop: asyncio.AbstractEventLoop) -> None:
    """Close ``loop`` once every terminal still connected is hung up on. Stopping the server
    closes its listening socket, not the connections it accepted (Python 3.11): their
    handlers are cancelled here so that each closes its writer, and the loop turns once more,
    as a transport closes its socket on the loop's next turn; a loop closed before that left
    the sockets open until the process ended."""
    handlers = asyncio.all_tasks(loop)
    for handler in handlers:
        handler.cancel()
    loop.run_until_complete(asyncio.gather(*handlers, return_exceptions=True))
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()
