"""run_in_transaction runs a transaction again when PostgreSQL aborts it for a conflict or a
budget draw lost a race, and only then."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg.errors
import pytest
from sqlalchemy.exc import OperationalError

from dongne.adapters.db.ledger_store import DrawLost
from dongne.services.idempotency import MAX_ATTEMPTS, MAX_DRAWS_LOST, Once, run_in_transaction
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import unique_key


@dataclass(frozen=True)
class Done:
    attempt: int


def aborted(sqlstate_error: Exception) -> OperationalError:
    return OperationalError("UPDATE account_balances ...", {}, sqlstate_error)


def run_failing(uow: UnitOfWork, failures: list[Exception]) -> tuple[Done, int]:
    attempts = 0

    def action() -> Done:
        nonlocal attempts
        attempts += 1
        if failures:
            raise failures.pop(0)
        return Done(attempts)

    result = run_in_transaction(
        uow,
        action,
        once=Once(
            operation="test",
            key=unique_key(),
            request={},
            now=NOW,
            result_type=Done,
        ),
    )
    return result, attempts


def test_a_deadlock_victim_is_run_again_and_succeeds(uow: UnitOfWork) -> None:
    result, attempts = run_failing(uow, [aborted(psycopg.errors.DeadlockDetected())])
    assert result == Done(2)
    assert attempts == 2


def test_a_serialization_failure_is_run_again(uow: UnitOfWork) -> None:
    failures: list[Exception] = [aborted(psycopg.errors.SerializationFailure())] * 2
    result, _ = run_failing(uow, failures)
    assert result == Done(3)


def test_retries_stop_after_the_last_attempt(uow: UnitOfWork) -> None:
    failures: list[Exception] = [aborted(psycopg.errors.DeadlockDetected())] * MAX_ATTEMPTS
    with pytest.raises(OperationalError):
        run_failing(uow, failures)


def test_other_database_errors_are_not_retried(uow: UnitOfWork) -> None:
    with pytest.raises(OperationalError):
        run_failing(uow, [aborted(psycopg.errors.QueryCanceled())])


def test_a_lost_budget_draw_is_run_again_reading_the_budget_afresh(uow: UnitOfWork) -> None:
    result, attempts = run_failing(uow, [DrawLost(), DrawLost()])
    assert result == Done(3)
    assert attempts == 3


def test_lost_draws_are_not_retried_forever(uow: UnitOfWork) -> None:
    with pytest.raises(DrawLost):
        run_failing(uow, [DrawLost()] * MAX_DRAWS_LOST)
