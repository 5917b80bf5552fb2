"""Merchant onboarding: what an application must say, and how officials decide on it.

A business applies to a region with its registration number (check digit verified), category,
address, bank account for settlement and annual revenue. An application is ``pending`` until
one of the region's officials approves it (the merchant is registered, active) or rejects it
with a reason; either decision is final, and a business turned down may apply again.

A registered merchant may be suspended and reinstated (``active`` ⇄ ``suspended``); other
statuses (closed, cancelled for fraud) are not undone this way. Whether a merchant can take a
payment (status, excluded categories, the revenue cap) is decided at payment time, by
``Merchant.check_accepts_vouchers_of`` and ``Lot.usable_at``, never here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from dongne.domain.errors import Conflict, InvalidInput, NotFound
from dongne.domain.merchants import MerchantStatus, check_category, normalize_business_number
from dongne.domain.money import MAX_AMOUNT_WON

BANK_CODE = re.compile(r"\d{3}")
BANK_ACCOUNT_NUMBER = re.compile(r"\d{6,20}")
MERCHANT_PHONE = re.compile(r"0\d{8,10}")
MAX_REJECTION_REASON = 500


class InvalidBankAccount(InvalidInput):
    """A settlement bank account that cannot be one: the bank code is not 3 digits, or the
    account number not 6 to 20 digits, or the holder's name is missing."""

    code = "INVALID_BANK_ACCOUNT"


class MerchantApplicationNotFound(NotFound):
    """No such application (or not one of the caller's region)."""

    code = "MERCHANT_APPLICATION_NOT_FOUND"


class MerchantApplicationDecided(Conflict):
    """The application was already approved or rejected (``details['decision']`` says which)."""

    code = "MERCHANT_APPLICATION_DECIDED"


class MerchantApplicationPending(Conflict):
    """The business already has an application waiting for a decision in this region."""

    code = "MERCHANT_APPLICATION_PENDING"


class RejectionReasonRequired(InvalidInput):
    """A rejection without a reason: the applicant is owed one."""

    code = "REJECTION_REASON_REQUIRED"


class MerchantStatusChangeNotAllowed(Conflict):
    """Suspending a merchant that is not active, or reinstating one that is not suspended."""

    code = "MERCHANT_STATUS_CHANGE_NOT_ALLOWED"


class ApplicationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class BankAccount:
    bank_code: str
    account_number: str
    holder: str


@dataclass(frozen=True)
class MerchantApplicationForm:
    """An application as checked: every field well-formed and normalized."""

    name: str
    business_number: str
    category: str
    annual_revenue_won: int
    address: str
    phone: str | None
    bank_account: BankAccount


def check_bank_account(bank_code: str, account_number: str, holder: str) -> BankAccount:
    code = bank_code.strip()
    number = account_number.replace("-", "").replace(" ", "")
    if not (BANK_CODE.fullmatch(code) and code.isascii()):
        raise InvalidBankAccount("a bank code is 3 digits (e.g. 004)", field="bank_code")
    if not (BANK_ACCOUNT_NUMBER.fullmatch(number) and number.isascii()):
        raise InvalidBankAccount(
            "an account number is 6 to 20 digits (dashes allowed)", field="bank_account_number"
        )
    if not holder.strip() or len(holder.strip()) > 100:
        raise InvalidBankAccount(
            "the account holder's name has 1 to 100 characters", field="bank_account_holder"
        )
    return BankAccount(code, number, holder.strip())


def check_application(
    *,
    name: str,
    business_number: str,
    category: str,
    annual_revenue_won: int,
    address: str,
    phone: str | None,
    bank_code: str,
    bank_account_number: str,
    bank_account_holder: str,
) -> MerchantApplicationForm:
    """Check every field of an application; the first malformed one raises."""
    digits = normalize_business_number(business_number)
    check_category(category)
    if not name.strip() or len(name.strip()) > 200:
        raise InvalidInput("a merchant's name has 1 to 200 characters", field="name")
    if (
        isinstance(annual_revenue_won, bool)
        or not isinstance(annual_revenue_won, int)
        or not 0 <= annual_revenue_won <= MAX_AMOUNT_WON
    ):
        raise InvalidInput(
            "annual revenue is a whole number of won, zero or more", field="annual_revenue_won"
        )
    if not address.strip() or len(address.strip()) > 300:
        raise InvalidInput("an address has 1 to 300 characters", field="address")
    normalized_phone = None
    if phone is not None and phone.strip():
        normalized_phone = phone.replace("-", "").strip()
        if not (MERCHANT_PHONE.fullmatch(normalized_phone) and normalized_phone.isascii()):
            raise InvalidInput("a phone number looks like 031-123-4567", field="phone")
    return MerchantApplicationForm(
        name=name.strip(),
        business_number=digits,
        category=category,
        annual_revenue_won=annual_revenue_won,
        address=address.strip(),
        phone=normalized_phone,
        bank_account=check_bank_account(bank_code, bank_account_number, bank_account_holder),
    )


def check_undecided(application_id: int, status: ApplicationStatus) -> None:
    if status is not ApplicationStatus.PENDING:
        raise MerchantApplicationDecided(
            f"application {application_id} was already {status.value}",
            application_id=application_id,
            decision=status.value,
        )


def check_rejection_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise RejectionReasonRequired("say why the application is rejected", field="reason")
    if len(reason) > MAX_REJECTION_REASON:
        raise InvalidInput(
            f"a rejection reason has at most {MAX_REJECTION_REASON} characters", field="reason"
        )
    return reason


SUSPENSION_CHANGES = {
    "suspend": (MerchantStatus.ACTIVE, MerchantStatus.SUSPENDED),
    "reinstate": (MerchantStatus.SUSPENDED, MerchantStatus.ACTIVE),
}
"""action -> (the status it applies to, the status it leaves)"""


def check_status_change(merchant_id: int, current: MerchantStatus, action: str) -> MerchantStatus:
    """The status ``action`` (suspend or reinstate) moves a merchant in ``current`` to."""
    before, after = SUSPENSION_CHANGES[action]
    if current is not before:
        raise MerchantStatusChangeNotAllowed(
            f"only a {before.value} merchant can be {action}d; merchant {merchant_id} is"
            f" {current.value.replace('_', ' ')}",
            merchant_id=merchant_id,
            merchant_status=current.value,
        )
    return after
