"""The merchant QR payload (EMVCo Merchant-Presented Mode), byte for byte."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dongne.domain.channels import (
    PaymentCodeState,
    PaymentRequestState,
    RequestStatus,
    new_payment_code,
    normalize_payment_code,
)
from dongne.domain.dynamic_qr import (
    REFERENCE_ALPHABET,
    DynamicQrState,
    DynamicQrStatus,
    new_reference,
)
from dongne.domain.emvco import (
    MerchantQr,
    build_payload,
    crc16_ccitt_false,
    crc_of,
    data_object,
    parse_data_objects,
    parse_payload,
)
from dongne.domain.errors import (
    DynamicQrExpired,
    DynamicQrPaid,
    InvalidInput,
    PaymentCodeExpired,
    PaymentCodeUsed,
    PaymentRequestClosed,
    PaymentRequestExpired,
    QrCrcMismatch,
    QrInvalid,
)
from dongne.domain.romanization import romanize

EMVCO_EXAMPLE = (
    "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN"
    "5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412"
    "340603***0708A60086670902ME91320016A0112233449988770708123456786304A13A"
)
"""The worked example in the EMVCo MPM specification (its appendix): Chinese names, lengths in
characters, CRC A13A."""

BAKERY = MerchantQr.for_merchant(
    42, name="행복빵집 Happy Bakery", latin_name="Happy Bakery", city="SIHEUNG", local_city="시흥시"
)


def with_crc(body: str) -> str:
    return body + "6304" + crc_of(body + "6304")


def test_the_crc_is_crc16_ccitt_false_with_its_standard_check_value() -> None:
    assert crc16_ccitt_false(b"123456789") == 0x29B1
    assert crc16_ccitt_false(b"") == 0xFFFF


def test_the_crc_of_the_specifications_example_matches_it() -> None:
    assert crc_of(EMVCO_EXAMPLE[:-4]) == "A13A"


def test_the_specifications_example_counts_lengths_in_characters() -> None:
    objects = dict(parse_data_objects(EMVCO_EXAMPLE))
    assert dict(parse_data_objects(objects["64"]))["01"] == "最佳运输"


def test_a_payload_from_another_scheme_is_refused_as_such() -> None:
    with pytest.raises(QrInvalid) as refused:
        parse_payload(EMVCO_EXAMPLE)
    assert refused.value.code == "QR_INVALID"  # the currency, 156, is checked before the scheme


def test_a_dongne_payload_reads_exactly_as_built() -> None:
    payload = build_payload(BAKERY)
    assert payload.startswith("000201010211" + "26190009kr.dongne010242")
    assert "5204000053034105802KR5912Happy Bakery6007SIHEUNG" in payload
    assert "64340002KO0117행복빵집 Happy Bakery0203시흥시6304" in payload
    assert parse_payload(payload) == BAKERY


def test_a_long_name_is_cut_to_25_characters_and_a_korean_one_kept_in_the_language_template() -> (
    None
):
    qr = MerchantQr.for_merchant(7, name="가" * 30, city="a-very-long-city-name")
    assert qr.name == "Ga" + "ga" * 11 + "g"
    assert qr.local_name == "가" * 25
    assert qr.city == "a-very-long-cit"
    assert parse_payload(build_payload(qr)) == qr
    english = MerchantQr.for_merchant(8, name="The Very Long Bakery Name Of Siheung", city="X")
    assert english.name == "The Very Long Bakery Name"
    assert english.local_name is None


names = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xD7A3, blacklist_categories=["Cs"]),
    min_size=1,
    max_size=40,
)


@given(
    merchant_id=st.integers(min_value=1, max_value=10**12),
    name=names,
    city=names,
    local_city=st.one_of(st.none(), names),
)
def test_every_merchant_qr_round_trips(
    merchant_id: int, name: str, city: str, local_city: str | None
) -> None:
    qr = MerchantQr.for_merchant(merchant_id, name=name, city=city, local_city=local_city)
    payload = build_payload(qr)
    assert parse_payload(payload) == qr
    assert payload[-4:] == crc_of(payload[:-4])


@given(position=st.integers(min_value=0), replacement=st.sampled_from("0123456789AZ"))
def test_any_altered_character_is_refused(position: int, replacement: str) -> None:
    payload = build_payload(BAKERY)
    position %= len(payload)
    altered = payload[:position] + replacement + payload[position + 1 :]
    if altered == payload:
        return
    with pytest.raises(QrInvalid):
        parse_payload(altered)


def test_a_payload_scanned_again_is_not_parsed_again_and_a_refusal_is_raised_again() -> None:
    """A shop's static QR is scanned over and over; its reading is kept (``lru_cache``)."""
    payload = build_payload(BAKERY)
    assert parse_payload(payload) is parse_payload(payload)
    wrong = payload[:-4] + ("0000" if payload[-4:] != "0000" else "0001")
    for _ in range(2):
        with pytest.raises(QrCrcMismatch):
            parse_payload(wrong)


