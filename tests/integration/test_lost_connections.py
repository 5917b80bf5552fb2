"""A transaction whose database connection is killed (``pg_terminate_backend``, as a failover
or a restarted server does) is run again on a new connection under the same idempotency key:
the payment is neither lost nor made twice. The kills are real; only their moment is chosen."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from dongne.adapters.db.engine import is_connection_lost, make_engine, normalize_url
from dongne.domain.errors import DatabaseUnavailable
from dongne.services import idempotency
from dongne.services.idempotency import run_in_transaction
from dongne.services.payments import pay_merchant
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, unique_key
from tests.helpers import assert_ledger_sound, balance_won, buy, transaction_count


def terminate(engine: Engine, connection: Any) -> None:
    """Kill ``connection``'s backend from another session and wait until it is gone."""
    pid = connection.exec_driver_sql("select pg_backend_pid()").scalar_one()
    admin = create_engine(engine.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as other:
        assert other.execute(text("select pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar()
    admin.dispose()


class KilledOnce(UnitOfWork):
    """A unit of work whose first transaction's backend is killed at ``moment``: ``"begin"``
    (after the connection is checked out, before any statement), ``"commit"`` (just before
    COMMIT is sent) or ``"acknowledged"`` (just after COMMIT succeeded, so the client never
    hears of it: the next statement on the connection fails as the lost reply would)."""

    def __init__(self, engine: Engine, moment: str):
        super().__init__(engine)
        self.moment = moment
        self.killed = False

    def __enter__(self) -> KilledOnce:
        super().__enter__()
        self._kill_if("begin")
        return self

    def commit(self) -> None:
        self._kill_if("commit")
        super().commit()
        if self._kill_if("acknowledged"):
            self.connection.exec_driver_sql("select 1")

    def _kill_if(self, moment: str) -> bool:
        if self.killed or moment != self.moment:
            return False
        self.killed = True
        terminate(self.engine, self.connection)
        return True


@pytest.fixture
def paying(pg_engine: Engine) -> tuple[World, int, int]:
    world = World(UnitOfWork(pg_engine), NOW)
    wallet_id = world.citizen()
    buy(world.uow, wallet_id, 50_000)
    return world, wallet_id, world.merchant()


@pytest.mark.postgres
@pytest.mark.parametrize("moment", ["begin", "commit", "acknowledged"])
def test_a_payment_whose_connection_is_killed_is_recorded_exactly_once(
    pg_engine: Engine, paying: tuple[World, int, int], moment: str
) -> None:
    world, wallet_id, merchant_id = paying
    before = transaction_count(pg_engine)
    uow = KilledOnce(pg_engine, moment)
    key = unique_key("pay")
    paid = pay_merchant(
        uow, wallet_id=wallet_id, merchant_id=merchant_id, amount_won=7_000,
        idempotency_key=key, now=NOW,
    )  # fmt: skip
    assert uow.killed
    again = pay_merchant(
        UnitOfWork(pg_engine), wallet_id=wallet_id, merchant_id=merchant_id, amount_won=7_000,
        idempotency_key=key, now=NOW,
    )  # fmt: skip
    assert again == paid
    assert transaction_count(pg_engine) == before + 1
    assert balance_won(world.uow, wallet_id) == 43_000
    assert_ledger_sound(world.uow)


@pytest.mark.postgres
def test_a_commit_cut_off_without_an_idempotency_key_is_reported_as_of_unknown_outcome(
    pg_engine: Engine,
) -> None:
    uow = KilledOnce(pg_engine, "acknowledged")
    with pytest.raises(DatabaseUnavailable) as refused:
        run_in_transaction(uow, lambda: uow.connection.exec_driver_sql("select 1").scalar())
    assert refused.value.details["outcome_unknown"] is True


@pytest.mark.postgres
def test_a_database_out_of_reach_longer_than_a_failover_is_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(idempotency, "RECONNECT_SECONDS", 0.3)
    engine = make_engine("postgresql://postgres@127.0.0.1:1/nothing?connect_timeout=1")
    attempts = 0

    def attempt() -> int:
        nonlocal attempts
        attempts += 1
        return 1

    with pytest.raises(DatabaseUnavailable) as refused:
        run_in_transaction(UnitOfWork(engine), attempt)
    engine.dispose()
    assert attempts == 0  # never connected
    assert refused.value.details["retry_after_seconds"] > 0
    assert is_connection_lost(refused.value.__cause__ or refused.value)


@pytest.mark.postgres
def test_a_url_naming_several_servers_connects_to_the_one_taking_writes(
    pg_engine: Engine,
) -> None:
    real = make_url(pg_engine.url.render_as_string(hide_password=False))
    first_dead = (
        f"postgresql://{real.username}@127.0.0.1:1,{real.host}:{real.port}/{real.database}"
        "?target_session_attrs=read-write&connect_timeout=2"
    )
    engine = make_engine(first_dead)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("select pg_is_in_recovery()").scalar() is False
            assert connection.exec_driver_sql("select inet_server_port()").scalar() == real.port
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("written", "read"),
    [
        (
            "postgresql://u@h1:5432,h2:5433/db?target_session_attrs=read-write",
            "postgresql+psycopg://u@/db?host=h1%3A5432&host=h2%3A5433"
            "&target_session_attrs=read-write",
        ),
        ("postgresql://u:p@h1,h2/db", "postgresql+psycopg://u:p@/db?host=h1&host=h2"),
        ("postgresql://u@h1:5432/db", "postgresql+psycopg://u@h1:5432/db"),
    ],
)
def test_several_hosts_are_written_as_libpq_does_and_read_as_sqlalchemy_does(
    written: str, read: str
) -> None:
    assert normalize_url(written) == read
