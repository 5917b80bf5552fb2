"""A region with a citizen's card, a member merchant known to the card network, and a host
serving over a real TCP socket: what the card tests share."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from dongne.bootstrap import App, bootstrap
from dongne.config import Settings
from dongne.entrypoints.card_host.server import RunningHost
from dongne.entrypoints.card_host.simulator import Terminal
from dongne.services import cards
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World, unique_key
from tests.helpers import buy

ACCEPTOR_ID = "DONGNE00000001"


@dataclass(frozen=True)
class CardWorld:
    app: App
    world: World
    wallet_id: int
    merchant_id: int
    card_id: int
    pan: str
    acceptor_id: str


def card_world(database_url: str, *, balance_won: int = 30_000, pool_size: int = 10) -> CardWorld:
    app = bootstrap(Settings(database_url=database_url, database_pool_size=pool_size))
    uow = app.unit_of_work()
    world = World(uow, NOW)
    wallet_id = world.citizen()
    if balance_won:
        buy(uow, wallet_id, balance_won)
    merchant_id = world.merchant()
    acceptor_id = f"{ACCEPTOR_ID}{world.region_id % 10}"
    cards.set_card_acceptor(
        uow,
        caller=None,
        merchant_id=merchant_id,
        acceptor_id=acceptor_id,
        idempotency_key=unique_key("acceptor"),
        now=NOW,
    )
    card = cards.link_card(
        uow,
        app.secrets,
        caller=None,
        wallet_id=wallet_id,
        pan=None,
        idempotency_key=unique_key("card"),
        now=NOW,
    )
    assert card.pan is not None
    return CardWorld(app, world, wallet_id, merchant_id, card.id, card.pan, acceptor_id)


def clock() -> datetime:
    """The tests' instant, a little later: lots bought at ``NOW`` are spendable."""
    return NOW + timedelta(minutes=1)


@contextmanager
def terminal_on_host(
    setup: CardWorld, *, deadline_seconds: float = 10.0, workers: int = 4
) -> Iterator[tuple[RunningHost, Terminal]]:
    with (
        RunningHost(
            setup.app, deadline_seconds=deadline_seconds, workers=workers, clock=clock
        ) as host,
        Terminal(host.host, host.port, acceptor_id=setup.acceptor_id) as terminal,
    ):
        yield host, terminal


def uow_of(setup: CardWorld) -> UnitOfWork:
    return setup.app.unit_of_work()
