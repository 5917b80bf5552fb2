"""Running a money-moving action at most once per idempotency key."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from dongne.adapters.db.ledger_store import MAX_IDEMPOTENCY_KEY_LENGTH, DrawLost
from dongne.services.unit_of_work import DBAPIError, UnitOfWork

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

ResultT = TypeVar("ResultT", bound="DataclassInstance")

TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})
"""serialization_failure and deadlock_detected"""
MAX_ATTEMPTS = 3
MAX_DRAWS_LOST = 100


class RunAgain(Exception):
    """The attempt committed a write of its own that had to outlive it (a PIN's count of wrong
    tries reset by a right one) and must run again from the start in a new transaction."""


def scoped_key(operation: str, user_id: int | None, key: str) -> str:
    """A client's key namespaced by operation and user (or partner, or merchant: whoever owns
    the key), so two clients' keys never meet; ``None`` for an anonymous caller. Hashed when
    the client's key (up to 200 characters) would make it too long to store: every client key
    the API accepts must fit, so a scope is never prefixed to it any other way."""
    scoped = f"{operation}:{key}" if user_id is None else f"{operation}:{user_id}:{key}"
    if len(scoped) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        return scoped
    return f"{operation}:sha256:{hashlib.sha256(scoped.encode()).hexdigest()}"


def run_once(
    uow: UnitOfWork,
    *,
    operation: str,
    idempotency_key: str,
    request: dict[str, Any],
    now: datetime,
    result_type: type[ResultT],
    action: Callable[[], ResultT],
) -> ResultT:
    """Run ``action`` in one transaction unless ``idempotency_key`` already has a response.

    Two first uses racing on SQLite can't happen (writers take the lock at BEGIN); on
    PostgreSQL the loser waits on the key's row, then reads the winner's response. A
    transaction PostgreSQL aborts as a deadlock victim or for a serialization failure is run
    again, up to ``MAX_ATTEMPTS`` times, and so is one whose budget draw lost a race.
    """
    return run_in_transaction(
        uow,
        lambda: once_within(
            uow,
            operation=operation,
            idempotency_key=idempotency_key,
            request=request,
            now=now,
            result_type=result_type,
            action=action,
        ),
    )


def once_within(
    uow: UnitOfWork,
    *,
    operation: str,
    idempotency_key: str,
    request: dict[str, Any],
    now: datetime,
    result_type: type[ResultT],
    action: Callable[[], ResultT],
) -> ResultT:
    """``run_once``'s claim, action and stored response inside the caller's open unit of work,
    for a use case that has to read (and authenticate) before it knows its key."""
    stored = uow.ledger.claim_idempotency_key(idempotency_key, operation, request, now)
    if stored is not None:
        return result_type(**stored)
    result = action()
    uow.ledger.store_response(idempotency_key, asdict(result))
    return result


def run_in_transaction(uow: UnitOfWork, attempt: Callable[[], ResultT]) -> ResultT:
    """Run ``attempt`` in one transaction and commit it, running it again after a transient
    conflict, a lost budget draw or ``RunAgain`` (see ``run_once``)."""
    conflicts = draws_lost = 0
    while True:
        try:
            with uow:
                result = attempt()
                uow.commit()
                return result
        except RunAgain:
            # Only a right PIN after wrong ones asks for this, and it reset the count: the next
            # attempt finds it at zero unless new wrong tries came in, which lock at the limit.
            continue
        except DrawLost:
            # Each lost draw means another purchase won the budget: the budget only shrinks,
            # so the rerun soon sees it short and sells at the policy's terms instead.
            draws_lost += 1
            if draws_lost == MAX_DRAWS_LOST:
                raise
        except DBAPIError as error:
            conflicts += 1
            if conflicts == MAX_ATTEMPTS or not is_transient(error):
                raise


def is_transient(error: DBAPIError) -> bool:
    """PostgreSQL aborted the transaction for a conflict, not for anything in the request;
    the whole transaction was rolled back, so running it again is safe."""
    return getattr(error.orig, "sqlstate", None) in TRANSIENT_SQLSTATES
