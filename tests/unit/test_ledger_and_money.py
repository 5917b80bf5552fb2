"""Balanced postings, the accounts that may go negative, won arithmetic and Seoul dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dongne.domain.calendar import (
    months_of_year,
    require_aware,
    seoul_day,
    seoul_month,
    seoul_month_bounds,
    seoul_year,
)
from dongne.domain.errors import InvalidAmount, LedgerUnbalanced
from dongne.domain.ledger import AccountType, Posting, balanced
from dongne.domain.money import BASIS_POINTS, MAX_AMOUNT_WON, positive_won, pro_rata, share_bp

# Ledger --------------------------------------------------------------------------------------


def test_a_balanced_set_of_postings_is_kept_as_it_is() -> None:
    postings = [Posting(1, -90_000), Posting(2, 100_000), Posting(3, -10_000)]
    assert balanced(postings) == postings


def test_postings_to_one_account_are_merged() -> None:
    merged = balanced(
        [Posting(1, -5_000), Posting(2, 3_000), Posting(1, -1_000), Posting(2, 3_000)]
    )
    assert merged == [Posting(1, -6_000), Posting(2, 6_000)]


def test_accounts_that_net_to_zero_are_dropped() -> None:
    merged = balanced([Posting(1, -5_000), Posting(2, 5_000), Posting(3, 700), Posting(3, -700)])
    assert merged == [Posting(1, -5_000), Posting(2, 5_000)]


def test_zero_postings_are_dropped() -> None:
    assert balanced([Posting(1, 0), Posting(2, -1), Posting(3, 1)]) == [
        Posting(2, -1),
        Posting(3, 1),
    ]


@pytest.mark.parametrize("off_by", [1, -1])
def test_postings_that_do_not_sum_to_zero_are_refused(off_by: int) -> None:
    with pytest.raises(LedgerUnbalanced) as caught:
        balanced([Posting(1, -10_000), Posting(2, 10_000 + off_by)])
    assert caught.value.code == "LEDGER_UNBALANCED"
    assert caught.value.details == {"total_won": off_by}


def test_an_empty_transaction_is_refused() -> None:
    with pytest.raises(LedgerUnbalanced, match="at least one non-zero posting") as caught:
        balanced([])
    assert caught.value.details == {"total_won": 0}


def test_a_transaction_whose_postings_all_cancel_out_is_refused() -> None:
    with pytest.raises(LedgerUnbalanced, match="at least one non-zero posting"):
        balanced([Posting(1, 500), Posting(1, -500), Posting(2, 0)])


@given(
    amounts=st.lists(
        st.tuples(st.integers(1, 5), st.integers(-(10**9), 10**9)), min_size=1, max_size=10
    ),
    balancing_account=st.integers(1, 5),
)
def test_balanced_keeps_every_accounts_net_amount(
    amounts: list[tuple[int, int]], balancing_account: int
) -> None:
    postings = [Posting(account, amount) for account, amount in amounts]
    postings.append(Posting(balancing_account, -sum(amount for _, amount in amounts)))
    nets: dict[int, int] = {}
    for posting in postings:
        nets[posting.account_id] = nets.get(posting.account_id, 0) + posting.amount_won
    expected = {account: net for account, net in nets.items() if net}
    if not expected:
        with pytest.raises(LedgerUnbalanced):
            balanced(postings)
        return
    merged = balanced(postings)
    assert {p.account_id: p.amount_won for p in merged} == expected
    assert len(merged) == len(expected)
    assert sum(p.amount_won for p in merged) == 0


@pytest.mark.parametrize(
    "account_type",
    [AccountType.CITY_FUNDING, AccountType.CITIZEN_BANK, AccountType.MERCHANT_BANK],
)
def test_accounts_for_the_outside_world_may_go_negative(account_type: AccountType) -> None:
    assert account_type.may_go_negative


def test_a_merchant_payable_may_go_negative_when_a_settled_payment_is_cancelled() -> None:
    assert AccountType.MERCHANT_PAYABLE.may_go_negative


@pytest.mark.parametrize(
    "account_type",
    [
        AccountType.WALLET,
        AccountType.DISCOUNT_BUDGET,
        AccountType.BREAKAGE,
        AccountType.ALLOWANCE_BUDGET,
        AccountType.REWARDS_BUDGET,
        AccountType.SETTLEMENT_FEES,
    ],
)
def test_accounts_that_hold_value_for_someone_may_not_go_negative(
    account_type: AccountType,
) -> None:
    assert not account_type.may_go_negative


def test_every_account_type_is_classified() -> None:
    negative = {t for t in AccountType if t.may_go_negative}
    assert negative == {
        AccountType.CITY_FUNDING,
        AccountType.CITIZEN_BANK,
        AccountType.MERCHANT_BANK,
        AccountType.MERCHANT_PAYABLE,
        AccountType.PAPER_PRINTED,
    }
    assert len(AccountType) == 16


# Money ---------------------------------------------------------------------------------------


def test_a_rate_share_is_exact_when_it_divides() -> None:
    assert share_bp(100_000, 1_000) == 10_000


def test_a_rate_share_is_rounded_down() -> None:
    assert share_bp(9_999, 1_000) == 999
    assert share_bp(1, 9_999) == 0


def test_pro_rata_is_rounded_down() -> None:
    assert pro_rata(40_000, 90_000, 100_000) == 36_000
    assert pro_rata(33_333, 90_000, 100_000) == 29_999
    assert pro_rata(2, 1, 3) == 0


@given(
    amount=st.integers(0, MAX_AMOUNT_WON),
    numerator=st.integers(0, 10**9),
    denominator=st.integers(1, 10**9),
)
def test_pro_rata_is_the_floor_of_the_exact_fraction(
    amount: int, numerator: int, denominator: int
) -> None:
    result = pro_rata(amount, numerator, denominator)
    assert result * denominator <= amount * numerator < (result + 1) * denominator


@given(amount=st.integers(0, MAX_AMOUNT_WON), rate_bp=st.integers(0, BASIS_POINTS - 1))
def test_a_rate_share_never_exceeds_the_amount_and_is_the_floor(amount: int, rate_bp: int) -> None:
    share = share_bp(amount, rate_bp)
    assert 0 <= share <= amount
    assert share * BASIS_POINTS <= amount * rate_bp < (share + 1) * BASIS_POINTS


@pytest.mark.parametrize("amount", [1, 10_000, MAX_AMOUNT_WON])
def test_a_positive_whole_amount_up_to_the_maximum_is_accepted(amount: int) -> None:
    assert positive_won(amount) == amount


def test_one_won_above_the_maximum_amount_is_refused() -> None:
    with pytest.raises(InvalidAmount, match="too large") as caught:
        positive_won(MAX_AMOUNT_WON + 1)
    assert caught.value.details == {"field": "amount_won"}


@pytest.mark.parametrize("amount", [0, -1, -(10**12)])
def test_a_zero_or_negative_amount_is_refused(amount: int) -> None:
    with pytest.raises(InvalidAmount, match="must be positive"):
        positive_won(amount)


@pytest.mark.parametrize("amount", [True, False, 1.0, 10_000.5, "10000", None])
def test_an_amount_that_is_not_a_whole_number_of_won_is_refused(amount: Any) -> None:
    with pytest.raises(InvalidAmount, match="whole number") as caught:
        positive_won(amount)
    assert caught.value.code == "INVALID_AMOUNT"


def test_the_refused_field_is_named_in_the_error() -> None:
    with pytest.raises(InvalidAmount, match="face_won") as caught:
        positive_won(0, field="face_won")
    assert caught.value.details == {"field": "face_won"}


# Calendar ------------------------------------------------------------------------------------


def test_a_naive_datetime_is_refused() -> None:
    naive = datetime(2026, 11, 26, 12, 0, tzinfo=UTC).replace(tzinfo=None)
    with pytest.raises(ValueError, match="naive"):
        require_aware(naive)


def test_an_aware_datetime_is_turned_into_utc() -> None:
    kst = timezone(timedelta(hours=9))
    assert require_aware(datetime(2026, 11, 26, 12, 0, tzinfo=kst)) == datetime(
        2026, 11, 26, 3, 0, tzinfo=UTC
    )
    assert require_aware(datetime(2026, 11, 26, 12, 0, tzinfo=kst)).tzinfo is UTC


def test_the_seoul_month_starts_at_midnight_in_seoul_not_in_utc() -> None:
    last_utc_instant_of_november_in_seoul = datetime(2026, 11, 30, 14, 59, 59, tzinfo=UTC)
    assert seoul_month(last_utc_instant_of_november_in_seoul) == "2026-11"
    assert seoul_month(last_utc_instant_of_november_in_seoul + timedelta(seconds=1)) == "2026-12"


@given(st.integers(0, 100 * 366 * 24 * 3600 * 10**6))
def test_a_seoul_months_bounds_hold_exactly_its_instants(microseconds: int) -> None:
    moment = datetime(2000, 1, 1, tzinfo=UTC) + timedelta(microseconds=microseconds)
    start, end = seoul_month_bounds(seoul_month(moment))
    assert start <= moment < end
    assert seoul_month(start) == seoul_month(moment) == seoul_month(end - timedelta(microseconds=1))
    assert seoul_month(start - timedelta(microseconds=1)) != seoul_month(moment) != seoul_month(end)


def test_the_seoul_year_turns_nine_hours_before_utc() -> None:
    assert seoul_year(datetime(2026, 12, 31, 14, 59, tzinfo=UTC)) == 2026
    assert seoul_year(datetime(2026, 12, 31, 15, 0, tzinfo=UTC)) == 2027
    assert seoul_day(datetime(2026, 12, 31, 15, 0, tzinfo=UTC)).isoformat() == "2027-01-01"


def test_a_year_has_twelve_months_in_order() -> None:
    assert months_of_year(2026) == [f"2026-{m:02d}" for m in range(1, 13)]
