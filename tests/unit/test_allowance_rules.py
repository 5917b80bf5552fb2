"""The rules of a policy allowance program, each at its boundary, without a database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from dongne.domain.access import Forbidden, OfficialRole, Principal, UserKind
from dongne.domain.allowances import (
    MAX_GRANT_WON,
    AllowanceAction,
    AllowanceProgram,
    AllowanceTerms,
    MalformedRow,
    RecipientRow,
    RowStatus,
    authorize,
    check_budget,
    check_budget_covers,
    check_may_disburse,
    check_may_expire,
    check_terms,
    classify,
    normalize_identity_key,
    normalize_name,
    normalize_phone,
    parse_amount,
)
from dongne.domain.errors import DongneError, RegionNotFound
from dongne.domain.lots import Lot, LotKind
from dongne.domain.merchants import Merchant, MerchantStatus

START = datetime(2026, 12, 1, tzinfo=UTC)
END = datetime(2027, 3, 1, tzinfo=UTC)
TERMS = AllowanceTerms("청년수당", 100_000, START, END)
CI = "A" * 86 + "=="


def program(**changes: object) -> AllowanceProgram:
    return AllowanceProgram(1, 7, replace(TERMS, **changes), 10, 11)  # type: ignore[arg-type]


def code_of(error: pytest.ExceptionInfo[DongneError]) -> str:
    return error.value.code


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": " "}, "name"),
        ({"name": "가" * 101}, "name"),
        ({"amount_per_recipient_won": 0}, "amount_per_recipient_won"),
        ({"amount_per_recipient_won": MAX_GRANT_WON + 1}, "amount_per_recipient_won"),
        ({"allowed_categories": frozenset({"spaceport"})}, "categories"),
        ({"allowed_categories": frozenset()}, "allowed_categories"),
        (
            {
                "allowed_categories": frozenset({"bakery"}),
                "denied_categories": frozenset({"bakery"}),
            },
            "categories",
        ),
        ({"valid_until": START}, "valid_until"),
    ],
)
def test_malformed_terms_are_refused(changes: dict[str, object], field: str) -> None:
    with pytest.raises(DongneError) as raised:
        check_terms(replace(TERMS, **changes))  # type: ignore[arg-type]
    assert (raised.value.code, raised.value.details["field"]) == (
        "INVALID_ALLOWANCE_PROGRAM",
        field,
    )


def test_terms_at_their_limits_are_accepted() -> None:
    terms = replace(
        TERMS,
        name="가" * 100,
        amount_per_recipient_won=MAX_GRANT_WON,
        valid_until=START + timedelta(microseconds=1),
    )
    assert check_terms(terms).amount_per_recipient_won == MAX_GRANT_WON
    assert check_terms(replace(TERMS, amount_per_recipient_won=1)).amount_per_recipient_won == 1


def test_naive_validity_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        check_terms(replace(TERMS, valid_from=datetime(2026, 12, 1)))  # noqa: DTZ001


@pytest.mark.parametrize("budget", [0, -1, True, 10**15 + 1])
def test_a_budget_is_a_positive_whole_number(budget: int) -> None:
    with pytest.raises(DongneError):
        check_budget(budget)
    assert check_budget(1) == 1


def test_the_budget_must_cover_the_list_to_the_won() -> None:
    check_budget_covers(300_000, 300_000)
    with pytest.raises(DongneError) as raised:
        check_budget_covers(299_999, 300_000)
    assert raised.value.details == {"budget_won": 299_999, "needed_won": 300_000}


def test_the_validity_window_includes_its_start_and_excludes_its_end() -> None:
    check_may_disburse(program(), START)
    check_may_disburse(program(), END - timedelta(microseconds=1))
    for moment in (START - timedelta(microseconds=1), END):
        with pytest.raises(DongneError) as raised:
            check_may_disburse(program(), moment)
        assert code_of(raised) == "ALLOWANCE_NOT_VALID_NOW"


def test_expiry_runs_from_the_end_of_validity() -> None:
    check_may_expire(program(), END)
    with pytest.raises(DongneError) as raised:
        check_may_expire(program(), END - timedelta(microseconds=1))
    assert code_of(raised) == "ALLOWANCE_PROGRAM_STILL_VALID"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("900101-1234567", "9001011234567"),
        ("9001011234567", "9001011234567"),
        ("000229-3234567", "0002293234567"),
        (CI, CI),
    ],
)
def test_identity_keys_are_normalized(raw: str, expected: str) -> None:
    assert normalize_identity_key(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "900101-123456",
        "90010112345678",
        "901301-1234567",
        "010229-3234567",
        "A" * 87 + "=",
        "A" * 85 + "==",
        "",
        "hello",
    ],
)
def test_malformed_identity_keys_are_refused_without_repeating_them(raw: str) -> None:
    with pytest.raises(MalformedRow) as raised:
        normalize_identity_key(raw)
    assert not raw or raw not in str(raised.value)


def test_phones_names_and_amounts_at_their_limits() -> None:
    assert normalize_phone("010-1234-5678") == "01012345678"
    assert normalize_phone("011 123 4567") == "0111234567"
    for bad in ("02-123-4567", "010-1234-567", "010-1234-56789"):
        with pytest.raises(MalformedRow):
            normalize_phone(bad)
    assert normalize_name(" 김 ") == "김"
    for bad_name in ("", "가" * 101):
        with pytest.raises(MalformedRow):
            normalize_name(bad_name)
    assert parse_amount("") is None
    assert parse_amount("100,000") == 100_000
    assert parse_amount(str(MAX_GRANT_WON)) == MAX_GRANT_WON
    for bad_amount in ("0", "-1", "1.5", str(MAX_GRANT_WON + 1), "십만"):
        with pytest.raises(MalformedRow):
            parse_amount(bad_amount)


def row(number: int, identity: str | None, amount: int | None = None) -> RecipientRow:
    problem = None if identity else "the name is empty"
    return RecipientRow(number, identity, "김", "01012345678", amount, problem)


def test_each_row_is_matched_unmatched_duplicate_or_invalid_with_its_reason() -> None:
    preview = classify(
        [row(2, "a"), row(3, "b", 5_000), row(4, "a"), row(5, None), row(6, "c")],
        default_amount_won=100_000,
        with_wallet={"a"},
        already_granted={"c"},
    )
    statuses = [(r.row_number, r.status, r.reason) for r in preview.rows]
    assert statuses == [
        (2, RowStatus.MATCHED, None),
        (3, RowStatus.UNMATCHED, "no wallet in the region yet: granted when they sign up"),
        (4, RowStatus.DUPLICATE, "the same person as row 2"),
        (5, RowStatus.INVALID, "the name is empty"),
        (6, RowStatus.DUPLICATE, "already granted by this program"),
    ]
    assert preview.counts == {"matched": 1, "unmatched": 1, "duplicate": 2, "invalid": 1}
    assert preview.total_won == 105_000


def test_officials_act_in_their_region_by_role_and_the_operator_everywhere() -> None:
    def official(role: OfficialRole, region: int = 7) -> Principal:
        return Principal(UserKind.OFFICIAL, user_id=1, region_id=region, role=role.value)

    authorize(Principal(UserKind.OPERATOR), 7, AllowanceAction.DISBURSE)
    authorize(official(OfficialRole.VIEWER), 7, AllowanceAction.READ)
    authorize(official(OfficialRole.OPERATOR), 7, AllowanceAction.UPLOAD)
    authorize(official(OfficialRole.APPROVER), 7, AllowanceAction.DISBURSE)
    refusals = [
        (official(OfficialRole.VIEWER), AllowanceAction.UPLOAD),
        (official(OfficialRole.OPERATOR), AllowanceAction.DISBURSE),
        (official(OfficialRole.OPERATOR), AllowanceAction.FUND),
        (Principal(UserKind.CITIZEN, user_id=2, citizen_id=3), AllowanceAction.READ),
    ]
    for caller, action in refusals:
        with pytest.raises(Forbidden):
            authorize(caller, 7, action)
    # Another region's official is told the region does not exist: a refusal must not say
    # what exists elsewhere.
    with pytest.raises(RegionNotFound):
        authorize(official(OfficialRole.APPROVER, region=8), 7, AllowanceAction.READ)


def test_an_allowance_lot_follows_its_programs_categories() -> None:
    restricted = program(
        allowed_categories=frozenset({"grocery"}), usable_above_revenue_cap=True
    ).restriction()
    lot = Lot(1, LotKind.ALLOWANCE, 100_000, 0, 100_000, START, END, restricted, 10)

    def shop(category: str, revenue: int = 0) -> Merchant:
        return Merchant(1, 7, "가게", "1234567891", category, revenue, MerchantStatus.ACTIVE)

    assert lot.usable_at(shop("grocery", 10**12), revenue_cap_won=3 * 10**9)
    assert not lot.usable_at(shop("cafe"), revenue_cap_won=3 * 10**9)
    denied = program(denied_categories=frozenset({"cafe"})).restriction()
    assert not replace(lot, restriction=denied).usable_at(shop("cafe"), revenue_cap_won=10**9)
