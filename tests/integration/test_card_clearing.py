"""Clearing card payments on both engines: the partner's file matched against the
authorizations, lines without an approval flagged and never paid, approvals never cleared
released after N days, and a file run twice cleared once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from dongne.adapters.card_clearing_files import read_clearing_file, write_clearing_file
from dongne.domain.card_clearing import ClearingFileInvalid, ClearingLine
from dongne.domain.cards import CardRequest
from dongne.services.card_authorizations import CardAnswer, authorize
from dongne.services.card_clearing import clear_file, release_uncleared
from tests.conftest import NOW
from tests.helpers import assert_ledger_sound, balance_won, payable_won
from tests.integration.card_setup import CardWorld, card_world, clock, uow_of

TERMINAL = "TERM0001"


@pytest.fixture
def setup(database_url: str) -> Iterator[CardWorld]:
    world = card_world(database_url, balance_won=50_000)
    yield world
    world.app.engine.dispose()


def request(
    setup: CardWorld, stan: int, amount_won: int, message_type: str = "0100"
) -> CardRequest:
    return CardRequest(
        message_type=message_type,
        pan=setup.pan,
        processing_code="000000",
        amount_won=amount_won,
        stan=f"{stan:06d}",
        local_time="1126120000",
        mcc="5812",
        rrn=f"6330120{stan:05d}",
        terminal_id=TERMINAL,
        acceptor_id=setup.acceptor_id,
        currency="410",
    )


def approve(setup: CardWorld, card_request: CardRequest) -> CardAnswer:
    answer = authorize(uow_of(setup), setup.app.secrets, card_request, now=clock())
    assert answer.response_code == "00"
    return answer


def line(card_request: CardRequest, amount_won: int, number: int = 2) -> ClearingLine:
    return ClearingLine(
        line_number=number,
        terminal_id=card_request.terminal_id,
        stan=card_request.stan,
        rrn=card_request.rrn,
        acceptor_id=card_request.acceptor_id,
        last_four=card_request.pan[-4:],
        amount_won=amount_won,
        currency="410",
        approval_code="",
    )


def test_a_clearing_file_matches_flags_and_releases(setup: CardWorld) -> None:
    exact, less, over = (request(setup, n, 10_000) for n in (1, 2, 3))
    for card_request in (exact, less, over):
        approve(setup, card_request)
    never_authorized = request(setup, 9, 4_000)
    assert balance_won(uow_of(setup), setup.wallet_id) == 20_000
    text = write_clearing_file(
        [line(exact, 10_000), line(less, 6_000), line(over, 12_000), line(never_authorized, 4_000)]
    )
    lines = read_clearing_file(text)
    report = clear_file(uow_of(setup), file_name="day.csv", lines=lines, now=clock())
    assert (report.matched, report.over_authorized, report.unauthorized) == (2, 1, 1)
    assert report.cleared_won == 10_000 + 6_000 + 10_000
    assert report.released_won == 4_000  # approved 10,000, captured 6,000
    assert report.flagged_won == 2_000 + 4_000  # beyond an approval, and without one: unpaid
    assert balance_won(uow_of(setup), setup.wallet_id) == 24_000
    assert payable_won(setup.app.engine, setup.merchant_id) == 26_000
    again = clear_file(uow_of(setup), file_name="day.csv", lines=lines, now=clock())
    assert again.repeated == 4
    assert (again.cleared_won, again.released_won) == (0, 0)
    assert balance_won(uow_of(setup), setup.wallet_id) == 24_000
    assert_ledger_sound(uow_of(setup))


def test_an_approval_never_cleared_is_released_after_n_days(setup: CardWorld) -> None:
    uncleared = request(setup, 11, 8_000)
    single_message = request(setup, 12, 5_000, message_type="0200")
    approve(setup, uncleared)
    approve(setup, single_message)
    assert balance_won(uow_of(setup), setup.wallet_id) == 37_000
    early = release_uncleared(uow_of(setup), after_days=7, now=clock() + timedelta(days=6))
    assert early.released == 0
    late = release_uncleared(uow_of(setup), after_days=7, now=clock() + timedelta(days=8))
    assert (late.released, late.released_won) == (1, 8_000)  # the 0200 cleared itself
    assert balance_won(uow_of(setup), setup.wallet_id) == 45_000
    assert release_uncleared(uow_of(setup), after_days=7, now=NOW + timedelta(days=9)).released == 0
    # A line for a released approval comes too late: flagged, never paid.
    report = clear_file(
        uow_of(setup), file_name="late.csv", lines=[line(uncleared, 8_000)], now=clock()
    )
    assert report.unauthorized == 1
    assert payable_won(setup.app.engine, setup.merchant_id) == 5_000
    assert_ledger_sound(uow_of(setup))


def test_a_malformed_clearing_file_is_refused_whole() -> None:
    with pytest.raises(ClearingFileInvalid):
        read_clearing_file("terminal,stan\nTERM0001,000001\n")
    header = write_clearing_file([])
    with pytest.raises(ClearingFileInvalid) as refused:
        read_clearing_file(header + "TERM0001,000001,1,M,1234,-5,410,\n")
    assert refused.value.details["line"] == 2
