"""The one table from error codes to HTTP: RFC 9457 problem details (application/problem+json).

Nothing below the entrypoints knows of HTTP; a route lets a ``DongneError`` escape and this
handler answers with the status its class maps to and the error's stable ``code``.
"""

from __future__ import annotations

import functools
import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from dongne.domain.access import (
    Forbidden,
    LoginThrottled,
    PinIncorrect,
    PinLocked,
    PinNotSet,
    Unauthenticated,
)
from dongne.domain.errors import (
    Conflict,
    DatabaseUnavailable,
    DongneError,
    IdempotencyKeyRequired,
    InvalidInput,
    LedgerUnbalanced,
    NotFound,
    RuleViolation,
    SaleQueueWaiting,
)
from dongne.domain.rate_limits import RateLimited
from dongne.entrypoints.api.deps import IDEMPOTENCY_KEY
from dongne.services.idempotency import RETRY_AFTER_SECONDS
from dongne.services.unit_of_work import is_connection_lost
from dongne.tlog.errors import VerificationFailed

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

STATUS_BY_ERROR: tuple[tuple[type[DongneError], int], ...] = (
    (InvalidInput, 400),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (PinIncorrect, 403),
    (NotFound, 404),
    (Conflict, 409),
    (PinNotSet, 409),
    (RuleViolation, 422),
    (VerificationFailed, 422),
    (PinLocked, 423),
    (SaleQueueWaiting, 429),
    (LoginThrottled, 429),
    (RateLimited, 429),
    (LedgerUnbalanced, 500),
    (DatabaseUnavailable, 503),
)
"""Checked in order: the first class the error is an instance of gives the status."""


def status_of(error: DongneError) -> int:
    for error_class, status in STATUS_BY_ERROR:
        if isinstance(error, error_class):
            return status
    return 500


ACRONYMS = frozenset({"API", "CI", "CRC", "HTTP", "ID", "PIN", "QR", "TOTP", "URL"})


def title_of(code: str) -> str:
    """A problem's title, read from its stable code as a sentence:
    ``PAYMENT_INTENT_NOT_FOUND`` is "Payment intent not found", ``PIN_LOCKED`` "PIN locked"."""
    words = [word if word in ACRONYMS else word.lower() for word in code.split("_") if word]
    if not words:
        return "Error"
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def problem(status: int, code: str, title: str, detail: str, **extra: object) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "code": code, "detail": detail}
    return JSONResponse({**body, **extra}, status_code=status, media_type=PROBLEM_JSON)


def install_error_handlers(api: FastAPI) -> None:
    async def handle(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, DongneError)  # noqa: S101 - registered for DongneError only
        response = problem(
            status_of(error), error.code, title_of(error.code), error.message, **error.details
        )
        if isinstance(error, Unauthenticated):
            response.headers["WWW-Authenticate"] = "Bearer"
        if "retry_after_seconds" in error.details:
            response.headers["Retry-After"] = str(error.details["retry_after_seconds"])
        return response

    async def handle_validation(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)  # noqa: S101 - registered for it only
        if any(_is_missing_idempotency_key(item) for item in error.errors()):
            # The header is declared required (so the OpenAPI document says so); its absence
            # keeps the stable code clients already handle.
            return await handle(
                request,
                IdempotencyKeyRequired("this request moves money: send an Idempotency-Key header"),
            )
        fields = [_field_error(item) for item in error.errors()]
        first = fields[0] if fields else {"field": "", "message": "invalid request"}
        return problem(
            422,
            "INVALID_REQUEST",
            "Invalid request",
            f"{first['field']}: {first['message']}",
            errors=fields,
        )

    async def handle_http(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)  # noqa: S101 - registered for it only
        phrase = HTTPStatus(error.status_code).phrase
        response = problem(
            error.status_code,
            f"HTTP_{error.status_code}",
            phrase[:1] + phrase[1:].lower(),
            str(error.detail),
        )
        response.headers.update(error.headers or {})
        allowed = _allowed_methods(request) if error.status_code == 405 else []
        if allowed:  # pages outside the OpenAPI document keep Starlette's own Allow
            response.headers["Allow"] = ", ".join(allowed)
        return response

    async def handle_database_error(request: Request, error: Exception) -> JSONResponse:
        # An id or number beyond what the database stores (SQLite: Python's OverflowError;
        # PostgreSQL: SQLSTATE 22003) can only come from the request: bad input, not a 500.
        if isinstance(error, OverflowError) or (
            isinstance(error, DBAPIError) and _sqlstate(error) == NUMERIC_OUT_OF_RANGE
        ):
            return problem(
                400,
                "NUMBER_OUT_OF_RANGE",
                "Number out of range",
                "a number in the request is too large",
            )
        # Any other data exception (a NUL byte PostgreSQL cannot store, a value too long for
        # its column) is about a value the request carried; the request models refuse these
        # first, so reaching here means a field escaped them: still the client's input.
        if is_connection_lost(error):
            # A read cut off by a failover or a restart: the client's retry finds the database.
            log.warning("the database connection was lost answering %s", request.url.path)
            return await handle(
                request,
                DatabaseUnavailable(
                    "the database connection was lost; try again",
                    retry_after_seconds=RETRY_AFTER_SECONDS,
                ),
            )
        if isinstance(error, DataError):
            log.warning("a request value reached the database and was refused: %s", error.orig)
            return problem(
                400,
                "VALUE_NOT_STORABLE",
                "Value not storable",
                "a value in the request cannot be stored",
            )
        return await handle_unexpected(request, error)

    async def handle_unexpected(request: Request, error: Exception) -> JSONResponse:
        # A bug, or the database gone: still problem+json, never a plain-text page.
        log.error(
            "unexpected error answering %s %s", request.method, request.url.path, exc_info=error
        )
        return problem(
            500, "INTERNAL_ERROR", "Internal error", "the server failed; nothing was changed"
        )

    api.add_exception_handler(DongneError, handle)
    api.add_exception_handler(RequestValidationError, handle_validation)
    api.add_exception_handler(OverflowError, handle_database_error)
    api.add_exception_handler(DBAPIError, handle_database_error)
    api.add_exception_handler(Exception, handle_unexpected)
    api.add_exception_handler(StarletteHTTPException, handle_http)


NUMERIC_OUT_OF_RANGE = "22003"


def _sqlstate(error: DBAPIError) -> str | None:
    return getattr(error.orig, "sqlstate", None)


HTTP_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"})


def _allowed_methods(request: Request) -> list[str]:
    """Every method the OpenAPI document gives this path: FastAPI makes one route per method,
    and Starlette's own 405 names only the first route's."""
    path = request.scope.get("path", "")
    methods: set[str] = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        if _compiled(template).fullmatch(path):
            methods |= {method.upper() for method in operations} & HTTP_METHODS
    if "GET" in methods:
        methods.add("HEAD")  # Starlette answers HEAD wherever it answers GET
    return sorted(methods)


@functools.cache
def _compiled(template: str) -> re.Pattern[str]:
    regex, _, _ = compile_path(template)
    return regex


def _is_missing_idempotency_key(item: Any) -> bool:
    return item.get("type") == "missing" and tuple(item.get("loc", ())) == (
        "header",
        IDEMPOTENCY_KEY,
    )


LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})


def _field_error(item: Any) -> dict[str, str]:
    parts = [str(part) for part in item.get("loc", ())]
    location = parts[1:] if parts and parts[0] in LOCATIONS else parts
    return {"field": ".".join(location), "message": str(item.get("msg", "invalid"))}
