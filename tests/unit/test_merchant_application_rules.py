"""Merchant onboarding's rules: what an application must say, and which decisions are final."""

from __future__ import annotations

from typing import Any

import pytest

from dongne.domain.errors import InvalidBusinessNumber, InvalidInput
from dongne.domain.merchant_applications import (
    ApplicationStatus,
    InvalidBankAccount,
    MerchantApplicationDecided,
    MerchantStatusChangeNotAllowed,
    RejectionReasonRequired,
    check_application,
    check_rejection_reason,
    check_status_change,
    check_undecided,
)
from dongne.domain.merchants import MerchantStatus

FORM: dict[str, Any] = {
    "name": " 시루베이커리 ",
    "business_number": "220-81-62517",
    "category": "bakery",
    "annual_revenue_won": 0,
    "address": "경기도 시흥시 시청로 20",
    "phone": None,
    "bank_code": "004",
    "bank_account_number": "123-456-789012",
    "bank_account_holder": "김동네",
}


def test_a_well_formed_application_is_normalized() -> None:
    form = check_application(**FORM)
    assert (form.name, form.business_number, form.phone) == ("시루베이커리", "2208162517", None)
    assert (form.bank_account.bank_code, form.bank_account.account_number) == (
        "004",
        "123456789012",
    )


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"business_number": "220-81-62518"}, InvalidBusinessNumber),
        ({"category": "casino"}, InvalidInput),
        ({"annual_revenue_won": -1}, InvalidInput),
        ({"annual_revenue_won": True}, InvalidInput),
        ({"bank_code": "O04"}, InvalidBankAccount),
        ({"bank_code": "٠٠٤"}, InvalidBankAccount),
        ({"bank_account_number": "12345"}, InvalidBankAccount),
        ({"bank_account_number": "1" * 21}, InvalidBankAccount),
        ({"bank_account_holder": ""}, InvalidBankAccount),
        ({"address": " "}, InvalidInput),
        ({"phone": "031-310"}, InvalidInput),
    ],
)
def test_a_malformed_field_is_refused(changes: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        check_application(**(FORM | changes))


def test_only_a_pending_application_can_be_decided() -> None:
    check_undecided(1, ApplicationStatus.PENDING)
    for decided in (ApplicationStatus.APPROVED, ApplicationStatus.REJECTED):
        with pytest.raises(MerchantApplicationDecided):
            check_undecided(1, decided)


def test_a_rejection_needs_a_reason() -> None:
    assert check_rejection_reason("  관외 사업장 ") == "관외 사업장"
    with pytest.raises(RejectionReasonRequired):
        check_rejection_reason(" ")
    with pytest.raises(InvalidInput):
        check_rejection_reason("x" * 501)


def test_suspension_goes_from_active_and_back_only() -> None:
    assert check_status_change(1, MerchantStatus.ACTIVE, "suspend") is MerchantStatus.SUSPENDED
    assert check_status_change(1, MerchantStatus.SUSPENDED, "reinstate") is MerchantStatus.ACTIVE
    for status in (MerchantStatus.CLOSED, MerchantStatus.CANCELLED_FOR_FRAUD):
        with pytest.raises(MerchantStatusChangeNotAllowed):
            check_status_change(1, status, "reinstate")
        with pytest.raises(MerchantStatusChangeNotAllowed):
            check_status_change(1, status, "suspend")
