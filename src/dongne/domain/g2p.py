"""G2P Connect disbursement rules: financial addresses, amounts, statuses and reason codes.

A welfare system (a partner app with the ``g2p`` scope) sends disbursement instructions in the
G2P Connect "G2P Disbursements" v1.0.0 format. This module reads what each instruction names,
without I/O: who pays (an allowance program of the partner's region), who is paid (a citizen,
by phone or by identity), how much (a decimal string, whole won only), and says what the
answer is, in the specification's own codes (``docs/g2p-connect.md``).

Financial addresses (case-insensitive, ``<type>:<value>@<region code>.dongne``):

- ``program:12@siheung.dongne`` — the payer: allowance program 12 of the region;
- ``phone:01012345678@siheung.dongne`` — a citizen with a wallet in the region, by phone;
- ``rrn:9001011234567@siheung.dongne`` — a person by resident registration number, hashed at
  the edge (HMAC) and never kept; they need no wallet yet (a pending grant);
- ``token:<64 hex>@siheung.dongne`` — the same person by that HMAC, which dongne sends back in
  place of the number, so a sender can refer to the person later without the number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from dongne.domain.allowances import MAX_GRANT_WON
from dongne.domain.errors import Conflict, InvalidInput
from dongne.domain.people import normalize_identity_number, normalize_phone

FA_DOMAIN = "dongne"
PROTOCOL_VERSION = "1.0.0"
CURRENCY = "KRW"
MAX_ITEMS = 100
"""Instructions per message: request bodies are at most 64 KiB, so a bigger list goes as
several messages (or as an upload)."""
MAX_REFERENCE_LENGTH = 99

_FA = re.compile(r"(?P<type>[a-z]+):(?P<value>[^@\s]{1,128})@(?P<region>[a-z0-9-]+)\.dongne")
_AMOUNT = re.compile(r"(?P<won>[0-9]{1,13})(?:\.(?P<fraction>[0-9]{1,2}))?")
_TOKEN = re.compile(r"[0-9a-f]{64}")


class G2pEnvelopeInvalid(InvalidInput):
    """A G2P Connect message that cannot be taken at all: a header field missing or wrong, an
    unsupported version, encryption, no callback address. ``details['g2p_error']`` is the
    specification's error code (``err.request.bad``, ``err.sender_uri.invalid``, ...) and
    ``details['header_reason']``, when there is one, its header reason code."""

    code = "DISBURSEMENT_MESSAGE_INVALID"


class G2pMessageIdReused(Conflict):
    """A sender used one ``message_id`` for two different messages
    (``rjct.message_id.duplicate``)."""

    code = "DISBURSEMENT_MESSAGE_ID_REUSED"


class Status(StrEnum):
    """The specification's ``RequestStatus``."""

    RECEIVED = "rcvd"
    PENDING = "pdng"
    """Accepted; the payee has no wallet yet and gets the grant at sign-up."""
    SUCCESS = "succ"
    REJECTED = "rjct"


class Reason(StrEnum):
    """The specification's ``DisburseStatusReasonCode``."""

    REFERENCE_ID_INVALID = "rjct.reference_id.invalid"
    REFERENCE_ID_DUPLICATE = "rjct.reference_id.duplicate"
    PAYER_FA_INVALID = "rjct.payer_fa.invalid"
    PAYEE_FA_INVALID = "rjct.payee_fa.invalid"
    AMOUNT_INVALID = "rjct.amount.invalid"
    SCHEDULE_TS_INVALID = "rjct.schedule_ts.invalid"
    CURRENCY_CODE_INVALID = "rjct.currency_code.invalid"


