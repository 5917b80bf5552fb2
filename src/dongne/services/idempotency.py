"""Running a money-moving action at most once per idempotency key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.exc import IntegrityError

from dongne.services.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

ResultT = TypeVar("ResultT", bound="DataclassInstance")


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
    PostgreSQL the loser waits on the key's row, then reads the winner's response.
    """
    for attempt in range(2):
        try:
            with uow:
                stored = uow.ledger.claim_idempotency_key(
                    idempotency_key, operation, request, None, now
                )
                if stored is not None:
                    return result_type(**stored)
                result = action()
                uow.ledger.store_response(idempotency_key, asdict(result))
                uow.commit()
                return result
        except IntegrityError:
            # A concurrent first use committed between our claim and our commit; the retry
            # finds its response.
            if attempt:
                raise
    raise AssertionError("unreachable")
