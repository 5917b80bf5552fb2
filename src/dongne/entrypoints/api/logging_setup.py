"""Structured logs: one JSON object a line on stderr, each with the request's id.

structlog renders every line, its own and the standard library's (uvicorn, the publisher, the
scheduler), through one handler on the root logger, so an operator's log pipeline reads one
format. The request's id is bound in a context variable by ``observability.RequestContext``
and merged into each line logged while the request runs, in its threads too.

Secrets never reach a line: no request or response body is ever logged, the access line names
the route's template (``/pay/{intent_id}``), not the path or its query string, and a
processor blanks every field named like a secret and any bearer token in a message.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

SENSITIVE_KEYS = frozenset(
    {
        "authorization",
        "ci",
        "cookie",
        "identity_number",
        "new_pin",
        "password",
        "pin",
        "resident_number",
        "secret",
        "token",
        "totp",
    }
)
BEARER = re.compile(r"(?i)bearer\s+\S+")
REDACTED = "[redacted]"
HANDLER_NAME = "dongne-json"


def redact(_logger: object, _method: str, event: MutableMapping[str, Any]) -> Any:
    for key in list(event):
        if key.lower() in SENSITIVE_KEYS:
            event[key] = REDACTED
    message = event.get("event")
    if isinstance(message, str) and "earer" in message:
        event["event"] = BEARER.sub("Bearer " + REDACTED, message)
    return event


SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    redact,
]


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a line is logged, not when the handler was
    made: a test runner (or a CLI runner) that swaps stderr and closes its copy must not leave
    the process logging into a closed stream."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Send every log line, dongne's, uvicorn's and the libraries', through one JSON handler.

    Safe to call again (each server process calls it at start): the handler is replaced, and
    handlers of others (pytest's capture) are left alone."""
    structlog.configure(
        processors=[
            *SHARED_PROCESSORS,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *SHARED_PROCESSORS],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
    )
    handler = logging.StreamHandler(stream) if stream else _CurrentStderr()
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn configures its loggers with handlers of its own; send them through ours. Its
    # access log goes: the request's own line (RequestContext) names the route, not the path.
    for name in ("uvicorn", "uvicorn.error"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
