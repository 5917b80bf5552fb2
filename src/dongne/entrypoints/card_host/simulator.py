"""A terminal and its network, played for demos and tests: ``dongne card-host simulate``.

A ``Terminal`` holds one TCP connection to the host and sends one message at a time: a
purchase (0200, or 0100 for an authorization the clearing file settles later), its reversal
(0400), an echo (0800). ``burst`` sends many purchases at once, from many connections.
"""

from __future__ import annotations

import itertools
import random
import socket
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from dongne.adapters.iso8583_messages import Fields, decode, encode, frame, read_frame

SEOUL = ZoneInfo("Asia/Seoul")
PURCHASE = "000000"
"""DE3: a purchase of goods or services, from the default account."""
MCC_DEFAULT = "5812"
"""DE18: eating places and restaurants."""
KRW = "410"
TIMEOUT_SECONDS = 30.0

_stans = itertools.count(random.SystemRandom().randrange(1, 900_000))
_stan_lock = threading.Lock()


def next_stan() -> str:
    with _stan_lock:
        return f"{next(_stans) % 1_000_000:06d}"


def retrieval_reference(stan: str) -> str:
    """DE37 as many acquirers make it: YDDDHH (the year's last digit, the day in the year, the
    hour) and the STAN, 12 characters."""
    now = datetime.now(SEOUL)
    return f"{now:%y}"[-1] + f"{now.timetuple().tm_yday:03d}{now:%H}{stan}"


@dataclass
class Terminal:
    host: str
    port: int
    terminal_id: str = "TERM0001"
    acceptor_id: str = "DONGNE000000001"
    mcc: str = MCC_DEFAULT
    timeout_seconds: float = TIMEOUT_SECONDS
    _connection: socket.socket | None = field(default=None, init=False, repr=False)

    def __enter__(self) -> Terminal:
        self._connection = socket.create_connection(
            (self.host, self.port), timeout=self.timeout_seconds
        )
        return self

    def __exit__(self, *_: object) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def send(self, fields: Fields) -> Fields:
        """One request and its answer."""
        if self._connection is None:
            raise RuntimeError("open the terminal with `with Terminal(...) as terminal:`")
        self._connection.sendall(frame(encode(fields)))
        raw = read_frame(self._connection)
        if raw is None:
            raise ConnectionError("the host closed the connection without an answer")
        return decode(raw)

    def send_many(self, requests: list[Fields]) -> list[Fields]:
        """Requests sent all at once on the connection, and their answers in the requests'
        order (the host answers each when it is decided: matched back by DE11)."""
        if self._connection is None:
            raise RuntimeError("open the terminal with `with Terminal(...) as terminal:`")
        self._connection.sendall(b"".join(frame(encode(fields)) for fields in requests))
        answers: dict[str, Fields] = {}
        for _ in requests:
            raw = read_frame(self._connection)
            if raw is None:
                raise ConnectionError("the host closed the connection without an answer")
            answer = decode(raw)
            answers[answer.get("11", "")] = answer
        return [answers[request["11"]] for request in requests]

    def purchase_message(
        self,
        pan: str,
        amount_won: int,
        *,
        message_type: str = "0200",
        stan: str | None = None,
        rrn: str | None = None,
        currency: str = KRW,
    ) -> Fields:
        stan = stan or next_stan()
        now = datetime.now(UTC)
        local = now.astimezone(SEOUL)
        return {
            "t": message_type,
            "2": pan,
            "3": PURCHASE,
            "4": f"{amount_won:012d}",
            "7": f"{now:%m%d%H%M%S}",
            "11": stan,
            "12": f"{local:%H%M%S}",
            "13": f"{local:%m%d}",
            "18": self.mcc,
            "37": rrn or retrieval_reference(stan),
            "41": self.terminal_id.ljust(8),
            "42": self.acceptor_id.ljust(15),
            "49": currency,
        }

    def purchase(self, pan: str, amount_won: int, **options: str) -> tuple[Fields, Fields]:
        """Send a purchase; returns the request and its answer."""
        request = self.purchase_message(pan, amount_won, **options)
        return request, self.send(request)

    def reversal_message(self, original: Fields) -> Fields:
        """The 0400 of ``original``: a STAN of its own, the original's named in DE90."""
        original_data = original["t"] + original["11"] + original["7"] + "0" * 11 + "0" * 11
        return original | {"t": "0400", "11": next_stan(), "90": original_data}

    def reverse(self, original: Fields) -> Fields:
        return self.send(self.reversal_message(original))

    def echo(self) -> Fields:
        now = datetime.now(UTC)
        return self.send({"t": "0800", "7": f"{now:%m%d%H%M%S}", "11": next_stan(), "70": "301"})


def burst(
    host: str,
    port: int,
    *,
    pan: str,
    amount_won: int,
    count: int,
    connections: int,
    acceptor_id: str,
    terminal_prefix: str = "BRST",
) -> Counter[str]:
    """``count`` purchases sent at once, all in flight together, from ``connections``
    terminals: the response codes, counted."""
    per_terminal = [count // connections + (i < count % connections) for i in range(connections)]

    def one_terminal(index: int) -> list[str]:
        terminal_id = f"{terminal_prefix}{index:04d}"[:8]
        with Terminal(host, port, terminal_id=terminal_id, acceptor_id=acceptor_id) as terminal:
            requests = [
                terminal.purchase_message(pan, amount_won) for _ in range(per_terminal[index])
            ]
            return [answer["39"] for answer in terminal.send_many(requests)]

    with ThreadPoolExecutor(max_workers=connections) as pool:
        results = pool.map(one_terminal, range(connections))
        return Counter(code for codes in results for code in codes)
