"""Policy allowance programs (정책수당): the rules of a program, its recipient list and its grants.

A program pays ``amount_per_recipient_won`` (or a row's own amount) to each person on an
uploaded list, from a budget funded into the program's own account. Its money is *restricted*:
each grant becomes an allowance lot that only the program's merchant categories take, that is
never refunded or gifted, and that gives back what is unspent to the program's budget when the
validity window closes. A person is known by an identity key (the PASS CI or a resident
registration number) that is turned into an HMAC as it is read; only the HMAC is kept.

Who may do what (the same for the API and the CLI): a region's viewers read programs, previews,
progress and reports; operators create uploads and run the expiry job; approvers create and
fund programs and disburse them, because those move the city's money; the platform operator
may do everything everywhere.

::

    InvalidInput  ── InvalidAllowanceProgram, RecipientFileInvalid ── RecipientFileTooLarge
    NotFound      ── AllowanceProgramNotFound, RecipientUploadNotFound
    RuleViolation ── AllowanceBudgetShort, AllowanceNotValidNow, AllowanceProgramStillValid
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from dongne.domain import people
from dongne.domain.access import Forbidden, OfficialRole, Principal
from dongne.domain.calendar import require_aware
from dongne.domain.errors import InvalidInput, NotFound, RuleViolation
from dongne.domain.lots import LotRestriction
from dongne.domain.merchants import CATEGORIES

MAX_NAME_LENGTH = 100
MAX_GRANT_WON = 100_000_000
"""No allowance pays one person more than this: a guard against a typo in a list's amount."""
MAX_BUDGET_WON = 10**15


# -- errors ----------------------------------------------------------------------------------


class InvalidAllowanceProgram(InvalidInput):
    """A program's terms are malformed: no name, a non-positive amount, an unknown category,
    a category both allowed and denied, or a validity window that ends before it starts."""

    code = "INVALID_ALLOWANCE_PROGRAM"


class RecipientFileInvalid(InvalidInput):
    """An uploaded recipient list cannot be read at all: not CSV or XLSX, neither UTF-8 nor
    CP949, no header with the identity, name and phone columns, or no rows
    (``details['reason']`` says which). Nothing is stored."""

    code = "RECIPIENT_FILE_INVALID"


class RecipientFileTooLarge(RecipientFileInvalid):
    """An uploaded recipient list is larger than ``details['limit_bytes']``."""

    code = "RECIPIENT_FILE_TOO_LARGE"


class AllowanceProgramNotFound(NotFound):
    code = "ALLOWANCE_PROGRAM_NOT_FOUND"


class RecipientUploadNotFound(NotFound):
    code = "RECIPIENT_UPLOAD_NOT_FOUND"


def program_not_found(program_id: int) -> AllowanceProgramNotFound:
    """What a program that does not exist is, and so what another region's program is."""
    return AllowanceProgramNotFound(f"no allowance program {program_id}", program_id=program_id)


def upload_not_found(upload_id: int) -> RecipientUploadNotFound:
    """What an upload that does not exist is, and so what another region's upload is."""
    return RecipientUploadNotFound(f"no recipient upload {upload_id}", upload_id=upload_id)


class AllowanceBudgetShort(RuleViolation):
    """The program's budget does not cover what the list still has to pay
    (``details['budget_won']`` against ``details['needed_won']``); nothing was paid."""

    code = "ALLOWANCE_BUDGET_SHORT"


class AllowanceNotValidNow(RuleViolation):
    """A disbursement before the program's validity starts or once it has ended."""

    code = "ALLOWANCE_NOT_VALID_NOW"


class AllowanceProgramStillValid(RuleViolation):
    """The expiry job was asked to run before the program's validity ended."""

    code = "ALLOWANCE_PROGRAM_STILL_VALID"


# -- who may do what -------------------------------------------------------------------------


class AllowanceAction(StrEnum):
    READ = "read"
    UPLOAD = "upload"
    EXPIRE = "expire"
    FUND = "fund"
    DISBURSE = "disburse"