class Rejected(Exception):
    """One instruction is refused: its reason code and a message safe to send back."""

    def __init__(self, reason: Reason, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


class PayeeKind(StrEnum):
    PHONE = "phone"
    RRN = "rrn"
    TOKEN = "token"  # noqa: S105 - an address type, not a secret


@dataclass(frozen=True)
class Payee:
    kind: PayeeKind
    value: str
    """Phone digits, the identity number (never stored), or the identity HMAC."""


def region_part(region_code: str) -> str:
    return f"{region_code.lower()}.{FA_DOMAIN}"


def program_address(program_id: int, region_code: str) -> str:
    return f"program:{program_id}@{region_part(region_code)}"


def token_address(identity_hmac: str, region_code: str) -> str:
    return f"token:{identity_hmac}@{region_part(region_code)}"


def phone_address(phone: str, region_code: str) -> str:
    return f"phone:{phone}@{region_part(region_code)}"


def _split(address: str, region_code: str, reason: Reason) -> tuple[str, str]:
    found = _FA.fullmatch(address.strip().lower())
    if found is None:
        raise Rejected(reason, "a financial address looks like type:value@<region>.dongne")
    if found["region"] != region_code.lower():
        raise Rejected(reason, f"this sender disburses only in {region_part(region_code)}")
    return found["type"], found["value"]


def parse_payer(address: str, region_code: str) -> int:
    """The allowance program a payer address names."""
    kind, value = _split(address, region_code, Reason.PAYER_FA_INVALID)
    if kind != "program" or not value.isdigit() or len(value) > 18:
        raise Rejected(Reason.PAYER_FA_INVALID, "the payer is program:<id>@<region>.dongne")
    return int(value)


def parse_payee(address: str, region_code: str) -> Payee:
    """Who a payee address names; the refusal never repeats an identity number."""
    kind, value = _split(address, region_code, Reason.PAYEE_FA_INVALID)
    try:
        if kind == PayeeKind.PHONE:
            return Payee(PayeeKind.PHONE, normalize_phone(value))
        if kind == PayeeKind.RRN:
            return Payee(PayeeKind.RRN, normalize_identity_number(value))
    except InvalidInput as error:
        raise Rejected(Reason.PAYEE_FA_INVALID, error.message) from None
    if kind == PayeeKind.TOKEN and _TOKEN.fullmatch(value):
        return Payee(PayeeKind.TOKEN, value)
    raise Rejected(
        Reason.PAYEE_FA_INVALID, "the payee is phone:, rrn: or token:<value>@<region>.dongne"
    )


def parse_amount(amount: str) -> int:
    """A decimal string (``"250000.00"``) as whole won: KRW has no minor unit."""
    found = _AMOUNT.fullmatch(amount.strip())
    if found is None:
        raise Rejected(Reason.AMOUNT_INVALID, "an amount looks like 250000.00")
    if int(found["fraction"] or "0") != 0:
        raise Rejected(Reason.AMOUNT_INVALID, "KRW has no minor unit: the fraction must be .00")
    won = int(found["won"])
    if not 0 < won <= MAX_GRANT_WON:
        raise Rejected(Reason.AMOUNT_INVALID, f"an amount is between 1 and {MAX_GRANT_WON:,} won")
    return won


def format_amount(won: int) -> str:
    return f"{won}.00"


def check_currency(currency_code: str | None) -> None:
    if currency_code is not None and currency_code.upper() != CURRENCY:
        raise Rejected(Reason.CURRENCY_CODE_INVALID, "dongne pays in KRW only")


def check_reference(reference_id: str) -> str:
    if not reference_id.strip() or len(reference_id) > MAX_REFERENCE_LENGTH:
        raise Rejected(
            Reason.REFERENCE_ID_INVALID,
            f"a reference_id has 1 to {MAX_REFERENCE_LENGTH} characters",
        )
    return reference_id


def status_of_grant(grant_status: str | None) -> tuple[Status, str | None]:
    """A disbursement's status from its grant's: in a wallet is ``succ``; awaiting sign-up is
    ``pdng`` (it becomes ``succ`` when claimed); returned at the program's expiry unclaimed,
    or never granted, is ``rjct``."""
    if grant_status in {"granted", "claimed"}:
        return Status.SUCCESS, None
    if grant_status == "pending":
        return Status.PENDING, "no wallet in the region yet: credited when the payee signs up"
    if grant_status == "unclaimed":
        return Status.REJECTED, "not claimed before the program ended: returned to its budget"
    return Status.REJECTED, None
