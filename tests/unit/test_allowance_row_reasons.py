"""A preview's reasons have stable codes, so the pages can say them in Korean or English."""

from __future__ import annotations

import pytest

from dongne.domain.allowances import (
    MalformedRow,
    RowReason,
    classify,
    normalize_identity_key,
    normalize_name,
    normalize_phone,
    parse_amount,
    reason_code,
    reason_text,
)
from tests.unit.test_allowance_rules import row


@pytest.mark.parametrize(
    ("check", "typed", "reason"),
    [
        (normalize_identity_key, "12345", RowReason.IDENTITY_MALFORMED),
        (normalize_identity_key, "901301-1234567", RowReason.BIRTH_DATE_INVALID),
        (normalize_phone, "02-123-4567", RowReason.PHONE_MALFORMED),
        (normalize_name, " ", RowReason.NAME_EMPTY),
        (normalize_name, "김" * 101, RowReason.NAME_TOO_LONG),
        (parse_amount, "1.5", RowReason.AMOUNT_NOT_WHOLE),
        (parse_amount, "0", RowReason.AMOUNT_OUT_OF_RANGE),
    ],
)
def test_each_malformed_field_reads_back_as_its_code(
    check: object, typed: str, reason: RowReason
) -> None:
    with pytest.raises(MalformedRow) as raised:
        check(typed)  # type: ignore[operator]
    assert reason_code(str(raised.value)) == (reason, {})


def test_a_duplicate_row_reads_back_with_the_row_it_repeats() -> None:
    preview = classify(
        [row(2, "a"), row(3, "a"), row(4, "b"), row(5, "c")],
        default_amount_won=1_000,
        with_wallet={"a"},
        already_granted={"c"},
    )
    codes = [reason_code(r.reason) if r.reason else None for r in preview.rows]
    assert codes == [
        None,
        (RowReason.SAME_AS_ROW, {"row": "2"}),
        (RowReason.NO_WALLET_YET, {}),
        (RowReason.ALREADY_GRANTED, {}),
    ]


def test_every_reason_reads_back_and_unknown_text_has_no_code() -> None:
    for reason in RowReason:
        assert reason_code(reason_text(reason, row=7)) is not None
    assert reason_code("something else") is None