REQUIRED_ROLE = {
    AllowanceAction.READ: OfficialRole.VIEWER,
    AllowanceAction.UPLOAD: OfficialRole.OPERATOR,
    AllowanceAction.EXPIRE: OfficialRole.OPERATOR,
    AllowanceAction.FUND: OfficialRole.APPROVER,
    AllowanceAction.DISBURSE: OfficialRole.APPROVER,
}


def authorize(
    caller: Principal, region_id: int, action: AllowanceAction, *, missing: NotFound | None = None
) -> None:
    """Officials of the program's region with the action's role, or the platform operator.
    ``missing``: the not-found of the program or upload asked for, which anyone else gets."""
    caller.official(region_id, at_least=REQUIRED_ROLE[action], missing=missing)


def permits(caller: Principal, region_id: int, action: AllowanceAction) -> bool:
    """Whether ``authorize`` lets the caller do ``action`` in the region: what a page asks
    before it offers a form the caller could not submit."""
    try:
        authorize(caller, region_id, action)
    except (Forbidden, NotFound):
        return False
    return True


# -- programs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AllowanceTerms:
    """What an official decides when creating a program."""

    name: str
    amount_per_recipient_won: int
    valid_from: datetime
    valid_until: datetime
    allowed_categories: frozenset[str] | None = None
    denied_categories: frozenset[str] = frozenset()
    usable_above_revenue_cap: bool = False


@dataclass(frozen=True)
class AllowanceProgram:
    id: int
    region_id: int
    terms: AllowanceTerms
    budget_account_id: int
    pending_account_id: int

    def restriction(self) -> LotRestriction:
        terms = self.terms
        return LotRestriction(
            program_id=self.id,
            allowed_categories=terms.allowed_categories,
            denied_categories=terms.denied_categories,
            usable_above_revenue_cap=terms.usable_above_revenue_cap,
        )

    def is_valid_at(self, now: datetime) -> bool:
        """Inside ``[valid_from, valid_until)``: the start counts, the end does not."""
        return self.terms.valid_from <= now < self.terms.valid_until


def check_terms(terms: AllowanceTerms) -> AllowanceTerms:
    name = terms.name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidAllowanceProgram(
            f"a program needs a name of 1 to {MAX_NAME_LENGTH} characters", field="name"
        )
    check_grant_amount(terms.amount_per_recipient_won, field_name="amount_per_recipient_won")
    allowed, denied = terms.allowed_categories, terms.denied_categories
    unknown = sorted((set(allowed or ()) | set(denied)) - set(CATEGORIES))
    if unknown:
        raise InvalidAllowanceProgram(
            f"unknown merchant categories: {', '.join(unknown)}", field="categories"
        )
    if allowed is not None and not allowed:
        raise InvalidAllowanceProgram(
            "allowed categories, when given, name at least one", field="allowed_categories"
        )
    both = sorted(set(allowed or ()) & set(denied))
    if both:
        raise InvalidAllowanceProgram(
            f"categories both allowed and denied: {', '.join(both)}", field="categories"
        )
    valid_from, valid_until = require_aware(terms.valid_from), require_aware(terms.valid_until)
    if valid_until <= valid_from:
        raise InvalidAllowanceProgram(
            "a program's validity ends after it starts", field="valid_until"
        )
    return AllowanceTerms(
        name,
        terms.amount_per_recipient_won,
        valid_from,
        valid_until,
        allowed,
        denied,
        terms.usable_above_revenue_cap,
    )


def check_budget(amount_won: int) -> int:
    if isinstance(amount_won, bool) or not isinstance(amount_won, int) or amount_won <= 0:
        raise InvalidAllowanceProgram("a budget is a positive whole number of won", field="budget")
    if amount_won > MAX_BUDGET_WON:
        raise InvalidAllowanceProgram(f"a budget is at most {MAX_BUDGET_WON:,}", field="budget")
    return amount_won


def check_grant_amount(amount_won: int, *, field_name: str = "amount_won") -> int:
    if isinstance(amount_won, bool) or not isinstance(amount_won, int):
        raise InvalidAllowanceProgram("an amount is a whole number of won", field=field_name)
    if not 0 < amount_won <= MAX_GRANT_WON:
        raise InvalidAllowanceProgram(
            f"an amount per person is 1 to {MAX_GRANT_WON:,} won", field=field_name
        )
    return amount_won


