"""The request fields every route shares, so a rule about input is written once.

- ``RequestModel`` is the base of every request body. One validator runs on every field of
  every body (nested models and lists too): text may not hold control characters (NUL, which
  PostgreSQL cannot store, and the rest of C0, DEL and C1) or lone surrogates (which no
  database can encode), and a date-time must carry its UTC offset. A refusal is a 422 that
  names the field. ``tests/e2e/test_api_input_rules.py`` checks every body derives from it.
- ``Text`` is the same text rule for query, path and header parameters.
- ``Won`` and ``PositiveWon`` are amounts: strict JSON integers. FastAPI validates a body in
  pydantic's python mode, where a lax ``int`` takes ``true``, ``"1000"`` and ``1000.0``;
  ``Strict`` refuses them. Strict is per field, not per model: a strict model would refuse ISO
  date-time and enum strings in python mode too.
- ``Id`` and ``Count`` are strict integers for ids and counts in bodies.
- ``Pin`` is exactly six ASCII digits, so a malformed PIN is a 422 that costs no try.
- ``NewPassword`` is as long as ``domain.access`` requires, so the schema says what the server
  checks.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StrictBool, StrictInt, field_validator

from dongne.domain.access import MIN_PASSWORD_LENGTH

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
"""C0 controls, DEL, C1 controls, and UTF-16 surrogates (JSON can spell a lone one)."""
MAX_WON = 10**15
"""A quadrillion won: more than any city's whole budget, and far inside a 64-bit column."""
MAX_ID = 2**63 - 1
"""Ids are 64-bit integers in the database."""


def plain_text(text: str) -> str:
    """``text`` unchanged, unless it holds a control character or a lone surrogate."""
    if CONTROL_CHARACTERS.search(text):
        raise ValueError("text may not contain control characters")
    return text


def _checked(value: Any) -> Any:
    if isinstance(value, str):
        plain_text(value)
    elif isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("a date-time needs its UTC offset, like 2026-12-01T00:00:00+09:00")
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _checked(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _checked(key)
            _checked(item)
    return value


class RequestModel(BaseModel):
    """The base of every request body (see the module docstring)."""

    @field_validator("*", mode="after")
    @classmethod
    def _plain_text_and_aware_times(cls, value: Any) -> Any:
        return _checked(value)


Text = Annotated[str, AfterValidator(plain_text)]
Won = Annotated[StrictInt, Field(ge=0, le=MAX_WON)]
PositiveWon = Annotated[StrictInt, Field(gt=0, le=MAX_WON)]
Id = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
Count = Annotated[StrictInt, Field(ge=0, le=MAX_ID)]
Flag = StrictBool
Pin = Annotated[str, Field(pattern=r"^[0-9]{6}$", examples=["482916"])]
NewPassword = Annotated[
    str,
    Field(
        min_length=MIN_PASSWORD_LENGTH,
        max_length=200,
        description=f"At least {MIN_PASSWORD_LENGTH} characters",
    ),
]
Month = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$",
        description="YYYY-MM: the Seoul month just ended, or one of the next twelve",
    ),
]
