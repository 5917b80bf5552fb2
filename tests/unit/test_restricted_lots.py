"""Allowance lots (restricted funds): where they may be spent, the order they are spent in, and
where their value goes when it expires."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from dongne.domain.errors import MerchantNotEligible
from dongne.domain.lots import (
    Lot,
    LotKind,
    LotRestriction,
    Return,
    Take,
    plan_gift,
    plan_payment,
    plan_refund,
    split_return,
    to_funders,
)
from dongne.domain.merchants import Merchant, MerchantStatus
from dongne.domain.program import EXCLUDED_CATEGORIES_DEFAULT

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
CAP = 3_000_000_000
PROGRAM_ACCOUNT = 77


def a_lot(lot_id: int, kind: LotKind, face: int, *, expires_in_days: int = 365) -> Lot:
    paid = face * 9 // 10 if kind is LotKind.PURCHASED else 0
    return Lot(
        id=lot_id,
        kind=kind,
        face_won=face,
        paid_won=paid,
        remaining_won=face,
        acquired_at=NOW - timedelta(days=lot_id),
        expires_at=NOW + timedelta(days=expires_in_days),
    )


def allowance(
    lot_id: int, face: int, restriction: LotRestriction, *, expires_in_days: int = 90
) -> Lot:
    return replace(
        a_lot(lot_id, LotKind.ALLOWANCE, face, expires_in_days=expires_in_days),
        restriction=restriction,
        funder_account_id=PROGRAM_ACCOUNT,
    )


def shop(category: str = "bakery", revenue: int = 100_000_000) -> Merchant:
    return Merchant(1, 1, "동네가게", "1234567891", category, revenue, MerchantStatus.ACTIVE)


def pay(lots: list[Lot], amount: int, merchant: Merchant) -> list[Take]:
    return plan_payment(
        lots, amount, merchant, CAP, NOW, excluded_categories=EXCLUDED_CATEGORIES_DEFAULT
    )


ANYWHERE = LotRestriction(program_id=1)


def test_restricted_funds_are_spent_before_points_and_purchased_value() -> None:
    lots = [
        a_lot(1, LotKind.PURCHASED, 50_000),
        a_lot(2, LotKind.CASHBACK, 3_000, expires_in_days=10),
        allowance(3, 20_000, ANYWHERE),
    ]
    assert pay(lots, 24_000, shop()) == [Take(3, 20_000), Take(2, 3_000), Take(1, 1_000)]


def test_of_two_allowances_the_one_expiring_sooner_goes_first() -> None:
    later = allowance(1, 10_000, ANYWHERE, expires_in_days=60)
    sooner = allowance(2, 10_000, ANYWHERE, expires_in_days=30)
    assert pay([later, sooner], 12_000, shop()) == [Take(2, 10_000), Take(1, 2_000)]


def test_an_allowance_limited_to_categories_is_skipped_elsewhere() -> None:
    groceries_only = LotRestriction(program_id=1, allowed_categories=frozenset({"grocery"}))
    lots = [allowance(1, 30_000, groceries_only), a_lot(2, LotKind.PURCHASED, 10_000)]
    assert pay(lots, 5_000, shop("bakery")) == [Take(2, 5_000)]
    assert pay(lots, 5_000, shop("grocery")) == [Take(1, 5_000)]


def test_a_denied_category_refuses_the_allowance_even_when_allowed_categories_are_open() -> None:
    no_clinics = LotRestriction(program_id=1, denied_categories=frozenset({"clinic"}))
    with pytest.raises(MerchantNotEligible) as refused:
        pay([allowance(1, 30_000, no_clinics)], 5_000, shop("clinic"))
    assert refused.value.details["reason"] == "restricted"


def test_an_allowance_may_name_a_category_ordinary_vouchers_exclude() -> None:
    marts = LotRestriction(program_id=1, allowed_categories=frozenset({"large_mart"}))
    lots = [allowance(1, 30_000, marts), a_lot(2, LotKind.PURCHASED, 50_000)]
    assert pay(lots, 20_000, shop("large_mart")) == [Take(1, 20_000)]


def test_purchased_value_never_pays_an_excluded_category_even_beside_an_allowance() -> None:
    marts = LotRestriction(program_id=1, allowed_categories=frozenset({"large_mart"}))
    lots = [allowance(1, 10_000, marts), a_lot(2, LotKind.PURCHASED, 50_000)]
    with pytest.raises(Exception, match="usable here") as short:
        pay(lots, 20_000, shop("large_mart"))
    assert short.value.details["available_won"] == 10_000


def test_an_excluded_category_without_any_allowance_is_refused_as_before() -> None:
    with pytest.raises(MerchantNotEligible) as refused:
        pay([a_lot(1, LotKind.PURCHASED, 50_000)], 1_000, shop("large_mart"))
    assert refused.value.details["reason"] == "excluded_category"


def test_above_the_revenue_cap_only_an_allowance_that_says_so_pays() -> None:
    above = shop(revenue=CAP + 1)
    capped = allowance(1, 10_000, ANYWHERE)
    uncapped = allowance(2, 10_000, LotRestriction(program_id=2, usable_above_revenue_cap=True))
    purchased = a_lot(3, LotKind.PURCHASED, 10_000)
    assert pay([capped, uncapped, purchased], 8_000, above) == [Take(2, 8_000)]
    with pytest.raises(MerchantNotEligible) as refused:
        pay([capped, purchased], 8_000, above)
    assert refused.value.details["reason"] == "revenue_cap"


def test_an_allowance_is_neither_gifted_nor_refunded() -> None:
    lots = [allowance(1, 30_000, ANYWHERE)]
    with pytest.raises(Exception, match="purchased value to give"):
        plan_gift(lots, 1_000, NOW)
    with pytest.raises(Exception, match="no purchased value"):
        plan_refund(lots, 6_000, NOW)


def test_what_an_allowance_gives_back_goes_to_its_funder_and_the_rest_to_the_budget() -> None:
    returns = [
        split_return(allowance(1, 30_000, ANYWHERE), 12_000),
        split_return(a_lot(2, LotKind.CASHBACK, 5_000), 5_000),
        split_return(a_lot(3, LotKind.PURCHASED, 10_000), 10_000),
    ]
    assert returns[0] == Return(1, 12_000, 0, 12_000, PROGRAM_ACCOUNT)
    assert to_funders(returns) == {PROGRAM_ACCOUNT: 12_000, None: 5_000 + 1_000}
