"""Several uvicorn workers behind one port, each taking a fair share of the connections.

uvicorn's own supervisor hands every worker the same listening socket, and the kernel gives a
new connection to whichever worker is waiting in ``epoll`` at that moment. Clients that open
their connections at once (a city app's pool, a load test) land unevenly: one worker was seen
holding 20 of 32, or 18 of 32 with three workers, and the busier worker sets the latency
every client of it sees (the p99 at half the peak rate went from 46–58 ms with 16 and 16 to
96 ms with 12 and 20; ``docs/performance.md``).

Here each worker accepts for itself, and only while it holds no more connections than the
least loaded of the others: the counts sit in shared memory, one slot a worker, written as a
worker accepts and every ``_PUBLISH_S``. A worker with more than its share stops reading the
listening socket, so the kernel's next connection goes to one that does, and looks again
every ``_RETRY_S``. The least loaded worker always accepts, so a connection never waits for
the balancing longer than that. The supervisor starts a replacement for a worker that dies,
in its slot, after marking the slot empty so that the others do not wait for it. A worker
that dies before it served stops the server: its replacement would die too, again and again.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
from typing import TYPE_CHECKING

import uvicorn
from uvicorn.config import STARTUP_FAILURE

if TYPE_CHECKING:
    from multiprocessing.context import SpawnProcess

logger = logging.getLogger("dongne.serve")

GONE = -1
"""A slot whose worker has not started, or has died: the others ignore it."""
LEAVING = -2
"""A slot whose worker is stopping: it accepts no more, and the others ignore it."""
_RETRY_S = 0.002
"""How soon a worker that stopped accepting looks again at the others' counts."""
_AFTER_FAILURE_S = 0.1
"""How long a worker waits after accept failed (out of descriptors, say) before it tries again."""
_PUBLISH_S = 0.05
"""How often a worker writes its count down (closed connections lower it)."""
_STOP_GRACE_S = 30.0
"""How long the supervisor waits for its workers to finish their requests on a stop."""


class ConnectionCounts:
    """Each worker's open connections, in memory the workers share."""

    def __init__(self, workers: int) -> None:
        # No lock: a slot is written by its worker alone (and by the supervisor once that
        # worker is gone), and an int is written and read whole.
        self._counts: ctypes.Array[ctypes.c_int] = multiprocessing.get_context("spawn").RawArray(
            ctypes.c_int, [GONE] * workers
        )

    def publish(self, slot: int, count: int) -> None:
        self._counts[slot] = count

    def started(self, slot: int) -> bool:
        """Whether the slot's worker came to serve (it publishes its first count then)."""
        return bool(self._counts[slot] != GONE)

    def fewest_elsewhere(self, slot: int) -> int | None:
        """The fewest connections any other running worker holds; None if none runs."""
        others = [count for index, count in enumerate(self._counts) if index != slot]
        running = [count for count in others if count >= 0]
        return min(running) if running else None


