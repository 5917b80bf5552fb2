"""A bound on request bodies: nothing the API takes is near 64 KiB, so more is refused early
with 413 instead of being read into memory (checked on Content-Length and while streaming)."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_REQUEST_BYTES = 64 * 1024
LARGER_BODIES: dict[str, int] = {}
"""Path patterns (regular expressions) of the few routes that take files, with their bound."""


def allow_larger_body(path_pattern: str, max_bytes: int) -> None:
    """Let requests to paths matching ``path_pattern`` carry up to ``max_bytes``."""
    LARGER_BODIES[path_pattern] = max_bytes


async def read_whole_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body (``BodySizeLimit`` bounds it first), and a ``receive`` that replays it:
    for a middleware or route that looks at the body before the route that reads it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    return body, _replaying(body, receive)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` whole first, then what ``receive`` gives."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _bound(path: str, default: int) -> int:
    for pattern, max_bytes in LARGER_BODIES.items():
        if re.fullmatch(pattern, path):
            return max_bytes
    return default


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_REQUEST_BYTES):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = _bound(scope.get("path", ""), self.max_bytes)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            await _too_large(send, max_bytes)
            return
        # Read the (bounded) body first, then replay it: a route's own body parsing would
        # turn an error raised mid-stream into a generic 400.
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > max_bytes:
                await _too_large(send, max_bytes)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replaying(b"".join(chunks), receive), send)


async def _too_large(send: Send, max_bytes: int) -> None:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": "Request too large",
        "status": 413,
        "code": "REQUEST_TOO_LARGE",
        "detail": f"request bodies are at most {max_bytes} bytes",
    }
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
