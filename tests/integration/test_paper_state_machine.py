"""Random walks through paper vouchers' life, on SQLite and PostgreSQL: print runs, issues to
two agents, sales, redemptions, exchanges and destruction of ranges that may or may not be in
the state the step needs.

A model keeps each voucher's state. A step the model expects to be refused must raise exactly
that error and change nothing; after every step the stock by state equals the model's, sums
to the print run, and ``dongne check``'s paper and ledger checks find nothing.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine

from dongne.domain.errors import DongneError
from dongne.domain.paper import (
    DENOMINATIONS,
    PaperRangeUnavailable,
    PaperVoucherAlreadyExchanged,
    PaperVoucherAlreadyRedeemed,
    PaperVoucherDestroyed,
    PaperVoucherNotSold,
    Serial,
    SerialRange,
)
from dongne.services import paper_reports, read_models
from dongne.services.unit_of_work import UnitOfWork
from tests.conftest import NOW
from tests.factories import World
from tests.paper_factories import PaperWorld

SPEND_REFUSALS: dict[str, type[DongneError]] = {
    "unissued": PaperVoucherNotSold,
    "with_agent": PaperVoucherNotSold,
    "destroyed": PaperVoucherDestroyed,
    "redeemed": PaperVoucherAlreadyRedeemed,
    "exchanged": PaperVoucherAlreadyExchanged,
}


class PaperMachine(RuleBasedStateMachine):
    def __init__(self, engine: Engine) -> None:
        super().__init__()
        uow = UnitOfWork(engine)
        world = World(uow, NOW)
        world.fund(100_000_000)
        self.paper = PaperWorld(world)
        self.agents = [self.paper.agent_id, self.paper.new_agent("신한")]
        self.merchant = world.merchant()
        self.wallet = world.citizen()
        self.state: dict[Serial, str] = {}
        self.holder: dict[Serial, int] = {}

    # -- choosing vouchers --------------------------------------------------------------------

    def _range(self, data: st.DataObject) -> SerialRange:
        won = data.draw(st.sampled_from(sorted(self.paper.printed)))
        serials = self.paper.printed[won]
        start = data.draw(st.integers(0, len(serials) - 1))
        end = data.draw(st.integers(start, min(start + 3, len(serials) - 1)))
        return SerialRange(serials[start], serials[end])

    def _in(self, serials: SerialRange) -> list[Serial]:
        first, last = serials.first.sequence, serials.last.sequence
        return [serials.first.with_sequence(s) for s in range(first, last + 1)]

    def _move(self, serials: SerialRange, allowed: bool, step: object, to: str) -> None:
        """Run ``step``; it must succeed exactly when the model allows it, and a refusal must
        change nothing."""
        before = self._stock()
        if allowed:
            step()  # type: ignore[operator]
            for serial in self._in(serials):
                self.state[serial] = to
            return
        try:
            step()  # type: ignore[operator]
        except PaperRangeUnavailable:
            assert self._stock() == before
            return
        raise AssertionError(f"{serials} moved to {to} against the model")

    # -- rules --------------------------------------------------------------------------------

    @rule(won=st.sampled_from(DENOMINATIONS), count=st.integers(1, 5))
    def print_run(self, won: int, count: int) -> None:
        before = len(self.paper.printed.get(won, []))
        self.paper.print({won: count})
        for serial in self.paper.printed[won][before:]:
            self.state[serial] = "unissued"

    @precondition(lambda self: self.state)
    @rule(data=st.data(), agent=st.sampled_from([0, 1]))
    def issue(self, data: st.DataObject, agent: int) -> None:
        serials = self._range(data)
        allowed = all(self.state[s] == "unissued" for s in self._in(serials))
        step = lambda: self.paper.issue(serials, self.agents[agent])  # noqa: E731
        self._move(serials, allowed, step, "with_agent")
        if allowed:
            self.holder |= dict.fromkeys(self._in(serials), agent)

    @precondition(lambda self: self.state)
    @rule(data=st.data(), agent=st.sampled_from([0, 1]))
    def sell(self, data: st.DataObject, agent: int) -> None:
        serials = self._range(data)
        allowed = all(
            self.state[s] == "with_agent" and self.holder[s] == agent for s in self._in(serials)
        )
        self._move(
            serials, allowed, lambda: self.paper.sell(serials, agent_id=self.agents[agent]), "sold"
        )

    @precondition(lambda self: self.state)
    @rule(data=st.data(), returned=st.booleans())
    def destroy(self, data: st.DataObject, returned: bool) -> None:
        serials = self._range(data)
        agent = self.holder.get(serials.first, 0)
        wanted = "with_agent" if returned else "unissued"
        allowed = all(
            self.state[s] == wanted and (not returned or self.holder[s] == agent)
            for s in self._in(serials)
        )
        agent_id = self.agents[agent] if returned else None
        self._move(serials, allowed, lambda: self.paper.destroy(serials, agent_id), "destroyed")

    @precondition(lambda self: self.state)
    @rule(data=st.data(), exchange=st.booleans())
    def spend(self, data: st.DataObject, exchange: bool) -> None:
        serial = self._range(data).first
        code = self.paper.code(serial)
        state = self.state[serial]
        before = self._stock()
        if state != "sold":
            try:
                if exchange:
                    self.paper.exchange(self.wallet, code)
                else:
                    self.paper.redeem(self.merchant, code)
            except SPEND_REFUSALS[state]:
                assert self._stock() == before
                return
            raise AssertionError(f"a {state} voucher was spent")
        if exchange:
            self.paper.exchange(self.wallet, code)
        else:
            self.paper.redeem(self.merchant, code)
        self.state[serial] = "exchanged" if exchange else "redeemed"

    # -- what must always hold ----------------------------------------------------------------

    def _stock(self) -> dict[str, tuple[int, int]]:
        report = paper_reports.stock_report(self.paper.world.uow, region_id=self.paper.region_id)
        assert report.balances, report
        return {state: (t.count, t.face_won) for state, t in report.by_state.items()}

    @invariant()
    def stock_equals_the_model_and_sums_to_the_print_run(self) -> None:
        counts = Counter(self.state.values())
        faces: Counter[str] = Counter()
        for serial, state in self.state.items():
            faces[state] += serial.denomination_won
        stock = self._stock()
        assert {s: c for s, c in stock.items() if c[0]} == {
            s: (counts[s], faces[s]) for s in counts
        }
        problems = read_models.ledger_problems(self.paper.world.uow, region_id=self.paper.region_id)
        assert problems == []


SETTINGS = settings(
    max_examples=3,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_random_paper_operations_keep_the_stock_equation(engine: Engine) -> None:
    run_state_machine_as_test(lambda: PaperMachine(engine), settings=SETTINGS)
