"""Card rules without a database: Luhn, virtual numbers, the card's states, and the ISO 8583
answer each refusal gets."""

from __future__ import annotations

import pytest

from dongne.adapters.iso8583_messages import (
    card_request,
    decode,
    encode,
    response,
    response_type,
)
from dongne.domain.cards import (
    CardDeclined,
    CardMessageInvalid,
    CardState,
    CardStatus,
    CardStatusChangeNotAllowed,
    InvalidCardNumber,
    ResponseCode,
    luhn_check_digit,
    normalize_pan,
    response_code_for,
    virtual_pan,
)
from dongne.domain.errors import (
    InsufficientBalance,
    MerchantNotEligible,
    PaymentLimitExceeded,
    WalletNotFound,
)


def test_a_pan_is_checked_with_luhn() -> None:
    assert normalize_pan("4111 1111 1111 1111") == "4111111111111111"
    assert normalize_pan("5555-5555-5555-4444") == "5555555555554444"
    with pytest.raises(InvalidCardNumber):
        normalize_pan("4111111111111112")
    with pytest.raises(InvalidCardNumber):
        normalize_pan("41111111111")  # too short
    with pytest.raises(InvalidCardNumber):
        normalize_pan("４１１１１１１１１１１１１１１１")  # full-width digits are no PAN


def test_a_virtual_pan_is_sixteen_digits_under_dongne_s_prefix_and_passes_luhn() -> None:
    for seed in (b"\x00" * 32, b"\xff" * 32, bytes(range(32))):
        pan = virtual_pan(seed)
        assert len(pan) == 16
        assert pan.startswith("9410")
        assert normalize_pan(pan) == pan
        assert luhn_check_digit(pan[:-1]) == int(pan[-1])


def test_a_lost_card_is_blocked_for_good() -> None:
    assert CardState(CardStatus.ACTIVE).blocked() is CardStatus.BLOCKED
    assert CardState(CardStatus.BLOCKED).unblocked() is CardStatus.ACTIVE
    assert CardState(CardStatus.ACTIVE).lost() is CardStatus.LOST
    with pytest.raises(CardStatusChangeNotAllowed):
        CardState(CardStatus.LOST).unblocked()
    with pytest.raises(CardStatusChangeNotAllowed):
        CardState(CardStatus.REPLACED).replaced()
    assert CardState(CardStatus.LOST).replaced() is CardStatus.REPLACED
    for status in (CardStatus.BLOCKED, CardStatus.LOST, CardStatus.REPLACED):
        with pytest.raises(CardDeclined) as declined:
            CardState(status).check_usable()
        assert declined.value.details["response_code"] == ResponseCode.RESTRICTED_CARD


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InsufficientBalance("short"), "51"),
        (MerchantNotEligible("excluded", reason="category"), "57"),
        (PaymentLimitExceeded("too much"), "57"),
        (WalletNotFound("gone"), "14"),
        (InvalidCardNumber("bad"), "14"),
        (CardDeclined("blocked", response_code=ResponseCode.RESTRICTED_CARD), "62"),
    ],
)
def test_each_refusal_has_its_iso_8583_answer(error: Exception, code: str) -> None:
    assert response_code_for(error) == code  # type: ignore[arg-type]


def test_a_message_round_trips_and_its_answer_never_repeats_the_pan() -> None:
    fields = {
        "t": "0100",
        "2": "4111111111111111",
        "3": "000000",
        "4": "000000012000",
        "11": "000042",
        "12": "120000",
        "13": "1126",
        "18": "5812",
        "37": "633012000042",
        "41": "TERM0001",
        "42": "DONGNE000000001",
        "49": "410",
    }
    decoded = decode(encode(fields))
    assert decoded == fields
    request = card_request(decoded)
    assert (request.amount_won, request.stan, request.local_time) == (
        12_000,
        "000042",
        "1126120000",
    )
    answer = response(decoded, "00", approval_code="000007")
    assert answer["t"] == "0110"
    assert "2" not in answer
    assert response_type("0400") == "0410"
    with pytest.raises(CardMessageInvalid):
        decode(b"0100zz")
    with pytest.raises(CardMessageInvalid):
        card_request({k: v for k, v in fields.items() if k != "4"})


def test_a_reversal_names_its_original_stan_in_de90() -> None:
    fields = {
        "t": "0400",
        "2": "4111111111111111",
        "3": "000000",
        "4": "000000012000",
        "11": "000099",
        "12": "120000",
        "13": "1126",
        "18": "5812",
        "37": "633012000042",
        "41": "TERM0001",
        "42": "DONGNE000000001",
        "49": "410",
        "90": "0200" + "000042" + "1126030000" + "0" * 22,
    }
    assert card_request(fields).stan == "000042"
