"""The one table from error codes to HTTP: RFC 9457 problem details (application/problem+json).

Nothing below the entrypoints knows of HTTP; a route lets a ``DongneError`` escape and this
handler answers with the status its class maps to and the error's stable ``code``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

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
    DongneError,
    InvalidInput,
    LedgerUnbalanced,
    NotFound,
    RuleViolation,
    SaleQueueWaiting,
)
from dongne.tlog.errors import VerificationFailed

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
    (LedgerUnbalanced, 500),
)
"""Checked in order: the first class the error is an instance of gives the status."""


def status_of(error: DongneError) -> int:
    for error_class, status in STATUS_BY_ERROR:
        if isinstance(error, error_class):
            return status
    return 500


def problem(status: int, code: str, title: str, detail: str, **extra: object) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "code": code, "detail": detail}
    return JSONResponse({**body, **extra}, status_code=status, media_type=PROBLEM_JSON)


def install_error_handlers(api: FastAPI) -> None:
    async def handle(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, DongneError)  # noqa: S101 - registered for DongneError only
        response = problem(
            status_of(error), error.code, type(error).__name__, error.message, **error.details
        )
        if isinstance(error, Unauthenticated):
            response.headers["WWW-Authenticate"] = "Bearer"
        if "retry_after_seconds" in error.details:
            response.headers["Retry-After"] = str(error.details["retry_after_seconds"])
        return response

    async def handle_validation(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)  # noqa: S101 - registered for it only
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
        response = problem(
            error.status_code, f"HTTP_{error.status_code}", "HTTP error", str(error.detail)
        )
        response.headers.update(error.headers or {})
        return response

    async def handle_out_of_range(request: Request, error: Exception) -> JSONResponse:
        # An id or number beyond what the database stores (SQLite: Python's OverflowError;
        # PostgreSQL: SQLSTATE 22003) can only come from the request: bad input, not a 500.
        if isinstance(error, DBAPIError) and _sqlstate(error) != NUMERIC_OUT_OF_RANGE:
            raise error
        return problem(
            400,
            "NUMBER_OUT_OF_RANGE",
            "Number out of range",
            "a number in the request is too large",
        )

    api.add_exception_handler(DongneError, handle)
    api.add_exception_handler(RequestValidationError, handle_validation)
    api.add_exception_handler(OverflowError, handle_out_of_range)
    api.add_exception_handler(DBAPIError, handle_out_of_range)
    api.add_exception_handler(StarletteHTTPException, handle_http)


NUMERIC_OUT_OF_RANGE = "22003"


def _sqlstate(error: DBAPIError) -> str | None:
    return getattr(error.orig, "sqlstate", None)


def _field_error(item: Any) -> dict[str, str]:
    location = [str(part) for part in item.get("loc", ()) if part not in {"body", "query"}]
    return {"field": ".".join(location), "message": str(item.get("msg", "invalid"))}
