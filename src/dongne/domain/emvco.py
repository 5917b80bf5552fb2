"""The merchant's QR code: an EMV QR Code (EMVCo QRCPS, Merchant-Presented Mode) payload.

A payload is a run of data objects, each a 2-digit ID, a 2-digit length and the value. dongne
writes two kinds. A static code, printed once, where the citizen types the amount; and a
dynamic one, shown by a counter or kiosk for one sale, that carries the amount and the sale's
reference. Their objects, in this order:

    00 payload format indicator "01"      01 point of initiation "11" (static), "12" (dynamic)
    26 merchant account information: 00 = "kr.dongne" (the scheme's globally unique id),
       01 = dongne's merchant id
    52 merchant category code             53 currency "410" (KRW)
    54 transaction amount (dynamic only): whole won in digits, KRW having no minor unit
    58 country "KR"
    59 merchant name (at most 25)         60 merchant city (at most 15)
    62 additional data (dynamic only): 05 = reference label, the sale's random reference
    64 language template: 00 "KO", 01 the name in Korean, 02 the city in Korean
    63 CRC: CRC-16/CCITT-FALSE over the whole payload up to and including "6304", 4 hex digits

Lengths count characters, not bytes: the spec's "S" (string) format says a UTF-8 character
may take up to four bytes but "the length must be equal to the number of characters in the
value" (the spec's own example writes "0104最佳运输"). The CRC is computed over the UTF-8 bytes.
Tags 59 and 60 are "ans": the EMV common character set (printable ASCII), so a Korean name
goes in template 64 and tag 59 carries the merchant's Latin name: the one it registered, or
else its name romanized (``domain.romanization``), cut to 25 characters at a word.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, replace
from functools import lru_cache

from dongne.domain.errors import QrCrcMismatch, QrInvalid
from dongne.domain.romanization import romanize

SCHEME_ID = "kr.dongne"
"""Sub-object 00 of our merchant account template: who may read the rest of it."""
MERCHANT_ACCOUNT_TAG = "26"
CRC_TAG = "63"
NAME_LENGTH_MAX = 25
CITY_LENGTH_MAX = 15
LOCAL_NAME_LENGTH_MAX = 25
LOCAL_CITY_LENGTH_MAX = 15
KRW = "410"
KOREA = "KR"
STATIC = "11"
DYNAMIC = "12"
DEFAULT_CATEGORY_CODE = "0000"
AMOUNT_TAG = "54"
ADDITIONAL_DATA_TAG = "62"
REFERENCE_LABEL_TAG = "05"
AMOUNT_LENGTH_MAX = 13
REFERENCE_LENGTH_MAX = 25

_ANS = re.compile(r"[\x20-\x7e]*")
_DIGITS = re.compile(r"\d+")
_AMOUNT = re.compile(r"(\d+)(?:\.0*)?")
"""Whole won; the spec lets a "." mark decimals, and KRW has none to mark."""
_MANDATORY = ("00", "52", "53", "58", "59", "60", "63")
_MERCHANT_ACCOUNT_TAGS = frozenset(f"{tag:02d}" for tag in range(2, 52))


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection, no final
    XOR (ISO/IEC 13239, as the spec names it). Its check value over b"123456789" is 0x29B1.
    The standard library's ``crc_hqx`` is that CRC, given the initial value, in C: every
    payment by QR checks one."""
    return binascii.crc_hqx(data, 0xFFFF)


def crc_of(payload_before_crc_value: str) -> str:
    """The 4 uppercase hex digits tag 63 holds, over the payload ending in "6304"."""
    return f"{crc16_ccitt_false(payload_before_crc_value.encode()):04X}"


def data_object(tag: str, value: str) -> str:
    if not re.fullmatch(r"\d\d", tag):
        raise QrInvalid(f"a data object id is two digits, not {tag!r}", tag=tag)
    if not 1 <= len(value) <= 99:
        raise QrInvalid(f"data object {tag} holds 1 to 99 characters", tag=tag)
    return f"{tag}{len(value):02d}{value}"


def parse_data_objects(text: str) -> list[tuple[str, str]]:
    """Split ``text`` into (id, value) pairs, refusing a truncated or malformed run."""
    objects: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        header = text[position : position + 4]
        if len(header) < 4 or not header.isascii() or not header.isdigit():
            raise QrInvalid(f"a malformed data object at character {position}", at=position)
        tag, length = header[:2], int(header[2:])
        value = text[position + 4 : position + 4 + length]
        if length == 0 or len(value) != length:
            raise QrInvalid(f"data object {tag} has a wrong length", tag=tag, at=position)
        objects.append((tag, value))
        position += 4 + length
    return objects


