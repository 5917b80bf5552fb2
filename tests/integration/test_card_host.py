"""The card host over a real TCP socket, spoken to in ISO 8583 with pyiso8583: each response
code, repeats and reversals, and (on PostgreSQL) a rush on one card, a database that goes
away and a decision that misses its deadline."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from dongne.adapters.db.card_tables import card_authorizations
from dongne.adapters.db.tables import payments
from dongne.domain.cards import luhn_check_digit
from dongne.entrypoints.card_host.server import RunningHost
from dongne.entrypoints.card_host.simulator import Terminal, burst
from dongne.services import cards
from tests.conftest import NOW
from tests.factories import unique_key
from tests.helpers import assert_ledger_sound, balance_won, payable_won
from tests.integration.card_setup import CardWorld, card_world, clock, terminal_on_host, uow_of


@pytest.fixture
def setup(database_url: str) -> Iterator[CardWorld]:
    world = card_world(database_url)
    yield world
    world.app.engine.dispose()


def payment_count(setup: CardWorld) -> int:
    with setup.app.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(payments)).scalar_one())


def test_an_approved_purchase_is_a_payment_to_the_merchant(setup: CardWorld) -> None:
    with terminal_on_host(setup) as (_, terminal):
        assert terminal.echo()["39"] == "00"
        request, answer = terminal.purchase(setup.pan, 12_000)
    assert answer["t"] == "0210"
    assert answer["39"] == "00"
    assert len(answer["38"]) == 6
    assert (answer["11"], answer["37"]) == (request["11"], request["37"])
    assert "2" not in answer  # the PAN is never sent back
    assert balance_won(uow_of(setup), setup.wallet_id) == 18_000
    assert payable_won(setup.app.engine, setup.merchant_id) == 12_000
    assert_ledger_sound(uow_of(setup))


def test_each_refusal_has_its_response_code_and_moves_nothing(setup: CardWorld) -> None:
    unknown_pan = "411111111111111"
    unknown_pan += str(luhn_check_digit(unknown_pan))
    wrong_check_digit = setup.pan[:-1] + str((int(setup.pan[-1]) + 1) % 10)
    with terminal_on_host(setup) as (host, terminal):
        assert terminal.purchase(setup.pan, 40_000)[1]["39"] == "51"
        assert terminal.purchase(unknown_pan, 1_000)[1]["39"] == "14"
        assert terminal.purchase(wrong_check_digit, 1_000)[1]["39"] == "14"
        assert terminal.purchase(setup.pan, 1_000, currency="840")[1]["39"] == "57"
        with Terminal(host.host, host.port, acceptor_id="NOSUCHSHOP") as stranger:
            assert stranger.purchase(setup.pan, 1_000)[1]["39"] == "57"
        missing_amount = terminal.purchase_message(setup.pan, 1_000)
        del missing_amount["4"]
        assert terminal.send(missing_amount)["39"] == "30"
        cards.block_card(
            uow_of(setup),
            setup.app.secrets,
            caller=None,
            card_id=setup.card_id,
            idempotency_key=unique_key("block"),
            now=NOW,
        )
        assert terminal.purchase(setup.pan, 1_000)[1]["39"] == "62"
    assert balance_won(uow_of(setup), setup.wallet_id) == 30_000
    assert payment_count(setup) == 0


def test_a_merchant_of_another_region_is_not_permitted(setup: CardWorld) -> None:
    other = card_world(str(setup.app.engine.url.render_as_string(hide_password=False)))
    try:
        with (
            terminal_on_host(setup) as (host, _),
            Terminal(host.host, host.port, acceptor_id=other.acceptor_id) as elsewhere,
        ):
            assert elsewhere.purchase(setup.pan, 1_000)[1]["39"] == "57"
    finally:
        other.app.engine.dispose()
    assert balance_won(uow_of(setup), setup.wallet_id) == 30_000


def test_a_repeated_message_gets_the_first_answer_and_pays_once(setup: CardWorld) -> None:
    with terminal_on_host(setup) as (_, terminal):
        request = terminal.purchase_message(setup.pan, 10_000, message_type="0100")
        first = terminal.send(request)
        again = terminal.send(request)
        other_amount = terminal.send(request | {"4": f"{9_000:012d}"})
        declined = terminal.purchase_message(setup.pan, 50_000)
        declined_answers = [terminal.send(declined)["39"] for _ in range(2)]
    assert first["39"] == again["39"] == "00"
    assert first["38"] == again["38"]
    assert other_amount["39"] == "94"
    assert declined_answers == ["51", "51"]
    assert balance_won(uow_of(setup), setup.wallet_id) == 20_000
    assert payment_count(setup) == 1


def test_a_reversal_returns_what_was_approved_once(setup: CardWorld) -> None:
    with terminal_on_host(setup) as (_, terminal):
        request, approved = terminal.purchase(setup.pan, 7_000)
        assert approved["39"] == "00"
        assert balance_won(uow_of(setup), setup.wallet_id) == 23_000
        reversal = terminal.reversal_message(request)
        answers = [terminal.send(reversal) for _ in range(2)]
        late_duplicate = terminal.send(request)
    assert [a["t"] for a in answers] == ["0410", "0410"]
    assert [a["39"] for a in answers] == ["00", "00"]
    assert late_duplicate["39"] == "94"  # reversed: never approved again
    assert balance_won(uow_of(setup), setup.wallet_id) == 30_000
    assert payable_won(setup.app.engine, setup.merchant_id) == 0
    assert_ledger_sound(uow_of(setup))


def test_an_original_arriving_after_its_reversal_is_declined(setup: CardWorld) -> None:
    with terminal_on_host(setup) as (_, terminal):
        original = terminal.purchase_message(setup.pan, 5_000)
        assert terminal.send(terminal.reversal_message(original))["39"] == "00"
        assert terminal.send(original)["39"] == "94"
    assert balance_won(uow_of(setup), setup.wallet_id) == 30_000
    assert payment_count(setup) == 0


@pytest.mark.postgres
def test_two_hundred_authorizations_at_once_on_a_card_for_three(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("real parallel writers are PostgreSQL's")
    setup = card_world(database_url, balance_won=30_000, pool_size=8)
    try:
        with terminal_on_host(setup, deadline_seconds=60.0, workers=8) as (host, _):
            codes = burst(
                host.host,
                host.port,
                pan=setup.pan,
                amount_won=10_000,
                count=200,
                connections=10,
                acceptor_id=setup.acceptor_id,
            )
        assert codes == {"00": 3, "51": 197}
        assert balance_won(uow_of(setup), setup.wallet_id) == 0
        assert payable_won(setup.app.engine, setup.merchant_id) == 30_000
        assert payment_count(setup) == 3
        assert_ledger_sound(uow_of(setup))
    finally:
        setup.app.engine.dispose()


def _admin_connection(database_url: str) -> tuple[psycopg.Connection, str]:
    url = make_url(database_url)
    name = url.database
    assert name is not None
    admin_url = url.set(drivername="postgresql", database="postgres")
    dsn = admin_url.render_as_string(hide_password=False)
    return psycopg.connect(dsn, autocommit=True), name


@pytest.mark.postgres
def test_a_database_gone_mid_test_gives_91_and_moves_no_money(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("stopping a database is a server's thing")
    setup = card_world(database_url, pool_size=4)
    admin, name = _admin_connection(database_url)
    try:
        with terminal_on_host(setup, deadline_seconds=2.0) as (_, terminal):
            assert terminal.purchase(setup.pan, 10_000)[1]["39"] == "00"
            # The database goes away: no new connections, and every open one is cut.
            admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            while_down = [terminal.purchase(setup.pan, 1_000) for _ in range(4)]
            assert [answer["39"] for _, answer in while_down] == ["91"] * 4
            assert all("38" not in answer for _, answer in while_down)
            admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
            # Back up: a 91 was no decision, so the same message is now decided afresh.
            retried = terminal.send(while_down[0][0])
        assert retried["39"] == "00"
        assert payment_count(setup) == 2
        assert balance_won(uow_of(setup), setup.wallet_id) == 19_000
        assert_ledger_sound(uow_of(setup))
    finally:
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        admin.close()
        setup.app.engine.dispose()


@pytest.mark.postgres
def test_a_decision_past_its_deadline_is_91_and_commits_nothing(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("a lock held by another client is PostgreSQL's")
    setup = card_world(database_url, pool_size=4)
    try:
        with terminal_on_host(setup, deadline_seconds=0.5) as (_, terminal):
            with setup.app.engine.connect() as blocker:
                blocker.execute(
                    text("SELECT id FROM wallets WHERE id = :w FOR UPDATE"), {"w": setup.wallet_id}
                )
                request, answer = terminal.purchase(setup.pan, 10_000)
                assert answer["39"] == "91"
                time.sleep(0.3)
                blocker.rollback()
            time.sleep(0.5)  # whatever the late decision does, it has done it by now
            with setup.app.engine.connect() as connection:
                rows = connection.execute(select(func.count()).select_from(card_authorizations))
                assert rows.scalar_one() == 0
            assert payment_count(setup) == 0
        with terminal_on_host(setup) as (_, unhurried):  # a deadline a loaded machine meets
            assert unhurried.send(request)["39"] == "00"
        assert balance_won(uow_of(setup), setup.wallet_id) == 20_000
    finally:
        setup.app.engine.dispose()


def test_a_terminal_still_connected_when_the_host_stops_is_hung_up_on(setup: CardWorld) -> None:
    """Stopping the host closes the connections it accepted, not only its listening socket:
    a terminal left connected reads the end of the stream (and no socket is left open for
    the garbage collector to warn about)."""
    host = RunningHost(setup.app, clock=clock).__enter__()
    stopped = False
    try:
        with Terminal(host.host, host.port, acceptor_id=setup.acceptor_id) as terminal:
            assert terminal.echo()["39"] == "00"  # its connection is being served
            host.__exit__(None, None, None)
            stopped = True
            connection = terminal._connection  # the socket the host should close
            assert connection is not None
            connection.settimeout(5)
            assert connection.recv(1) == b""
    finally:
        if not stopped:
            host.__exit__(None, None, None)
