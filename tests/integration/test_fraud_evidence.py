"""The fraud rules' evidence read for many payments at once is what each payment's own reads
give (``services.fraud_evidence``), on SQLite and PostgreSQL: payments and purchases at any
times, in any order, across Seoul days, with purchases between payments."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dongne.domain.fraud import FraudSettings
from dongne.services.fraud_evidence import gather
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World
from tests.helpers import buy, pay

RULES = FraudSettings(spike_min_takings_won=5_000, round_amount_min_won=5_000)
CITIZENS, MERCHANTS = 2, 2


@pytest.fixture
def shops(world: World) -> list[int]:
    world.fund(10_000_000)
    return [world.merchant() for _ in range(MERCHANTS)]


def new_citizens(world: World, uow: UnitOfWork) -> list[int]:
    """Wallets of their own for each example: the fixture's database lives through all of
    them, and one set of wallets would reach the month's purchase limit or run dry."""
    wallets = [world.citizen() for _ in range(CITIZENS)]
    for wallet in wallets:
        buy(uow, wallet, 300_000, now=NOW - timedelta(days=5))
    return wallets


event = st.tuples(
    st.sampled_from(["pay", "buy"]),
    st.integers(0, CITIZENS - 1),
    st.integers(0, MERCHANTS - 1),
    st.integers(-2 * 24 * 60, 24 * 60),  # minutes from NOW: three Seoul days
    st.sampled_from([7_000, 10_000, 20_000]),  # round (10,000s) or not
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)
@given(events=st.lists(event, min_size=1, max_size=10))
def test_the_evidence_of_a_batch_is_each_payments_own(
    world: World,
    uow: UnitOfWork,
    shops: list[int],
    events: list[tuple[str, int, int, int, int]],
) -> None:
    wallets = new_citizens(world, uow)
    paid = []
    for kind, citizen, shop, minutes, won in events:
        at = NOW + timedelta(minutes=minutes)
        if kind == "buy":
            buy(uow, wallets[citizen], 10_000, now=at)
        else:
            paid.append(pay(uow, wallets[citizen], shops[shop], won, now=at).payment_id)
    with uow:
        together = gather(uow.fraud, [*paid, 999_999_999], RULES)
        alone = {p: gather(uow.fraud, [p], RULES)[p] for p in paid}
    assert together == alone
