"""Wrong passwords counted in the database: log-ins pause per login, across processes."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import Engine, text

from dongne.adapters.db.login_throttle_records import LoginThrottleRecords
from dongne.adapters.secrets import Secrets
from dongne.config import Settings
from dongne.domain.access import InvalidCredentials, LoginThrottled, UserKind
from dongne.domain.login_throttle import LoginThrottlePolicy
from dongne.services import accounts, authentication
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, unique_key
from tests.query_plans import rows_read, scans_run, statement_sent

PASSWORD = "correct horse battery"  # noqa: S105 - a test password
WRONG = "not the password"
SECRETS = Secrets.from_settings(Settings())
POLICY = LoginThrottlePolicy(failures_max=3, window_seconds=900)


def _citizen(uow: UnitOfWork, world: World) -> str:
    phone = f"010{uuid.uuid4().int % 10**8:08d}"
    accounts.sign_up_citizen(
        uow,
        SECRETS,
        phone=phone,
        password=PASSWORD,
        name="시민",
        region_id=world.region_id,
        identity_number=None,
        idempotency_key=unique_key("sign-up"),
        now=world.now,
    )
    return phone


def _log_in(
    uow: UnitOfWork, world: World, login: str, password: str, seconds: float
) -> authentication.Session:
    return authentication.log_in(
        uow,
        SECRETS,
        login=login,
        password=password,
        totp_code=None,
        lifetime=timedelta(hours=1),
        now=world.now + timedelta(seconds=seconds),
        throttle=POLICY,
    )


def test_after_the_limit_even_the_right_password_waits_for_the_window(
    uow: UnitOfWork, world: World
) -> None:
    phone = _citizen(uow, world)
    for second in range(3):
        with pytest.raises(InvalidCredentials):
            _log_in(uow, world, phone, WRONG, second)
    with pytest.raises(LoginThrottled) as throttled:
        _log_in(uow, world, phone, PASSWORD, 60)
    assert throttled.value.details == {"retry_after_seconds": 840}
    assert _log_in(uow, world, phone, PASSWORD, 900).token


def test_a_successful_log_in_clears_the_count(uow: UnitOfWork, world: World) -> None:
    phone = _citizen(uow, world)
    for second in range(2):
        with pytest.raises(InvalidCredentials):
            _log_in(uow, world, phone, WRONG, second)
    _log_in(uow, world, phone, PASSWORD, 10)
    for second in range(2):
        with pytest.raises(InvalidCredentials):
            _log_in(uow, world, phone, WRONG, 20 + second)
    assert _log_in(uow, world, phone, PASSWORD, 30).token


def test_guesses_at_a_login_nobody_has_are_counted_too(uow: UnitOfWork, world: World) -> None:
    for second in range(3):
        with pytest.raises(InvalidCredentials):
            _log_in(uow, world, "nobody-here", WRONG, second)
    with pytest.raises(LoginThrottled):
        _log_in(uow, world, "nobody-here", WRONG, 5)
    # Another login is not affected.
    assert _log_in(uow, world, _citizen(uow, world), PASSWORD, 5).token


def test_parallel_guesses_are_counted_one_by_one_and_never_past_the_limit(
    engine: Engine, world: World, uow: UnitOfWork
) -> None:
    phone = _citizen(uow, world)
    start = threading.Barrier(12)
    outcomes: list[str] = []
    failures: list[BaseException] = []

    def guess() -> None:
        try:
            start.wait()
            _log_in(UnitOfWork(engine), world, phone, WRONG, 1)
        except (InvalidCredentials, LoginThrottled) as refused:
            outcomes.append(refused.code)
        except BaseException as error:  # reported below, on the test's thread
            failures.append(error)

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert sorted(outcomes) == ["INVALID_CREDENTIALS"] * 3 + ["LOGIN_THROTTLED"] * 9


def _official(uow: UnitOfWork, world: World) -> tuple[str, pyotp.TOTP]:
    login = f"official-{uuid.uuid4().hex[:8]}"
    created = accounts.create_staff_user(
        uow,
        SECRETS,
        kind=UserKind.OFFICIAL,
        login=login,
        password=PASSWORD,
        role="viewer",
        region_id=world.region_id,
        merchant_id=None,
        now=world.now,
    )
    return login, pyotp.TOTP(created.secret)


@pytest.mark.parametrize("steps_off", [-1, 0, 1])
def test_an_official_s_code_from_the_neighbouring_time_step_still_logs_in(
    uow: UnitOfWork, world: World, steps_off: int
) -> None:
    login, totp = _official(uow, world)
    code = totp.at(world.now + timedelta(seconds=30 * steps_off))
    session = authentication.log_in(
        uow,
        SECRETS,
        login=login,
        password=PASSWORD,
        totp_code=code,
        lifetime=timedelta(hours=1),
        now=world.now,
    )
    assert session.token


@pytest.mark.parametrize("steps_off", [-2, 2])
def test_an_official_s_code_two_time_steps_away_is_refused(
    uow: UnitOfWork, world: World, steps_off: int
) -> None:
    login, totp = _official(uow, world)
    code = totp.at(world.now + timedelta(seconds=30 * steps_off))
    with pytest.raises(InvalidCredentials):
        authentication.log_in(
            uow,
            SECRETS,
            login=login,
            password=PASSWORD,
            totp_code=code,
            lifetime=timedelta(hours=1),
            now=world.now,
        )


STALE = 100  # forget_windows_before's default limit


@pytest.mark.postgres
def test_forgetting_stale_counts_reads_each_of_them_a_bounded_number_of_times(
    pg_engine: Engine,
) -> None:
    """Every wrong password also drops up to 100 counts whose window ended. On a table
    analyzed while it held no live row, ``IN (SELECT … LIMIT 100 FOR UPDATE SKIP LOCKED)`` was
    a nested loop that read and locked the stale rows again for each one it deleted."""
    cutoff = NOW - timedelta(hours=1)
    count_some = text(
        "INSERT INTO login_failures (login, window_started_at, failures)"
        " SELECT :prefix || n, :at, 1 FROM generate_series(1, :n) AS n"
    )
    with pg_engine.begin() as connection:  # pages, and no live row in them
        connection.execute(count_some, {"prefix": "old-", "at": cutoff, "n": STALE})
        connection.execute(text("DELETE FROM login_failures"))
    with pg_engine.connect() as connection:
        connection.execute(text("ANALYZE login_failures"))
    with pg_engine.begin() as connection:
        stale_at = cutoff - timedelta(minutes=5)
        connection.execute(count_some, {"prefix": "stale-", "at": stale_at, "n": STALE})
        connection.execute(count_some, {"prefix": "recent-", "at": NOW, "n": 10})
    statement, parameters = statement_sent(
        pg_engine,
        lambda c: LoginThrottleRecords(c).forget_windows_before(cutoff),
        verb="DELETE",
    )
    with pg_engine.connect() as connection:
        transaction = connection.begin()
        scans = scans_run(connection, statement, parameters)
        left = connection.execute(text("SELECT login FROM login_failures")).scalars().all()
        transaction.rollback()
    assert sorted(left) == sorted(f"recent-{n}" for n in range(1, 11))
    reads = sum(rows_read(scan) for scan in scans if scan["Relation Name"] == "login_failures")
    assert reads <= 3 * STALE, scans
