"""Paper vouchers (지류 상품권): serials, their check digit, ranges, states, and the order in
which a voucher presented at a counter is checked.

A serial is 15 digits: the region (4), the year printed (2), the denomination (1: 1 = 5,000,
2 = 10,000, 3 = 50,000), the sequence within that region, year and denomination (7), and a
Damm check digit over the other 14. The Damm digit catches every single wrong digit and every
swap of two neighbours, the two slips a clerk typing a voucher makes. It is not a secret:
anyone can compute it, so beside the serial each voucher carries a 10-digit *security code*,
an HMAC of the serial keyed with a secret the platform keeps outside the database
(``adapters.secrets``). Without the key a serial cannot be made to pass; a code alone is
useless without the serial it was made for. The barcode and QR carry the 25 digits of both.

Every voucher moves through the states below, one way; a destroyed voucher is refused
forever. Each state's face value sums, over a region, to what was printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from dongne.domain.calendar import SEOUL
from dongne.domain.errors import Conflict, InvalidInput, NotFound, RuleViolation

DENOMINATION_DIGITS: dict[int, str] = {5_000: "1", 10_000: "2", 50_000: "3"}
"""The denominations a region prints, and the serial digit that names each."""
DENOMINATIONS = tuple(DENOMINATION_DIGITS)
SERIAL_DIGITS = 15
SECURITY_CODE_DIGITS = 10
VOUCHER_CODE_DIGITS = SERIAL_DIGITS + SECURITY_CODE_DIGITS
SEQUENCE_MAX = 9_999_999
REGION_ID_MAX = 9_999
RANGE_COUNT_MAX = 100_000
"""The most vouchers one range operation (an issue, a sale, a destruction) touches."""
PRINT_COUNT_MAX = 100_000
"""The most vouchers one print order makes."""

_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
"""Damm's totally anti-symmetric quasigroup of order 10 (H. M. Damm, 2004)."""


class PaperVoucherState(StrEnum):
    UNISSUED = "unissued"
    """Printed, in the city's vault."""
    WITH_AGENT = "with_agent"
    """Issued to a sale agent (a bank), not yet sold."""
    SOLD = "sold"
    """Sold to a buyer: in circulation, spendable."""
    REDEEMED = "redeemed"
    """Taken by a merchant; its value joined the merchant's settlement."""
    EXCHANGED = "exchanged"
    """Turned into mobile value in a wallet."""
    DESTROYED = "destroyed"
    """Unsold or returned stock, destroyed: refused forever."""


UNSOLD_STATES = (PaperVoucherState.UNISSUED, PaperVoucherState.WITH_AGENT)


# -- errors ----------------------------------------------------------------------------------


class PaperSerialMalformed(InvalidInput):
    """A voucher's serial or code is not 15 (or 25) digits, or names no denomination."""

    code = "PAPER_SERIAL_MALFORMED"


class PaperCheckDigitWrong(InvalidInput):
    """Step 1 at the counter: the serial's check digit does not match (a typing slip, or an
    altered serial)."""

    code = "PAPER_CHECK_DIGIT_WRONG"


class PaperRangeInvalid(InvalidInput):
    """A range whose ends are not of one region, year and denomination, are reversed, or
    span more than ``RANGE_COUNT_MAX`` vouchers; or a print order out of bounds."""

    code = "PAPER_RANGE_INVALID"


class PaperSecurityCodeWrong(RuleViolation):
    """Step 2: the security code is not the one made for this serial: a forged or altered
    voucher (or a typing slip in the code)."""

    code = "PAPER_SECURITY_CODE_WRONG"


class PaperVoucherNotSold(RuleViolation):
    """Step 3: the voucher was never sold (still in the vault or with an agent): it may
    have been stolen from stock."""

    code = "PAPER_VOUCHER_NOT_SOLD"


class PaperVoucherDestroyed(RuleViolation):
    """Step 3: the voucher was destroyed as unsold or returned stock; refused forever."""

    code = "PAPER_VOUCHER_DESTROYED"


class PaperVoucherOtherRegion(RuleViolation):
    """Step 4: the voucher is another region's; it is spent only there."""

    code = "PAPER_VOUCHER_OTHER_REGION"


class PaperVoucherExpired(RuleViolation):
    """Step 5: the voucher is past the last day of its validity."""

    code = "PAPER_VOUCHER_EXPIRED"


class PaperBuyerLimitExceeded(RuleViolation):
    """A sale would take an identified buyer's paper purchases over the program's monthly
    (or annual) limit."""

    code = "PAPER_BUYER_LIMIT_EXCEEDED"


class PaperVoucherAlreadyRedeemed(Conflict):
    """Step 7: the voucher was redeemed already (``details``: when)."""

    code = "PAPER_VOUCHER_ALREADY_REDEEMED"


class PaperVoucherAlreadyExchanged(Conflict):
    """Step 7: the voucher was exchanged into mobile value already."""

    code = "PAPER_VOUCHER_ALREADY_EXCHANGED"