def test_a_wrong_crc_is_refused_with_its_own_code() -> None:
    payload = build_payload(BAKERY)
    wrong = payload[:-4] + ("0000" if payload[-4:] != "0000" else "0001")
    with pytest.raises(QrCrcMismatch) as refused:
        parse_payload(wrong)
    assert refused.value.code == "QR_CRC_MISMATCH"


def test_a_lower_case_crc_is_accepted() -> None:
    payload = build_payload(BAKERY)
    assert parse_payload(payload[:-4] + payload[-4:].lower()) == BAKERY


HEADER = "000201010211"
ACCOUNT = "26190009kr.dongne010242"
TAIL = "5204000053034105802KR5905Shop16007SIHEUNG"


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("", "empty"),
        (HEADER + ACCOUNT + "5204000053034105802KR59", "truncated header"),
        (HEADER + ACCOUNT + "5204000053034105802KR5999Shop", "length past the end"),
        (HEADER + ACCOUNT + "5204000053034105802KR5900" + "6007SIHEUNG", "zero length"),
        ("0002020102112619" + ACCOUNT[4:] + TAIL, "unknown payload format"),
        ("010211" + "000201" + ACCOUNT + TAIL, "format indicator not first"),
        (HEADER + ACCOUNT + "53034105802KR5905Shop16007SIHEUNG", "no category code"),
        (HEADER + ACCOUNT + "5204000058024KR5905Shop16007SIHEUNG", "no currency"),
        (HEADER + ACCOUNT + "520400005303840" + "5802KR5905Shop16007SIHEUNG", "dollars"),
        (HEADER + ACCOUNT + "5204000053034105802JP5905Shop16007SIHEUNG", "Japan"),
        (HEADER + ACCOUNT + "5204000053034105802KR6007SIHEUNG", "no name"),
        (HEADER + ACCOUNT + "5204000053034105802KR5905Shop1", "no city"),
        (HEADER + TAIL, "no merchant account"),
        (HEADER + "26190009kr.nopay0102420" + TAIL, "malformed account template"),
        (HEADER + "26200009com.other010242" + TAIL, "another scheme's template"),
        (HEADER + "04164111111111111111" + TAIL, "a card scheme only"),
        (HEADER + "26150009kr.dongne" + "0000" + TAIL, "our template without a merchant id"),
        (HEADER + "26190009kr.dongne0102AB" + TAIL, "a merchant id that is not a number"),
        (HEADER + ACCOUNT + "5204ABCD53034105802KR5905Shop16007SIHEUNG", "category not digits"),
        ("000201010213" + ACCOUNT + TAIL, "unknown point of initiation"),
        (HEADER + ACCOUNT + TAIL + "5905Shop2", "a tag twice"),
        (HEADER + ACCOUNT + TAIL + "64090002KO0101", "language template without a name"),
        (HEADER + ACCOUNT + TAIL + "64040001", "language template without a language"),
    ],
)
def test_a_malformed_payload_is_refused(body: str, why: str) -> None:
    with pytest.raises(QrInvalid) as refused:
        parse_payload(with_crc(body))
    assert not isinstance(refused.value, QrCrcMismatch), why


def test_a_payload_without_its_crc_at_the_end_is_refused() -> None:
    payload = build_payload(BAKERY)
    with pytest.raises(QrInvalid):
        parse_payload(payload[:-8])
    with pytest.raises(QrInvalid):
        parse_payload(payload + "0000")
    with pytest.raises(QrInvalid):
        parse_payload("6304")


def test_the_crc_tag_must_be_the_last_object() -> None:
    body = HEADER + ACCOUNT + TAIL
    crc = crc_of(body + "6304")
    with pytest.raises(QrInvalid):
        parse_payload(body + "6304" + crc + "6304" + crc_of(body + "6304" + crc + "6304"))