def check_may_disburse(program: AllowanceProgram, now: datetime) -> None:
    if not program.is_valid_at(now):
        raise AllowanceNotValidNow(
            "a program pays only inside its validity window",
            valid_from=program.terms.valid_from.isoformat(),
            valid_until=program.terms.valid_until.isoformat(),
        )


def check_may_expire(program: AllowanceProgram, now: datetime) -> None:
    if now < program.terms.valid_until:
        raise AllowanceProgramStillValid(
            "the program's validity has not ended yet",
            valid_until=program.terms.valid_until.isoformat(),
        )


def check_budget_covers(budget_won: int, needed_won: int) -> None:
    if budget_won < needed_won:
        raise AllowanceBudgetShort(
            f"the budget holds {budget_won:,} won; the list needs {needed_won:,}",
            budget_won=budget_won,
            needed_won=needed_won,
        )


# -- identity keys and recipient rows --------------------------------------------------------


class RowReason(StrEnum):
    """The stable code of each reason a preview gives for a row, so that a page can say it in
    its reader's language while the stored reason stays the English text the API returns."""

    IDENTITY_MALFORMED = "identity_malformed"
    BIRTH_DATE_INVALID = "birth_date_invalid"
    PHONE_MALFORMED = "phone_malformed"
    NAME_EMPTY = "name_empty"
    NAME_TOO_LONG = "name_too_long"
    AMOUNT_NOT_WHOLE = "amount_not_whole"
    AMOUNT_OUT_OF_RANGE = "amount_out_of_range"
    NO_IDENTITY = "no_identity"
    SAME_AS_ROW = "same_as_row"
    ALREADY_GRANTED = "already_granted"
    NO_WALLET_YET = "no_wallet_yet"


ROW_REASON_TEXT = {
    # The identity's two come from ``people.normalize_identity_number``, the rule sign-up uses.
    RowReason.IDENTITY_MALFORMED: "the identity key is neither a CI (88 characters) nor 13 digits",
    RowReason.BIRTH_DATE_INVALID: "the resident registration number has no valid birth date",
    RowReason.PHONE_MALFORMED: "the phone number is not a mobile number like 010-1234-5678",
    RowReason.NAME_EMPTY: "the name is empty",
    RowReason.NAME_TOO_LONG: f"the name is longer than {MAX_NAME_LENGTH} characters",
    RowReason.AMOUNT_NOT_WHOLE: "the amount is not a whole number of won",
    RowReason.AMOUNT_OUT_OF_RANGE: f"the amount is not between 1 and {MAX_GRANT_WON:,} won",
    RowReason.NO_IDENTITY: "no identity key",
    RowReason.SAME_AS_ROW: "the same person as row {row}",
    RowReason.ALREADY_GRANTED: "already granted by this program",
    RowReason.NO_WALLET_YET: "no wallet in the region yet: granted when they sign up",
}
"""Each reason's English text; ``{row}`` is a row number."""

_REASON_PATTERNS = {
    reason: re.compile(re.escape(text).replace(re.escape("{row}"), r"(?P<row>[0-9]+)"))
    for reason, text in ROW_REASON_TEXT.items()
}


def reason_text(reason: RowReason, **values: int) -> str:
    return ROW_REASON_TEXT[reason].format(**values)


def reason_code(text: str) -> tuple[RowReason, dict[str, str]] | None:
    """The code and the figures of a reason the preview gave (None for a text it never
    gives): the inverse of ``reason_text``."""
    for reason, pattern in _REASON_PATTERNS.items():
        found = pattern.fullmatch(text)
        if found is not None:
            return reason, found.groupdict()
    return None


class MalformedRow(ValueError):
    """One row's field is malformed; the reason is safe to show (it never repeats an id)."""


def normalize_identity_key(raw: str) -> str:
    """A CI as is, or a resident registration number as 13 digits (``domain.people``'s rule,
    the one sign-up uses, so a list finds the people who signed up)."""
    try:
        return people.normalize_identity_number(raw)
    except InvalidInput as error:
        raise MalformedRow(error.message) from None


def normalize_phone(raw: str) -> str:
    try:
        return people.normalize_phone(raw)
    except InvalidInput:
        raise MalformedRow(reason_text(RowReason.PHONE_MALFORMED)) from None


