"""What tests that start servers share: a partner's endpoint on loopback that answers what a
test says, and which server process leads (holds the leader lock)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import Engine, text

from dongne.adapters.db.leader_lock import LEADER_LOCK_KEY

Answer = Callable[[dict[str, str], bytes], int]
"""A request's headers and body -> the status to answer with."""


@contextmanager
def loopback_endpoint(answer: Answer, path: str) -> Iterator[str]:
    """An HTTP server on a free loopback port that answers every POST with ``answer``; yields
    its URL (ending in ``path``) and stops when the block ends."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(answer(dict(self.headers.items()), body))
            self.end_headers()

        def log_message(self, *_: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{path}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def leaders(engine: Engine) -> list[int]:
    """The process ids of the server workers holding the leader lock (by their session's
    ``application_name``)."""
    with engine.connect() as connection:
        names = connection.execute(
            text(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
                " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :key"
                " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ),
            {"key": LEADER_LOCK_KEY},
        ).scalars()
        return [int(name.rsplit(" ", 1)[1]) for name in names]