@dataclass(frozen=True)
class MerchantQr:
    """What a dongne merchant's QR code says, already fitted to the spec's limits."""

    merchant_id: int
    name: str
    city: str
    category_code: str = DEFAULT_CATEGORY_CODE
    local_name: str | None = None
    local_city: str | None = None
    amount_won: int | None = None
    """Set on a dynamic code only: the sale's amount, which the payer cannot change."""
    reference: str | None = None
    """Set on a dynamic code only: the sale's random reference (tag 62, sub-object 05)."""

    @property
    def is_dynamic(self) -> bool:
        return self.amount_won is not None

    @classmethod
    def for_merchant(
        cls,
        merchant_id: int,
        *,
        name: str,
        city: str,
        latin_name: str | None = None,
        local_city: str | None = None,
        category_code: str = DEFAULT_CATEGORY_CODE,
    ) -> MerchantQr:
        """Fit a merchant's names to the spec: ASCII in 59/60 (the Latin name, else the name
        romanized), cut to 25/15 characters, and the Korean name (when it is not plain ASCII)
        in the language template."""
        latin = _ascii(latin_name or "") or _ascii(romanize(name))
        ascii_name = _fit_words(latin, NAME_LENGTH_MAX) or f"MERCHANT {merchant_id}"
        ascii_city = _ascii(city)[:CITY_LENGTH_MAX].strip() or "KOREA"
        local_name = name.strip()[:LOCAL_NAME_LENGTH_MAX].strip() if not name.isascii() else None
        local_city = (local_city or "").strip()[:LOCAL_CITY_LENGTH_MAX].strip() or None
        return cls(
            merchant_id,
            ascii_name,
            ascii_city,
            category_code,
            local_name or None,
            local_city if local_name else None,
        )

    def for_sale(self, *, amount_won: int, reference: str) -> MerchantQr:
        """This merchant's dynamic code for one sale of ``amount_won``."""
        return replace(self, amount_won=amount_won, reference=reference)


def _ascii(text: str) -> str:
    return " ".join("".join(c for c in text if " " <= c <= "~").split())


def _fit_words(text: str, length_max: int) -> str:
    """``text`` cut to ``length_max`` characters at the end of a word, so no word is left
    half written; a first word too long on its own is cut."""
    if len(text) <= length_max:
        return text
    fitted = ""
    for word in text.split(" "):
        candidate = f"{fitted} {word}" if fitted else word
        if len(candidate) > length_max:
            break
        fitted = candidate
    return fitted or text[:length_max].strip()


def build_payload(qr: MerchantQr) -> str:
    """The payload string to put in the QR code."""
    if len(qr.name) > NAME_LENGTH_MAX or not _ANS.fullmatch(qr.name):
        raise QrInvalid("a merchant name is at most 25 printable ASCII characters")
    if len(qr.city) > CITY_LENGTH_MAX or not _ANS.fullmatch(qr.city):
        raise QrInvalid("a merchant city is at most 15 printable ASCII characters")
    if not re.fullmatch(r"\d{4}", qr.category_code):
        raise QrInvalid("a merchant category code is 4 digits")
    _check_sale(qr)
    account = data_object("00", SCHEME_ID) + data_object("01", str(qr.merchant_id))
    payload = (
        data_object("00", "01")
        + data_object("01", DYNAMIC if qr.is_dynamic else STATIC)
        + data_object(MERCHANT_ACCOUNT_TAG, account)
        + data_object("52", qr.category_code)
        + data_object("53", KRW)
    )
    if qr.amount_won is not None:
        payload += data_object(AMOUNT_TAG, str(qr.amount_won))
    payload += data_object("58", KOREA) + data_object("59", qr.name) + data_object("60", qr.city)
    if qr.reference is not None:
        reference = data_object(REFERENCE_LABEL_TAG, qr.reference)
        payload += data_object(ADDITIONAL_DATA_TAG, reference)
    if qr.local_name:
        language = data_object("00", "KO") + data_object("01", qr.local_name)
        if qr.local_city:
            language += data_object("02", qr.local_city)
        payload += data_object("64", language)
    payload += CRC_TAG + "04"
    return payload + crc_of(payload)