def normalize_name(raw: str) -> str:
    name = raw.strip()
    if not name:
        raise MalformedRow(reason_text(RowReason.NAME_EMPTY))
    if len(name) > MAX_NAME_LENGTH:
        raise MalformedRow(reason_text(RowReason.NAME_TOO_LONG))
    return name


def parse_amount(raw: str) -> int | None:
    """An empty cell means the program's amount; otherwise whole won (commas allowed)."""
    text = raw.strip().replace(",", "")
    if not text:
        return None
    if not text.isdigit():
        raise MalformedRow(reason_text(RowReason.AMOUNT_NOT_WHOLE))
    amount = int(text)
    if not 0 < amount <= MAX_GRANT_WON:
        raise MalformedRow(reason_text(RowReason.AMOUNT_OUT_OF_RANGE))
    return amount


class RecipientRow(NamedTuple):
    """One row of a list as read: the identity already hashed, or the reason it is invalid.

    A named tuple rather than a frozen dataclass, as ``PreviewRow``: a list has up to 500,000
    rows, and a frozen dataclass costs 3–4 µs to make (a ``setattr`` per field), a tuple 0.3.
    """

    row_number: int
    identity_hmac: str | None
    name: str
    phone: str
    amount_won: int | None
    problem: str | None = None


class RowStatus(StrEnum):
    MATCHED = "matched"
    """The person has a wallet in the region: paid into it."""
    UNMATCHED = "unmatched"
    """No wallet in the region yet: a pending grant, received at sign-up."""
    DUPLICATE = "duplicate"
    """The person is already on this list, or already granted by this program: not paid."""
    INVALID = "invalid"
    """A malformed field: not paid."""


PAYABLE = frozenset({RowStatus.MATCHED, RowStatus.UNMATCHED})


class PreviewRow(NamedTuple):
    row_number: int
    identity_hmac: str | None
    name: str
    phone: str
    amount_won: int
    status: RowStatus
    reason: str | None


@dataclass(frozen=True)
class Preview:
    rows: list[PreviewRow]
    counts: dict[str, int] = field(default_factory=dict)
    total_won: int = 0


def classify(
    rows: Iterable[RecipientRow],
    *,
    default_amount_won: int,
    with_wallet: AbstractSet[str],
    already_granted: set[str] | frozenset[str],
) -> Preview:
    """Sort each row into matched, unmatched, duplicate or invalid, with its reason; the total
    is what the payable rows come to.

    One loop without a call per row but the row's own: a list has up to 500,000 rows."""
    first_row: dict[str, int] = {}
    classified = []
    for number, identity, name, phone, amount, problem in rows:
        status: RowStatus
        reason: str | None
        if problem is not None or identity is None:
            status, reason = RowStatus.INVALID, problem or _NO_IDENTITY
        elif identity in first_row:
            first = first_row[identity]
            status, reason = RowStatus.DUPLICATE, reason_text(RowReason.SAME_AS_ROW, row=first)
        elif identity in already_granted:
            status, reason = RowStatus.DUPLICATE, _ALREADY_GRANTED
        elif identity in with_wallet:
            status, reason = RowStatus.MATCHED, None
        else:
            status, reason = RowStatus.UNMATCHED, _NO_WALLET_YET
        if identity is not None:
            first_row.setdefault(identity, number)
        paid = amount if amount is not None else default_amount_won
        classified.append(PreviewRow(number, identity, name, phone, paid, status, reason))
    return summarize(classified)


# A list's rows share these few reasons: each is written out once, not once a row.
_NO_IDENTITY = reason_text(RowReason.NO_IDENTITY)
_ALREADY_GRANTED = reason_text(RowReason.ALREADY_GRANTED)
_NO_WALLET_YET = reason_text(RowReason.NO_WALLET_YET)


def summarize(rows: Sequence[PreviewRow]) -> Preview:
    # Counted by the members themselves: an enum's ``.value`` is a property call per row.
    by_status = Counter(row.status for row in rows)
    counts = {status.value: by_status[status] for status in RowStatus}
    total = sum(row.amount_won for row in rows if row.status in PAYABLE)
    return Preview(list(rows), counts, total)
