"""The one table from error codes to HTTP: RFC 9457 problem details (application/problem+json).

Nothing below the entrypoints knows of HTTP; a route lets a ``DongneError`` escape and this
handler answers with the status its class maps to and the error's stable ``code``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from dongne.domain.errors import Conflict, DongneError, InvalidInput, NotFound, RuleViolation
from dongne.tlog.errors import VerificationFailed

PROBLEM_JSON = "application/problem+json"

STATUS_BY_ERROR: tuple[tuple[type[DongneError], int], ...] = (
    (InvalidInput, 400),
    (NotFound, 404),
    (Conflict, 409),
    (RuleViolation, 422),
    (VerificationFailed, 422),
)


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
        return problem(
            status_of(error), error.code, type(error).__name__, error.message, **error.details
        )

    api.add_exception_handler(DongneError, handle)
