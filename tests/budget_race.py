"""Parallel buyers on one discount budget, with a watcher reading what the budget holds the
whole time: the race the batchers' tests run through the purchase batcher and the sale queue's."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from dongne.services.results import PurchaseResult

BuyerT = TypeVar("BuyerT")


@dataclass
class BudgetRace:
    """What the buyers got (by wallet), what they were refused, and every reading of the budget."""

    results: dict[int, PurchaseResult] = field(default_factory=dict)
    failures: list[BaseException] = field(default_factory=list)
    lowest_seen: list[int] = field(default_factory=list)


def race_for_the_budget(
    buyers: Sequence[BuyerT],
    clients: int,
    buy: Callable[[int, BuyerT], tuple[int, PurchaseResult]],
    budget_left: Callable[[], int],
) -> BudgetRace:
    """``clients`` threads, started together, each buying for its slice of ``buyers`` in turn
    (``buy(client, buyer)`` answers the wallet and its purchase), while another reads
    ``budget_left`` every 5 ms until they are done."""
    race = BudgetRace()
    start = threading.Barrier(clients)
    done = threading.Event()

    def buy_in_turn(client: int) -> None:
        start.wait()
        for buyer in buyers[client::clients]:
            try:
                wallet_id, result = buy(client, buyer)
                race.results[wallet_id] = result
            except BaseException as error:  # reported by the test, on its own thread
                race.failures.append(error)

    def watch_budget() -> None:
        while not done.wait(0.005):
            race.lowest_seen.append(budget_left())

    watcher = threading.Thread(target=watch_budget)
    threads = [threading.Thread(target=buy_in_turn, args=(c,)) for c in range(clients)]
    watcher.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    done.set()
    watcher.join(10)
    return race