def test_building_refuses_what_the_spec_does_not_allow() -> None:
    with pytest.raises(QrInvalid):
        build_payload(MerchantQr(1, "x" * 26, "CITY"))
    with pytest.raises(QrInvalid):
        build_payload(MerchantQr(1, "빵집", "CITY"))
    with pytest.raises(QrInvalid):
        build_payload(MerchantQr(1, "Shop", "C" * 16))
    with pytest.raises(QrInvalid):
        build_payload(MerchantQr(1, "Shop", "CITY", category_code="12"))
    with pytest.raises(QrInvalid):
        data_object("1", "x")
    with pytest.raises(QrInvalid):
        data_object("01", "x" * 100)


# -- payment codes and requests -------------------------------------------------------------

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


def test_a_payment_code_is_18_digits_starting_92_and_random() -> None:
    codes = {new_payment_code() for _ in range(50)}
    assert len(codes) == 50
    for code in codes:
        assert len(code) == 18
        assert code.startswith("92")
        assert normalize_payment_code(f"{code[:6]} {code[6:12]}-{code[12:]}") == code


@pytest.mark.parametrize("code", ["", "12" + "0" * 16, "92" + "0" * 15, "92" + "0" * 17, "92x"])
def test_a_malformed_payment_code_is_refused(code: str) -> None:
    with pytest.raises(InvalidInput):
        normalize_payment_code(code)


def test_a_payment_code_is_usable_once_until_it_expires() -> None:
    expires_at = NOW + timedelta(seconds=180)
    PaymentCodeState(expires_at, None).check_usable(NOW + timedelta(seconds=179))
    with pytest.raises(PaymentCodeExpired):
        PaymentCodeState(expires_at, None).check_usable(expires_at)
    with pytest.raises(PaymentCodeUsed):
        PaymentCodeState(expires_at, NOW).check_usable(NOW)


def test_a_payment_request_is_open_while_pending_and_unexpired() -> None:
    expires_at = NOW + timedelta(minutes=10)
    pending = PaymentRequestState(RequestStatus.PENDING, expires_at)
    pending.check_open(NOW)
    assert pending.status_at(NOW) is RequestStatus.PENDING
    assert pending.status_at(expires_at) is RequestStatus.EXPIRED
    with pytest.raises(PaymentRequestExpired):
        pending.check_open(expires_at)
    for decided in (RequestStatus.PAID, RequestStatus.DECLINED):
        state = PaymentRequestState(decided, expires_at)
        assert state.status_at(expires_at) is decided
        with pytest.raises(PaymentRequestClosed):
            state.check_open(NOW)


# -- tag 59: the merchant's name in Latin letters -------------------------------------------

EMV_COMMON_CHARACTERS = re.compile(r"[\x20-\x7e]{1,25}")


def tag_59(payload: str) -> str:
    return dict(parse_data_objects(payload))["59"]


def test_a_korean_name_is_romanized_in_tag_59_and_kept_whole_in_tag_64() -> None:
    payload = build_payload(MerchantQr.for_merchant(5, name="가나시 가게0", city="SIHEUNG"))
    assert tag_59(payload) == "Ganasi Gage0"
    language = dict(parse_data_objects(dict(parse_data_objects(payload))["64"]))
    assert language == {"00": "KO", "01": "가나시 가게0"}


def test_the_merchants_own_latin_name_goes_in_tag_59() -> None:
    qr = MerchantQr.for_merchant(5, name="시루베이커리", latin_name="Siru Bakery", city="X")
    assert tag_59(build_payload(qr)) == "Siru Bakery"
    assert qr.local_name == "시루베이커리"


def test_a_long_romanized_name_is_cut_at_a_word_not_inside_one() -> None:
    qr = MerchantQr.for_merchant(5, name="행복빵집 Happy Bakery", city="X")
    assert qr.name == "Haengbokppangjip Happy"


hangul_words = st.lists(
    st.text(alphabet=st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3), min_size=1),
    min_size=1,
    max_size=4,
)


@given(words=hangul_words)
def test_tag_59_of_a_korean_name_is_its_romanization_readable_and_within_the_spec(
    words: list[str],
) -> None:
    name = " ".join(words)
    shown = tag_59(build_payload(MerchantQr.for_merchant(9, name=name, city="SIHEUNG")))
    assert EMV_COMMON_CHARACTERS.fullmatch(shown)
    romanized = romanize(name)
    assert romanized.startswith(shown)
    assert len(romanized) == len(shown) or len(shown) == 25 or romanized[len(shown)] == " "


# -- dynamic codes: one sale's amount and reference -----------------------------------------

