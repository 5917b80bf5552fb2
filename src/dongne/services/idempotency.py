"""Running a money-moving action at most once per idempotency key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.exc import DBAPIError

from dongne.adapters.db.ledger_store import DrawLost
from dongne.services.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

ResultT = TypeVar("ResultT", bound="DataclassInstance")

TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})
"""serialization_failure and deadlock_detected"""
MAX_ATTEMPTS = 3
MAX_DRAWS_LOST = 100


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
    conflicts = draws_lost = 0
    while True:
        try:
            with uow:
                stored = uow.ledger.claim_idempotency_key(idempotency_key, operation, request, now)
                if stored is not None:
                    return result_type(**stored)
                result = action()
                uow.ledger.store_response(idempotency_key, asdict(result))
                uow.commit()
                return result
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
