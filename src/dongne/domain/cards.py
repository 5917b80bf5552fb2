"""Card-type vouchers (카드형 지역사랑상품권): a card linked to a region wallet, and the card
network's authorization answers.

A card is a physical card with a PAN from the region's card partner, or a virtual card whose
PAN dongne derives. The PAN is checked with Luhn and kept only as a keyed hash beside its last
four digits. A card is

      active --block--> blocked --unblock--> active
      active | blocked --report lost--> lost            (blocked at once, for good)
      active | blocked | lost --replace--> replaced     (a new card takes over the wallet)

Paying with a card is a mobile payment under another name: the card network's request is
turned into ``pay_merchant_within`` and the payment's refusals into ISO 8583 response codes
(``response_code_for``). Anything that is not a decision (a database that does not answer, a
deadline passed) is 91, never an approval: the card fails closed.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import StrEnum

from dongne.domain.errors import (
    Conflict,
    DongneError,
    InsufficientBalance,
    InvalidInput,
    MerchantBanned,
    MerchantNotEligible,
    MerchantNotFound,
    NotFound,
    PaymentLimitExceeded,
    WalletNotFound,
)

PAN_LENGTHS = range(12, 20)
"""ISO/IEC 7812: 8 to 19 digits; cards in use have 12 or more."""
VIRTUAL_CARD_PREFIX = "9410"
"""The issuer prefix of dongne's virtual cards: 9 (national use), 410 (Korea's ISO 3166 code)."""
VIRTUAL_PAN_LENGTH = 16
KRW = "410"
"""ISO 4217 numeric code of the won, the only currency a voucher card takes (DE49)."""


class InvalidCardNumber(InvalidInput):
    """A PAN that is not 12 to 19 digits or fails its Luhn check digit."""

    code = "INVALID_CARD_NUMBER"


class CardMessageInvalid(InvalidInput):
    """Bytes that are no ISO 8583 message of the host's layout, or a message missing a field
    its type needs (the host answers 30, or nothing when it cannot read the type)."""

    code = "CARD_MESSAGE_INVALID"


class CardNotFound(NotFound):
    """No card with this id is visible to the caller."""

    code = "CARD_NOT_FOUND"


class CardStatusChangeNotAllowed(Conflict):
    """The card's state does not allow this change (a lost card cannot be unblocked)."""

    code = "CARD_STATUS_CHANGE_NOT_ALLOWED"


class CardDeclined(DongneError):
    """The card network's request is refused before any payment rule is asked: an unknown or
    blocked card, an unknown merchant id, a currency other than the won. ``details``: the ISO
    8583 ``response_code``."""

    code = "CARD_DECLINED"


class CardForm(StrEnum):
    PHYSICAL = "physical"
    VIRTUAL = "virtual"


