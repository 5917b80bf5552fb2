"""A crash never loses a leaf or sequences one twice; parallel sequencers never collide."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading

import pytest
from sqlalchemy import Engine, func, select

from dongne.adapters.db.ledger_tables import ledger_transactions
from dongne.adapters.db.log_tables import log_leaves, log_queue
from dongne.services import registry
from dongne.services.audit import audit
from dongne.services.log import sequence_pending, sign_checkpoint
from dongne.services.unit_of_work import UnitOfWork
from dongne.tlog.note import Signer, Verifier, generate_key
from tests.conftest import NOW
from tests.factories import World, unique_key

SIGNER = Signer.from_key(generate_key("crash.dongne.localhost/log")[0])


def _run_and_get_killed(database_url: str, body: str) -> None:
    script = "import os, signal, sys\nfrom datetime import UTC, datetime\n" + textwrap.dedent(body)
    finished = subprocess.run(  # noqa: S603 - our own interpreter running our own script
        [sys.executable, "-c", script, database_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == -signal.SIGKILL, finished.stderr


def _log_counts(engine: Engine) -> tuple[int, int, int, int]:
    """(transactions, leaves, distinct transactions with leaves, queued)."""
    with engine.connect() as connection:
        count = connection.execute
        return (
            count(select(func.count()).select_from(ledger_transactions)).scalar_one(),
            count(select(func.count()).select_from(log_leaves)).scalar_one(),
            count(select(func.count(func.distinct(log_leaves.c.transaction_id)))).scalar_one(),
            count(select(func.count()).select_from(log_queue)).scalar_one(),
        )


def _assert_each_transaction_has_one_leaf_and_the_audit_passes(
    uow: UnitOfWork, engine: Engine
) -> None:
    transactions, leaves, distinct, queued = _log_counts(engine)
    assert transactions == leaves == distinct
    assert queued == 0
    assert sign_checkpoint(uow, signer=SIGNER, now=NOW) is not None
    report = audit(uow, log_key=Verifier.from_key(SIGNER.verifier_key))
    assert report.passed, report.findings


def test_a_process_killed_between_the_ledger_commit_and_sequencing_loses_no_leaf(
    uow: UnitOfWork, world: World, engine: Engine, database_url: str
) -> None:
    sequence_pending(uow, now=NOW)
    _run_and_get_killed(
        database_url,
        f"""
        from dongne.bootstrap import bootstrap
        from dongne.services import registry
        app = bootstrap(database_url=sys.argv[1])
        registry.fund_discount_budget(
            app.uow, region_id={world.region_id}, amount_won=1_000, month=None,
            idempotency_key="funded-then-killed", now=datetime.now(UTC),
        )
        os.kill(os.getpid(), signal.SIGKILL)
        """,
    )
    transactions, leaves, _, queued = _log_counts(engine)
    assert (transactions - leaves, queued) == (1, 1)
    assert sequence_pending(uow, now=NOW) == 1
    _assert_each_transaction_has_one_leaf_and_the_audit_passes(uow, engine)


def test_a_sequencer_killed_in_the_middle_of_a_batch_is_resumed_without_doubles(
    uow: UnitOfWork, world: World, engine: Engine, database_url: str
) -> None:
    for _ in range(120):
        world.fund(1_000)
    _run_and_get_killed(
        database_url,
        """
        import itertools, secrets
        from dongne.bootstrap import bootstrap
        from dongne.services.log import sequence_pending
        app = bootstrap(database_url=sys.argv[1])
        salts = itertools.count()

        def salt_then_die_in_batch_three(size):
            if next(salts) == 2 * 40 + 17:
                os.kill(os.getpid(), signal.SIGKILL)
            return secrets.token_bytes(size)

        sequence_pending(
            app.uow, now=datetime.now(UTC), batch_size=40, random_bytes=salt_then_die_in_batch_three
        )
        """,
    )
    transactions, leaves, _, queued = _log_counts(engine)
    assert leaves == 80
    assert queued == transactions - 80
    sequence_pending(uow, now=NOW, batch_size=40)
    _assert_each_transaction_has_one_leaf_and_the_audit_passes(uow, engine)


@pytest.mark.postgres
def test_parallel_sequencers_and_writers_give_every_transaction_exactly_one_leaf(
    engine: Engine, world: World
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("parallel clients are a PostgreSQL claim")
    writers_done = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for _ in range(40):
                _fund(UnitOfWork(engine), world.region_id)
        except BaseException as error:
            errors.append(error)

    def sequence(wait: bool) -> None:
        try:
            while not writers_done.is_set():
                sequence_pending(UnitOfWork(engine), now=NOW, batch_size=13, wait=wait)
        except BaseException as error:
            errors.append(error)

    writers = [threading.Thread(target=write) for _ in range(4)]
    sequencers = [threading.Thread(target=sequence, args=(i % 2 == 0,)) for i in range(3)]
    for thread in writers + sequencers:
        thread.start()
    for thread in writers:
        thread.join()
    writers_done.set()
    for thread in sequencers:
        thread.join()
    assert not errors, errors
    uow = UnitOfWork(engine)
    sequence_pending(uow, now=NOW)
    with engine.connect() as connection:
        indexes = list(connection.execute(select(log_leaves.c.leaf_index)).scalars())
    assert sorted(indexes) == list(range(len(indexes)))
    _assert_each_transaction_has_one_leaf_and_the_audit_passes(uow, engine)


def _fund(uow: UnitOfWork, region_id: int) -> None:
    registry.fund_discount_budget(
        uow,
        region_id=region_id,
        amount_won=1_000,
        month=None,
        idempotency_key=unique_key("parallel"),
        now=NOW,
    )