@lru_cache(maxsize=4_096)
def parse_payload(payload: str) -> MerchantQr:
    """Read a dongne merchant's QR payload, refusing anything that is not exactly one.

    Kept for the last few thousand payloads read: a shop's static QR is scanned over and over,
    and parsing it with its CRC cost a payment in a batch a tenth of its Python (a refusal is
    not kept; it is raised again each time)."""
    payload = payload.strip()
    if len(payload) < 8 or payload[-8:-4] != CRC_TAG + "04":
        raise QrInvalid("the payload does not end in its CRC (tag 63, length 04)")
    objects = parse_data_objects(payload)
    tags = [tag for tag, _ in objects]
    if len(set(tags)) != len(tags):
        raise QrInvalid("a data object appears twice")
    if tags[0] != "00" or tags[-1] != CRC_TAG:
        raise QrInvalid("a payload starts with tag 00 and ends with tag 63")
    expected_crc = crc_of(payload[:-4])
    if payload[-4:].upper() != expected_crc:
        raise QrCrcMismatch("the QR code's checksum is wrong: it was misread or altered")
    values = dict(objects)
    missing = [tag for tag in _MANDATORY if tag not in values]
    if missing:
        raise QrInvalid(f"mandatory data objects are missing: {', '.join(missing)}", tags=missing)
    _check_header(values)
    merchant_id = _dongne_merchant_id(values)
    local_name, local_city = _language_template(values.get("64"))
    amount_won, reference = _sale(values)
    return MerchantQr(
        merchant_id,
        values["59"],
        values["60"],
        values["52"],
        local_name,
        local_city,
        amount_won,
        reference,
    )


def _check_sale(qr: MerchantQr) -> None:
    """A dynamic code has both an amount and a reference; a static one neither."""
    if (qr.amount_won is None) != (qr.reference is None):
        raise QrInvalid("a dynamic QR code carries both the amount and the sale's reference")
    if qr.amount_won is not None and not 0 < qr.amount_won < 10**AMOUNT_LENGTH_MAX:
        raise QrInvalid("a QR code's amount is a positive whole number of won, 13 digits at most")
    if qr.reference is not None and (
        not 0 < len(qr.reference) <= REFERENCE_LENGTH_MAX or not _ANS.fullmatch(qr.reference)
    ):
        raise QrInvalid("a sale's reference is 1 to 25 printable ASCII characters")


def _sale(values: dict[str, str]) -> tuple[int | None, str | None]:
    """The amount and reference of a dynamic code, refused unless both are there and well
    formed; (None, None) for a static one, which carries neither."""
    dynamic = values.get("01") == DYNAMIC
    amount_text = values.get(AMOUNT_TAG)
    template = values.get(ADDITIONAL_DATA_TAG)
    if not dynamic:
        if amount_text is not None:
            raise QrInvalid("a static QR code carries no amount: the payer types it")
        return None, None
    if amount_text is None or template is None:
        raise QrInvalid("a dynamic QR code carries its amount (54) and reference (62)")
    amount = _AMOUNT.fullmatch(amount_text)
    if amount is None or len(amount_text) > AMOUNT_LENGTH_MAX or int(amount.group(1)) == 0:
        raise QrInvalid("a QR code's amount is a positive whole number of won", tag=AMOUNT_TAG)
    reference = dict(parse_data_objects(template)).get(REFERENCE_LABEL_TAG)
    if reference is None:
        raise QrInvalid("a dynamic QR code names its sale (62, reference label 05)")
    return int(amount.group(1)), reference


def _check_header(values: dict[str, str]) -> None:
    if values["00"] != "01":
        raise QrInvalid("only payload format 01 is known")
    if values.get("01", STATIC) not in {STATIC, DYNAMIC}:
        raise QrInvalid("the point of initiation is 11 (static) or 12 (dynamic)")
    if values["53"] != KRW:
        raise QrInvalid("dongne vouchers pay in Korean won (currency 410)")
    if values["58"] != KOREA:
        raise QrInvalid("dongne merchants are in Korea (country KR)")
    if not re.fullmatch(r"\d{4}", values["52"]):
        raise QrInvalid("a merchant category code is 4 digits")


def _dongne_merchant_id(values: dict[str, str]) -> int:
    """Our merchant id from whichever merchant account template carries our scheme id."""
    accounts = [values[tag] for tag in sorted(_MERCHANT_ACCOUNT_TAGS & values.keys())]
    if not accounts:
        raise QrInvalid("the payload has no merchant account information")
    for account in accounts:
        if not account[:2].isdigit() or len(account) < 4:
            continue  # tags 02-25 are card schemes' primitive values, not templates
        try:
            inner = dict(parse_data_objects(account))
        except QrInvalid:
            continue
        if inner.get("00", "").lower() != SCHEME_ID:
            continue
        merchant_id = inner.get("01", "")
        if not _DIGITS.fullmatch(merchant_id):
            raise QrInvalid("the dongne merchant id is missing or not a number")
        return int(merchant_id)
    raise QrInvalid("this QR code belongs to another payment scheme", reason="other_scheme")


def _language_template(template: str | None) -> tuple[str | None, str | None]:
    if template is None:
        return None, None
    inner = dict(parse_data_objects(template))
    if "00" not in inner or "01" not in inner:
        raise QrInvalid("a language template holds a language (00) and a name (01)")
    return inner["01"], inner.get("02")