class PaperRangeUnavailable(Conflict):
    """Some vouchers of a range are not in the state the operation needs (not printed, not
    with this agent, sold already, destroyed): the operation changes none of them."""

    code = "PAPER_RANGE_UNAVAILABLE"


class PaperPrintOrderNotFound(NotFound):
    code = "PAPER_PRINT_ORDER_NOT_FOUND"


class PaperVouchersNotFound(NotFound):
    """A range of another region's vouchers, asked for in this one: refused as if it did not
    exist, since another region's stock is none of the caller's business."""

    code = "PAPER_VOUCHERS_NOT_FOUND"


class PaperAgentNotFound(NotFound):
    """No sale agent (a partner with the ``paper_sales`` scope) of this id in the region."""

    code = "PAPER_AGENT_NOT_FOUND"


# -- serials ---------------------------------------------------------------------------------


def damm_check_digit(digits: str) -> int:
    interim = 0
    for digit in digits:
        interim = _DAMM[interim][int(digit)]
    return interim


def _only_digits(text: str) -> str:
    """The digits of what a clerk typed or a scanner read: spaces and dashes are separators.
    Only ASCII digits count (``isdecimal`` would take full-width ones no serial has)."""
    kept = text.replace("-", "").replace(" ", "").strip()
    if not kept or any(character not in "0123456789" for character in kept):
        raise PaperSerialMalformed("a voucher's serial and code are digits only", field="serial")
    return kept


@dataclass(frozen=True, order=True)
class Serial:
    region_id: int
    year: int
    denomination_won: int
    sequence: int

    def __post_init__(self) -> None:
        if not 1 <= self.region_id <= REGION_ID_MAX:
            raise PaperRangeInvalid(f"region ids in serials go up to {REGION_ID_MAX}")
        if self.denomination_won not in DENOMINATION_DIGITS:
            raise PaperSerialMalformed(
                f"paper vouchers are of {', '.join(f'{d:,}' for d in DENOMINATIONS)} won",
                field="denomination_won",
            )
        if not 1 <= self.sequence <= SEQUENCE_MAX or not 2000 <= self.year <= 2099:
            raise PaperRangeInvalid("a serial's sequence or year is out of range")

    @property
    def body(self) -> str:
        digit = DENOMINATION_DIGITS[self.denomination_won]
        return f"{self.region_id:04d}{self.year % 100:02d}{digit}{self.sequence:07d}"

    @property
    def text(self) -> str:
        """The 15 digits stored and encoded."""
        return self.body + str(damm_check_digit(self.body))

    @property
    def display(self) -> str:
        """As printed for people: ``0001-26-2-0000123-7``."""
        t = self.text
        return f"{t[:4]}-{t[4:6]}-{t[6]}-{t[7:14]}-{t[14]}"

    def with_sequence(self, sequence: int) -> Serial:
        return Serial(self.region_id, self.year, self.denomination_won, sequence)


def parse_serial(text: str) -> Serial:
    """A serial from its digits (separators allowed), its check digit checked (step 1)."""
    digits = _only_digits(text)
    if len(digits) != SERIAL_DIGITS:
        raise PaperSerialMalformed(f"a serial has {SERIAL_DIGITS} digits", field="serial")
    if damm_check_digit(digits) != 0:
        # A Damm check over the whole serial, its own check digit included, comes to zero.
        raise PaperCheckDigitWrong(
            "the serial's check digit does not match: it was mistyped or altered",
            field="serial",
            step=1,
        )
    by_digit = {digit: won for won, digit in DENOMINATION_DIGITS.items()}
    if digits[6] not in by_digit:
        raise PaperSerialMalformed("the serial names no denomination", field="serial")
    return Serial(int(digits[:4]), 2000 + int(digits[4:6]), by_digit[digits[6]], int(digits[7:14]))


def parse_voucher_code(text: str) -> tuple[Serial, str]:
    """The serial and security code a scanner read (25 digits) or a clerk typed."""
    digits = _only_digits(text)
    if len(digits) != VOUCHER_CODE_DIGITS:
        raise PaperSerialMalformed(
            f"a voucher's code is its {SERIAL_DIGITS}-digit serial and"
            f" {SECURITY_CODE_DIGITS}-digit security code",
            field="code",
        )
    return parse_serial(digits[:SERIAL_DIGITS]), digits[SERIAL_DIGITS:]


def voucher_code(serial: Serial, security_code: str) -> str:
    """What the barcode and QR carry: the serial's 15 digits, then the security code's 10."""
    return serial.text + security_code