REFERENCE = "K7QX2M4RTB6YH3WZP5NA"
SALE = BAKERY.for_sale(amount_won=12_000, reference=REFERENCE)


def test_a_dynamic_payload_carries_its_amount_and_reference_and_reads_back() -> None:
    payload = build_payload(SALE)
    assert payload.startswith("000201010212" + "26190009kr.dongne010242")
    assert "520400005303410" + "540512000" + "5802KR" in payload
    assert "62240520" + REFERENCE + "64" in payload
    assert payload[-4:] == crc_of(payload[:-4])
    assert parse_payload(payload) == SALE
    assert SALE.is_dynamic
    assert not BAKERY.is_dynamic


@given(
    amount_won=st.integers(min_value=1, max_value=10**13 - 1),
    reference=st.text(alphabet=REFERENCE_ALPHABET, min_size=1, max_size=25),
)
def test_every_dynamic_code_round_trips(amount_won: int, reference: str) -> None:
    sale = BAKERY.for_sale(amount_won=amount_won, reference=reference)
    payload = build_payload(sale)
    assert parse_payload(payload) == sale
    assert payload[-4:] == crc_of(payload[:-4])


def test_a_new_reference_is_random_and_fits_tag_62() -> None:
    references = {new_reference() for _ in range(100)}
    assert len(references) == 100
    for reference in references:
        assert len(reference) == 20
        assert set(reference) <= set(REFERENCE_ALPHABET)


@pytest.mark.parametrize("amount", ["12000.", "12000.00"])
def test_an_amount_with_a_decimal_mark_and_no_decimals_is_whole_won(amount: str) -> None:
    body = "000201010212" + ACCOUNT + "5204000053034105" + data_object("54", amount)[1:]
    body += "5802KR5905Shop16007SIHEUNG" + data_object("62", data_object("05", "REF"))
    assert parse_payload(with_crc(body)).amount_won == 12_000


SALE_HEAD = "000201010212" + ACCOUNT + "52040000530341"
SALE_TAIL = "5802KR5905Shop16007SIHEUNG"
SALE_REF = "62070503REF"


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (SALE_HEAD + "0" + SALE_TAIL + SALE_REF, "dynamic without an amount"),
        (SALE_HEAD + "054031000" + SALE_TAIL, "dynamic without a reference"),
        (SALE_HEAD + "054031000" + SALE_TAIL + "62070103REF", "no reference label"),
        (SALE_HEAD + "05401" + "0" + SALE_TAIL + SALE_REF, "zero won"),
        (SALE_HEAD + "0540512.50" + SALE_TAIL + SALE_REF, "decimals KRW has not"),
        (SALE_HEAD + "05403abc" + SALE_TAIL + SALE_REF, "not a number"),
        (SALE_HEAD + "05414" + "1" * 14 + SALE_TAIL + SALE_REF, "more than 13 characters"),
        (HEADER + ACCOUNT + "520400005303410" + "54031000" + SALE_TAIL, "static with an amount"),
    ],
)
def test_a_malformed_dynamic_payload_is_refused(body: str, why: str) -> None:
    with pytest.raises(QrInvalid) as refused:
        parse_payload(with_crc(body))
    assert not isinstance(refused.value, QrCrcMismatch), why


def test_building_refuses_a_sale_without_its_amount_or_reference() -> None:
    with pytest.raises(QrInvalid):
        build_payload(MerchantQr(1, "Shop", "CITY", amount_won=1_000))
    with pytest.raises(QrInvalid):
        build_payload(MerchantQr(1, "Shop", "CITY", reference="REF"))
    with pytest.raises(QrInvalid):
        build_payload(BAKERY.for_sale(amount_won=0, reference="REF"))
    with pytest.raises(QrInvalid):
        build_payload(BAKERY.for_sale(amount_won=1_000, reference="R" * 26))


def test_a_dynamic_code_is_payable_once_until_it_expires() -> None:
    expires_at = NOW + timedelta(minutes=5)
    pending = DynamicQrState(expires_at, None)
    pending.check_payable(expires_at - timedelta(seconds=1))
    assert pending.status_at(NOW) is DynamicQrStatus.PENDING
    assert pending.status_at(expires_at) is DynamicQrStatus.EXPIRED
    with pytest.raises(DynamicQrExpired):
        pending.check_payable(expires_at)
    paid = DynamicQrState(expires_at, NOW)
    assert paid.status_at(expires_at) is DynamicQrStatus.PAID
    with pytest.raises(DynamicQrPaid):
        paid.check_payable(expires_at)
