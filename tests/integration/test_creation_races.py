"""Two requests making the same thing at the same instant: one is made, the other is told it
exists (ALREADY_EXISTS), never a database error. Both looked first and found nothing; the
unique constraint lets one in, and the unit of work names the other's refusal."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from dongne.adapters.secrets import Secrets
from dongne.config import Settings
from dongne.domain.access import UserKind
from dongne.domain.errors import AlreadyExists
from dongne.services import accounts, registry
from dongne.services.unit_of_work import UnitOfWork

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
SECRETS = Secrets.from_settings(Settings())
PASSWORD = "correct horse battery"  # noqa: S105 - a test password
CLIENTS = 8


def race(engine: Engine, attempt: Callable[[UnitOfWork, int], object]) -> list[object]:
    """Run ``attempt`` on CLIENTS threads released at once; each outcome or error, in order."""
    start = threading.Barrier(CLIENTS)
    outcomes: list[object] = [None] * CLIENTS

    def client(number: int) -> None:
        start.wait()
        try:
            outcomes[number] = attempt(UnitOfWork(engine), number)
        except Exception as error:  # the outcome under test, whatever it is
            outcomes[number] = error

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def assert_one_made_and_the_rest_told_it_exists(outcomes: list[object]) -> None:
    refused = [o for o in outcomes if isinstance(o, AlreadyExists)]
    made = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(made) == 1, outcomes
    assert len(refused) == CLIENTS - 1, outcomes


def test_parallel_sign_ups_with_one_phone_make_one_account(pg_engine: Engine) -> None:
    region_id = registry.create_region(
        UnitOfWork(pg_engine), code="siheung", name="시흥시", now=NOW
    )

    def sign_up(uow: UnitOfWork, number: int) -> object:
        return accounts.sign_up_citizen(
            uow,
            SECRETS,
            phone="010-1234-5678",
            password=PASSWORD,
            name="김민준",
            region_id=region_id,
            identity_number=None,
            idempotency_key=f"sign-up-{number}",
            now=NOW,
        )

    assert_one_made_and_the_rest_told_it_exists(race(pg_engine, sign_up))


def test_parallel_staff_accounts_with_one_login_make_one_account(pg_engine: Engine) -> None:
    region_id = registry.create_region(
        UnitOfWork(pg_engine), code="siheung", name="시흥시", now=NOW
    )

    def create(uow: UnitOfWork, _: int) -> object:
        return accounts.create_staff_user(
            uow,
            SECRETS,
            kind=UserKind.OFFICIAL,
            login="kim",
            password=PASSWORD,
            role="viewer",
            region_id=region_id,
            merchant_id=None,
            now=NOW,
        )

    assert_one_made_and_the_rest_told_it_exists(race(pg_engine, create))


def test_parallel_regions_with_one_code_make_one_region(pg_engine: Engine) -> None:
    def create(uow: UnitOfWork, _: int) -> object:
        return registry.create_region(uow, code="siheung", name="시흥시", now=NOW)

    assert_one_made_and_the_rest_told_it_exists(race(pg_engine, create))