@dataclass(frozen=True)
class SerialRange:
    first: Serial
    last: Serial

    def __post_init__(self) -> None:
        same_group = (self.first.region_id, self.first.year, self.first.denomination_won) == (
            self.last.region_id,
            self.last.year,
            self.last.denomination_won,
        )
        if not same_group:
            raise PaperRangeInvalid(
                "a range's first and last serials are of one region, year and denomination",
                field="last",
            )
        if self.last.sequence < self.first.sequence:
            raise PaperRangeInvalid("a range's last serial comes after its first", field="last")
        if self.count > RANGE_COUNT_MAX:
            raise PaperRangeInvalid(f"a range holds at most {RANGE_COUNT_MAX:,} vouchers")

    @property
    def count(self) -> int:
        return self.last.sequence - self.first.sequence + 1

    @property
    def face_won(self) -> int:
        return self.count * self.first.denomination_won

    @classmethod
    def parse(cls, first: str, last: str | None = None) -> SerialRange:
        start = parse_serial(first)
        return cls(start, parse_serial(last) if last else start)


def check_print_counts(counts: dict[int, int]) -> dict[int, int]:
    """A print order's counts per denomination: known denominations, positive counts."""
    wanted = {won: count for won, count in counts.items() if count}
    if not wanted:
        raise PaperRangeInvalid("a print order names at least one voucher", field="counts")
    for won, count in wanted.items():
        if won not in DENOMINATION_DIGITS:
            raise PaperSerialMalformed(
                f"paper vouchers are of {', '.join(f'{d:,}' for d in DENOMINATIONS)} won",
                field="counts",
            )
        if count < 0:
            raise PaperRangeInvalid("counts are positive", field="counts")
    if sum(wanted.values()) > PRINT_COUNT_MAX:
        raise PaperRangeInvalid(f"a print order makes at most {PRINT_COUNT_MAX:,} vouchers")
    return dict(sorted(wanted.items()))


@dataclass(frozen=True)
class PrintedVoucher:
    serial: str
    display: str
    security_code: str
    code: str
    """What the barcode and the QR carry."""
    denomination_won: int
    valid_until: date


@dataclass(frozen=True)
class PrintSheet:
    print_order_id: int
    region_id: int
    region_name: str
    brand_name: str
    vouchers: list[PrintedVoucher]


# -- the counter -----------------------------------------------------------------------------


def check_sold(state: PaperVoucherState | None, serial: Serial) -> None:
    """Step 3: only a voucher that was sold may be spent or exchanged."""
    if state is PaperVoucherState.DESTROYED:
        raise PaperVoucherDestroyed(
            f"voucher {serial.display} was destroyed and is void", serial=serial.text, step=3
        )
    if state is None or state in UNSOLD_STATES:
        raise PaperVoucherNotSold(
            f"voucher {serial.display} was never sold", serial=serial.text, step=3
        )


def check_region(serial: Serial, region_id: int) -> None:
    """Step 4: a voucher is spent in its own region."""
    if serial.region_id != region_id:
        raise PaperVoucherOtherRegion(
            f"voucher {serial.display} is another region's", serial=serial.text, step=4
        )


def check_valid(serial: Serial, valid_until: date, today: date) -> None:
    """Step 5: the voucher's last valid day (Seoul) has not passed."""
    if today > valid_until:
        raise PaperVoucherExpired(
            f"voucher {serial.display} was valid until {valid_until.isoformat()}",
            serial=serial.text,
            valid_until=valid_until.isoformat(),
            step=5,
        )


def check_unspent(state: PaperVoucherState, serial: Serial, spent_at: str | None) -> None:
    """Step 7: a voucher is redeemed or exchanged once."""
    if state is PaperVoucherState.REDEEMED:
        raise PaperVoucherAlreadyRedeemed(
            f"voucher {serial.display} was redeemed already",
            serial=serial.text,
            redeemed_at=spent_at,
            step=7,
        )
    if state is PaperVoucherState.EXCHANGED:
        raise PaperVoucherAlreadyExchanged(
            f"voucher {serial.display} was exchanged into a wallet already",
            serial=serial.text,
            exchanged_at=spent_at,
            step=7,
        )


def check_buyer_limit(face_won: int, *, bought_this_month_won: int, monthly_limit_won: int) -> None:
    if bought_this_month_won + face_won > monthly_limit_won:
        raise PaperBuyerLimitExceeded(
            f"this buyer's paper purchases this month would reach"
            f" {bought_this_month_won + face_won:,} won; the limit is {monthly_limit_won:,}",
            limit_won=monthly_limit_won,
            used_won=bought_this_month_won,
        )


def validity_ends_at(valid_until: date) -> datetime:
    """The instant a voucher's last valid Seoul day ends: a wallet lot it is exchanged into
    expires then, as the paper would have."""
    return datetime.combine(valid_until + timedelta(days=1), time(0), tzinfo=SEOUL).astimezone(UTC)


def paid_share_won(face_won: int, sale_face_won: int, sale_paid_won: int) -> int:
    """What the buyer paid for one voucher of a sale, rounded down: the paid share a wallet
    lot keeps when the voucher is exchanged, so a refund later stays proportional."""
    return face_won * sale_paid_won // sale_face_won
