"""How a person is written down: a mobile phone number and an identity number.

One rule for every way in (sign-up over the API, the CLI, recipient lists, gifts, payment
requests, step reports), so a number one of them accepts is one the others find.
"""

from __future__ import annotations

import re
from datetime import date

from dongne.domain.errors import InvalidInput

MOBILE_PHONE = re.compile(
    r"(010)[- ]?([0-9]{4})[- ]?([0-9]{4})|(01[16789])[- ]?([0-9]{3,4})[- ]?([0-9]{4})"
)
"""010 numbers have 11 digits; the older 011-019 ones 10 or 11. The groups may be set apart
by one hyphen or space each, as people write them (010-1234-5678, 010 1234 5678), and by
nothing else: ``010--1234--5678`` and ``010-1234-567`` are typing slips, not numbers.
ASCII digits only: full-width ones would be a second spelling of the same number."""

CI = re.compile(r"[A-Za-z0-9+/]{86}==")
"""The PASS connecting information (CI): 64 bytes, written as 88 characters of base64."""
RESIDENT_NUMBER = re.compile(r"([0-9]{6})-?([0-9]{7})")
"""A resident registration number (주민등록번호): birth date, then seven digits."""
_CENTURY = {"1": 1900, "2": 1900, "5": 1900, "6": 1900, "3": 2000, "4": 2000, "7": 2000}
_CENTURY |= {"8": 2000, "9": 1800, "0": 1800}


def normalize_phone(raw: str, *, field: str = "phone") -> str:
    """The mobile number as its digits (``01012345678``); anything else is refused."""
    match = MOBILE_PHONE.fullmatch(raw.strip())
    if match is None:
        raise InvalidInput("a phone number looks like 010-1234-5678", field=field)
    return "".join(group for group in match.groups() if group)


def masked_phone(phone: str) -> str:
    """A phone number as lists and pages show it to officials: the first three and last four
    digits, the middle hidden."""
    return phone[:3] + "*" * max(0, len(phone) - 7) + phone[-4:] if len(phone) > 7 else "***"


def is_mobile_phone(text: str) -> bool:
    return MOBILE_PHONE.fullmatch(text.strip()) is not None


def normalize_identity_number(raw: str, *, field: str = "identity_number") -> str:
    """A CI as is, or a resident registration number as 13 digits; refuse anything else.

    The resident number's last digit is not checked: numbers issued since October 2020 have
    random digits there, so the old check digit would refuse real people. The refusal never
    repeats the number.
    """
    text = raw.strip()
    if CI.fullmatch(text):
        return text
    match = RESIDENT_NUMBER.fullmatch(text.replace(" ", ""))
    if match is None:
        raise InvalidInput(
            "the identity key is neither a CI (88 characters) nor 13 digits",
            field=field,
        )
    birth, rest = match.groups()
    year = _CENTURY[rest[0]] + int(birth[:2])
    try:
        date(year, int(birth[2:4]), int(birth[4:6]))
    except ValueError:
        raise InvalidInput(
            "the resident registration number has no valid birth date", field=field
        ) from None
    return birth + rest