class CardStatus(StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"
    LOST = "lost"
    REPLACED = "replaced"


class ResponseCode(StrEnum):
    """ISO 8583 DE39 answers the host gives."""

    APPROVED = "00"
    INVALID_CARD = "14"
    FORMAT_ERROR = "30"
    INSUFFICIENT_FUNDS = "51"
    NOT_PERMITTED = "57"
    RESTRICTED_CARD = "62"
    ISSUER_UNAVAILABLE = "91"
    DUPLICATE = "94"


def luhn_check_digit(digits: str) -> int:
    """The digit that completes ``digits`` so the whole passes the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:  # doubled: these are every second digit left of the check digit
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


def normalize_pan(text: str) -> str:
    """A PAN as digits only (spaces and hyphens as printed on a card are dropped), refused
    unless it has 12 to 19 ASCII digits and its Luhn check digit is right."""
    pan = text.replace(" ", "").replace("-", "")
    if not (pan.isascii() and pan.isdigit() and len(pan) in PAN_LENGTHS):
        raise InvalidCardNumber("a card number has 12 to 19 digits", field="pan")
    if luhn_check_digit(pan[:-1]) != int(pan[-1]):
        raise InvalidCardNumber("this card number's check digit is wrong", field="pan")
    return pan


def virtual_pan(mac: bytes) -> str:
    """A virtual card's PAN: the prefix, digits drawn from ``mac`` (a keyed MAC of the card's
    id, so the PAN is derived again when shown and never stored), and the check digit."""
    body_length = VIRTUAL_PAN_LENGTH - len(VIRTUAL_CARD_PREFIX) - 1
    body = str(int.from_bytes(mac, "big") % 10**body_length).zfill(body_length)
    head = VIRTUAL_CARD_PREFIX + body
    return head + str(luhn_check_digit(head))


def masked(last_four: str) -> str:
    return f"**** **** **** {last_four}"


@dataclass(frozen=True)
class CardState:
    status: CardStatus

    def blocked(self) -> CardStatus:
        if self.status not in {CardStatus.ACTIVE, CardStatus.BLOCKED}:
            raise CardStatusChangeNotAllowed(
                f"a {self.status.value} card is already blocked for good",
                card_status=self.status.value,
            )
        return CardStatus.BLOCKED

    def unblocked(self) -> CardStatus:
        if self.status not in {CardStatus.ACTIVE, CardStatus.BLOCKED}:
            raise CardStatusChangeNotAllowed(
                f"a {self.status.value} card cannot be unblocked: replace it",
                card_status=self.status.value,
            )
        return CardStatus.ACTIVE

    def lost(self) -> CardStatus:
        if self.status is CardStatus.REPLACED:
            raise CardStatusChangeNotAllowed(
                "a replaced card is already blocked for good", card_status=self.status.value
            )
        return CardStatus.LOST

    def replaced(self) -> CardStatus:
        if self.status is CardStatus.REPLACED:
            raise CardStatusChangeNotAllowed(
                "this card was already replaced", card_status=self.status.value
            )
        return CardStatus.REPLACED

    def check_usable(self) -> None:
        if self.status is not CardStatus.ACTIVE:
            raise CardDeclined(
                f"the card is {self.status.value}", response_code=ResponseCode.RESTRICTED_CARD
            )


@dataclass(frozen=True)
class CardRequest:
    """What the host reads of an 0100 or 0200: the fields the decision and its record need."""

    message_type: str
    pan: str
    processing_code: str
    amount_won: int
    stan: str
    local_time: str
    mcc: str
    rrn: str
    terminal_id: str
    acceptor_id: str
    currency: str

    def check(self) -> None:
        """Refuse what no wallet may pay whoever the card: another currency than the won, a
        transaction other than a purchase (processing code 00xxxx), a zero amount."""
        if self.currency != KRW:
            raise CardDeclined(
                "voucher cards pay in won (DE49 410) only",
                response_code=ResponseCode.NOT_PERMITTED,
            )
        if not self.processing_code.startswith("00") or self.amount_won <= 0:
            raise CardDeclined(
                "voucher cards pay for purchases only", response_code=ResponseCode.NOT_PERMITTED
            )

    @property
    def digest_fields(self) -> tuple[str, ...]:
        """What a repeat of the message must carry again to get the first answer: the same
        card, amount, merchant and kind of message."""
        return (
            self.message_type,
            self.pan,
            self.processing_code,
            str(self.amount_won),
            self.acceptor_id,
        )


_CODE_BY_ERROR: tuple[tuple[type[DongneError], ResponseCode], ...] = (
    (InsufficientBalance, ResponseCode.INSUFFICIENT_FUNDS),
    (MerchantNotEligible, ResponseCode.NOT_PERMITTED),
    (MerchantBanned, ResponseCode.NOT_PERMITTED),
    (MerchantNotFound, ResponseCode.NOT_PERMITTED),
    (PaymentLimitExceeded, ResponseCode.NOT_PERMITTED),
    (WalletNotFound, ResponseCode.INVALID_CARD),
    (InvalidCardNumber, ResponseCode.INVALID_CARD),
)


def response_code_for(error: DongneError) -> ResponseCode:
    """The ISO 8583 answer to a refusal. A card decline names its own; a payment rule's is
    read from the table; any other refusal is 57 (not permitted): still a decline."""
    if isinstance(error, CardDeclined):
        return ResponseCode(error.details["response_code"])
    for error_class, code in _CODE_BY_ERROR:
        if isinstance(error, error_class):
            return code
    return ResponseCode.NOT_PERMITTED


def same_message(stored_digest: str, request: CardRequest, key: bytes) -> bool:
    return hmac.compare_digest(stored_digest, message_digest(request, key))


def message_digest(request: CardRequest, key: bytes) -> str:
    """A keyed digest of a message's content (it holds the PAN, so it is keyed like the PAN's
    own hash)."""
    return hmac.new(key, "|".join(request.digest_fields).encode(), "sha256").hexdigest()


def approval_code(authorization_id: int) -> str:
    """DE38: six characters from the authorization's id, unique among a day's approvals."""
    return f"{authorization_id % 1_000_000:06d}"
