"""What every route needs: the app, the caller, the idempotency key, the clock.

The ones that only read the request are ``async``: FastAPI runs a plain ``def`` dependency on
a worker thread, and a hop there and back costs more than the dependency itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Header, Request

from dongne.bootstrap import App
from dongne.domain.access import Principal, Unauthenticated
from dongne.services import authentication
from dongne.services.unit_of_work import UnitOfWork

MAX_IDEMPOTENCY_KEY_LENGTH = 200


async def application(request: Request) -> App:
    app: App = request.app.state.dongne
    return app


def now() -> datetime:
    return datetime.now(UTC)


async def clock() -> datetime:
    """``now`` as a dependency (async: no hop to a worker thread), so tests can move it."""
    return now()


async def live_clock() -> Callable[[], datetime]:
    """The clock itself, for a service that must read it when it decides rather than when the
    request arrived (the sale queue reads it once it holds its lock). Tests override it as they
    override ``clock``: ``app.dependency_overrides[live_clock] = lambda: lambda: MOMENT``."""
    return now


def unit_of_work(app: Annotated[App, Depends(application)]) -> UnitOfWork:
    return app.unit_of_work()


async def bearer_token(authorization: Annotated[str | None, Header()] = None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send 'Authorization: Bearer <token or API key>'")
    return token.strip()


def caller(
    app: Annotated[App, Depends(application)],
    token: Annotated[str, Depends(bearer_token)],
) -> Principal:
    return authentication.authenticate(app.unit_of_work(), token=token, now=now())


IDEMPOTENCY_KEY = "Idempotency-Key"
IDEMPOTENCY_KEY_PATTERN = rf"^[!-~]{{1,{MAX_IDEMPOTENCY_KEY_LENGTH}}}$"
"""1 to 200 visible ASCII characters (so characters and bytes count the same), the form the
IETF draft for this header gives it: a UUID, a ULID, ``order-2026-0001``."""


async def idempotency_key(
    key: Annotated[
        str,
        Header(
            alias=IDEMPOTENCY_KEY,
            pattern=IDEMPOTENCY_KEY_PATTERN,
            description="Required. Any unique string of 1 to 200 visible ASCII characters; a"
            " retry with the same key and body returns the first response, with another body a"
            " 409.",
        ),
    ],
) -> str:
    # Declared required, so the OpenAPI document says so; a request without the header is
    # answered as ``IdempotencyKeyRequired`` by the validation handler (``errors.py``).
    return key


AppDep = Annotated[App, Depends(application)]
UowDep = Annotated[UnitOfWork, Depends(unit_of_work)]
CallerDep = Annotated[Principal, Depends(caller)]
KeyDep = Annotated[str, Depends(idempotency_key)]
TokenDep = Annotated[str, Depends(bearer_token)]
ClockDep = Annotated[Callable[[], datetime], Depends(live_clock)]