class _Acceptor:
    """Accepts connections on ``listener`` for one worker's server while its share allows."""

    def __init__(
        self, server: BalancedServer, listener: socket.socket, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.server = server
        self.listener = listener
        self.loop = loop
        self.adopting: set[asyncio.Task[None]] = set()  # kept, or a task may be collected
        self.reading = False
        self.stopped = False
        listener.setblocking(False)

    def start(self) -> None:
        self._resume()
        self._publish_every()

    def stop(self) -> None:
        self.stopped = True
        self._pause()
        self.server.counts.publish(self.server.slot, LEAVING)

    def held(self) -> int:
        return len(self.server.server_state.connections) + len(self.adopting)

    def may_accept(self) -> bool:
        fewest = self.server.counts.fewest_elsewhere(self.server.slot)
        return fewest is None or self.held() <= fewest

    def _readable(self) -> None:
        while self.may_accept():
            try:
                connection, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # out of descriptors, say: say so, wait, try again
                logger.warning("accepting a connection failed: %s", error)
                self._pause()
                self.loop.call_later(_AFTER_FAILURE_S, self._retry)
                return
            adoption = self.loop.create_task(self._adopt(connection))
            self.adopting.add(adoption)
            adoption.add_done_callback(self.adopting.discard)
            self.server.counts.publish(self.server.slot, self.held())
        self._pause()
        self.loop.call_later(_RETRY_S, self._retry)

    async def _adopt(self, connection: socket.socket) -> None:
        try:
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await self.loop.connect_accepted_socket(self.server.protocol_factory, connection)
        except OSError as error:  # the client left before it was adopted
            logger.debug("a new connection closed at once: %s", error)
            connection.close()

    def _retry(self) -> None:
        if self.stopped or self.reading:
            return
        if self.may_accept():
            self._resume()
        else:
            self.loop.call_later(_RETRY_S, self._retry)

    def _publish_every(self) -> None:
        if self.stopped:
            return
        self.server.counts.publish(self.server.slot, self.held())
        self.loop.call_later(_PUBLISH_S, self._publish_every)

    def _resume(self) -> None:
        if not self.reading and not self.stopped:
            self.loop.add_reader(self.listener.fileno(), self._readable)
            self.reading = True

    def _pause(self) -> None:
        if self.reading:
            self.loop.remove_reader(self.listener.fileno())
            self.reading = False


class BalancedServer(uvicorn.Server):
    """uvicorn's server for one worker, accepting its share of ``sockets[0]`` itself."""

    def __init__(self, config: uvicorn.Config, counts: ConnectionCounts, slot: int) -> None:
        super().__init__(config)
        self.counts = counts
        self.slot = slot
        self._acceptor: _Acceptor | None = None

    def protocol_factory(self) -> asyncio.Protocol:
        """What uvicorn's own ``create_server`` would make for each connection."""
        protocol: asyncio.Protocol = self.config.http_protocol_class(  # type: ignore[call-arg]
            config=self.config, server_state=self.server_state, app_state=self.lifespan.state
        )
        return protocol

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        # No socket for uvicorn to serve: it starts the app (lifespan), and this accepts.
        await super().startup(sockets=[])
        if self.started and sockets:
            self.counts.publish(self.slot, 0)
            self._acceptor = _Acceptor(self, sockets[0], asyncio.get_running_loop())
            self._acceptor.start()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._acceptor is not None:
            self._acceptor.stop()
        await super().shutdown(sockets=None)


def _worker(
    config: uvicorn.Config, listener: socket.socket, counts: ConnectionCounts, slot: int
) -> None:
    """One worker process: uvicorn's logging, then the server until it is told to stop."""
    config.configure_logging()
    BalancedServer(config, counts, slot).run(sockets=[listener])


class _Supervisor:
    """Starts ``config.workers`` processes on one listening socket and keeps them running."""

    def __init__(self, config: uvicorn.Config) -> None:
        self.config = config
        self.counts = ConnectionCounts(config.workers)
        self.listener = config.bind_socket()
        self.listener.listen(config.backlog)  # as uvicorn's create_server would
        self.context = multiprocessing.get_context("spawn")
        self.processes: list[SpawnProcess] = []
        self.stopping = threading.Event()
        self.failed = False

    def _start(self, slot: int) -> SpawnProcess:
        process = self.context.Process(
            target=_worker, args=(self.config, self.listener, self.counts, slot), daemon=False
        )
        process.start()
        return process

    def run(self) -> None:
        for received in (signal.SIGINT, signal.SIGTERM):
            signal.signal(received, lambda *_: self.stopping.set())
        workers = self.config.workers
        logger.info("supervisor %d starting %d workers", os.getpid(), workers)
        self.processes = [self._start(slot) for slot in range(workers)]
        try:
            while not self.stopping.wait(0.5):
                self._replace_the_dead()
        finally:
            self._stop_all()

    def _replace_the_dead(self) -> None:
        for slot, process in enumerate(self.processes):
            if process.is_alive() or self.stopping.is_set():
                continue
            if not self.counts.started(slot):
                # It died before it served: its replacement would too, over and over.
                logger.error("worker %s could not start; stopping", process.pid)
                self.failed = True
                self.stopping.set()
                return
            self.counts.publish(slot, GONE)
            logger.warning(
                "worker %s stopped (exit code %s); starting another", process.pid, process.exitcode
            )
            self.processes[slot] = self._start(slot)

    def _stop_all(self) -> None:
        for process in self.processes:
            if process.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid or 0, signal.SIGTERM)
        for process in self.processes:
            process.join(_STOP_GRACE_S)
            if process.is_alive():
                process.kill()
                process.join()
        self.listener.close()


def run_balanced(config: uvicorn.Config) -> None:
    """Serve ``config``'s app (an import string) with ``config.workers`` balanced processes
    until SIGINT or SIGTERM, which lets each worker finish its requests first."""
    if not isinstance(config.app, str):
        sys.exit("several workers need the app as an import string")
    supervisor = _Supervisor(config)
    supervisor.run()
    if supervisor.failed:
        sys.exit(STARTUP_FAILURE)
