"""Setting a region up: regions, voucher programs, merchants, citizens and budgets."""

from __future__ import annotations

import re
from datetime import datetime

from dongne.domain.approvals import ApprovalKind
from dongne.domain.calendar import require_aware, seoul_month
from dongne.domain.errors import AlreadyExists, InvalidInput
from dongne.domain.ledger import AccountType, Posting, TransactionKind
from dongne.domain.merchants import (
    Merchant,
    MerchantStatus,
    check_category,
    check_latin_name,
    check_may_register,
    normalize_business_number,
)
from dongne.domain.money import positive_won
from dongne.domain.people import normalize_phone
from dongne.domain.program import VoucherProgram, check_budget_month
from dongne.services.allowances import claim_grants_left_pending, claim_pending_grants_within
from dongne.services.approval_gate import direct_ledger_key
from dongne.services.idempotency import Once, run_in_transaction
from dongne.services.results import CitizenResult, FundingResult
from dongne.services.unit_of_work import UnitOfWork

REGION_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")


def create_region(uow: UnitOfWork, *, code: str, name: str, now: datetime) -> int:
    if not REGION_CODE.match(code):
        raise InvalidInput(
            "a region code is 2-40 lowercase letters, digits or dashes (e.g. siheung)", field="code"
        )
    if not name.strip():
        raise InvalidInput("a region needs a name", field="name")
    with uow:
        region = uow.records.add_region(code, name.strip(), require_aware(now))
        uow.commit()
        return region.id


def create_program(
    uow: UnitOfWork, *, region_id: int, program: VoucherProgram, now: datetime
) -> int:
    with uow:
        uow.records.region(region_id)
        program_id = uow.records.add_program(region_id, program, require_aware(now))
        uow.commit()
        return program_id


def register_merchant(
    uow: UnitOfWork,
    *,
    region_id: int,
    name: str,
    business_number: str,
    category: str,
    annual_revenue_won: int,
    now: datetime,
    name_latin: str | None = None,
) -> int:
    with uow:
        merchant_id = register_merchant_within(
            uow,
            region_id=region_id,
            name=name,
            business_number=business_number,
            category=category,
            annual_revenue_won=annual_revenue_won,
            now=now,
            name_latin=name_latin,
        )
        uow.commit()
        return merchant_id


def register_merchant_within(
    uow: UnitOfWork,
    *,
    region_id: int,
    name: str,
    business_number: str,
    category: str,
    annual_revenue_won: int,
    now: datetime,
    name_latin: str | None = None,
) -> int:
    """``register_merchant`` inside the caller's open unit of work, which commits (or not) with
    the rest of its work. ``name_latin`` is what its QR code shows in Latin letters; without
    one, the QR code romanizes the name."""
    now = require_aware(now)
    digits = normalize_business_number(business_number)
    check_category(category)
    if not name.strip():
        raise InvalidInput("a merchant needs a name", field="name")
    name_latin = check_latin_name(name_latin)
    if isinstance(annual_revenue_won, bool) or annual_revenue_won < 0:
        raise InvalidInput("annual revenue cannot be negative", field="annual_revenue_won")
    uow.records.region(region_id)
    registrations = uow.records.registrations(region_id, digits)
    fraud = [at for status, at in registrations if status is MerchantStatus.CANCELLED_FOR_FRAUD]
    check_may_register(digits, fraud, now)
    if any(status is not MerchantStatus.CANCELLED_FOR_FRAUD for status, _ in registrations):
        raise AlreadyExists(
            f"business {digits} is already registered in this region", business_number=digits
        )
    payable = uow.ledger.account(
        region_id, AccountType.MERCHANT_PAYABLE, f"{digits}.{len(registrations)}"
    )
    merchant = Merchant(
        0,
        region_id,
        name.strip(),
        digits,
        category,
        annual_revenue_won,
        MerchantStatus.ACTIVE,
        name_latin,
    )
    return uow.records.add_merchant(merchant, payable.id, now)


def set_merchant_status(
    uow: UnitOfWork, *, merchant_id: int, status: MerchantStatus, now: datetime
) -> None:
    with uow:
        uow.records.merchant(merchant_id)
        uow.records.set_merchant_status(merchant_id, status, require_aware(now))
        uow.commit()


def register_citizen(
    uow: UnitOfWork,
    *,
    name: str,
    phone: str,
    home_region_id: int | None,
    wallet_region_id: int,
    idempotency_key: str,
    now: datetime,
) -> CitizenResult:
    """Register a citizen and open their wallet in ``wallet_region_id``, in one transaction."""
    phone = normalize_phone(phone)
    if not name.strip():
        raise InvalidInput("a citizen needs a name", field="name")
    now = require_aware(now)

    def action() -> CitizenResult:
        if home_region_id is not None:
            uow.records.region(home_region_id)
        uow.records.region(wallet_region_id)
        citizen_id = uow.records.add_citizen(name.strip(), phone, home_region_id, now)
        wallet_id = open_wallet_for(uow, citizen_id, wallet_region_id, now)
        return CitizenResult(citizen_id, wallet_id, wallet_region_id)

    request = {
        "name": name.strip(),
        "phone": phone,
        "home_region_id": home_region_id,
        "wallet_region_id": wallet_region_id,
    }
    return run_in_transaction(
        uow,
        action,
        once=Once(
            operation="register_citizen",
            key=idempotency_key,
            request=request,
            now=now,
            result_type=CitizenResult,
        ),
    )


def open_wallet(
    uow: UnitOfWork, *, citizen_id: int, region_id: int, idempotency_key: str, now: datetime
) -> CitizenResult:
    now = require_aware(now)

    def action() -> CitizenResult:
        uow.records.citizen_exists(citizen_id)
        uow.records.region(region_id)
        return CitizenResult(
            citizen_id, open_wallet_for(uow, citizen_id, region_id, now), region_id
        )

    opened = run_in_transaction(
        uow,
        action,
        once=Once(
            operation="open_wallet",
            key=idempotency_key,
            request={"citizen_id": citizen_id, "region_id": region_id},
            now=now,
            result_type=CitizenResult,
        ),
    )
    claim_grants_left_pending(uow, citizen_id=citizen_id, region_id=region_id, now=now)
    return opened


def open_wallet_for(uow: UnitOfWork, citizen_id: int, region_id: int, now: datetime) -> int:
    """Open a wallet inside the caller's open unit of work; returns the wallet id."""
    # The wallet account is keyed by citizen: a wallet's id isn't known before its row exists.
    account = uow.ledger.account(region_id, AccountType.WALLET, f"citizen-{citizen_id}")
    wallet_id = uow.records.add_wallet(citizen_id, region_id, account.id, now)
    # Allowances granted before the wallet existed are paid into it now.
    claim_pending_grants_within(uow, citizen_id=citizen_id, region_id=region_id, now=now)
    return wallet_id


def fund_discount_budget(
    uow: UnitOfWork,
    *,
    region_id: int,
    amount_won: int,
    month: str | None = None,
    idempotency_key: str,
    now: datetime,
    by_user_id: int | None = None,
) -> FundingResult:
    """Put city money into a month's discount budget (the current Seoul month by default).
    ``by_user_id``, the official acting, is recorded as the funding's approver."""
    positive_won(amount_won)
    now = require_aware(now)
    # The request is what the caller asked for: a retry of a default-month funding that lands
    # after midnight at a month's end is the same request, and gets the first response back.
    request = {"region_id": region_id, "amount_won": amount_won, "month": month}
    month = month or seoul_month(now)

    def action() -> FundingResult:
        approval_key = direct_ledger_key(
            uow,
            region_id=region_id,
            kind=ApprovalKind.BUDGET_FUNDING,
            params={"budget": "discount", "month": month, "amount_won": amount_won},
            by_user_id=by_user_id,
            now=now,
        )
        return fund_discount_budget_within(
            uow,
            region_id=region_id,
            amount_won=amount_won,
            month=month,
            idempotency_key=approval_key or idempotency_key,
            now=now,
        )

    return run_in_transaction(
        uow,
        action,
        once=Once(
            operation="fund_discount_budget",
            key=idempotency_key,
            request=request,
            now=now,
            result_type=FundingResult,
        ),
    )


def fund_discount_budget_within(
    uow: UnitOfWork,
    *,
    region_id: int,
    amount_won: int,
    month: str,
    idempotency_key: str,
    now: datetime,
) -> FundingResult:
    """``fund_discount_budget`` inside the caller's open unit of work: an approved request's
    funding posts with its approval's key in the approval's own transaction."""
    # Checked once the key is known to be new: a retry gets its first answer back even
    # when it lands after the month it funded has left the window.
    check_budget_month(month, now)
    uow.records.program_timeline(region_id)
    budget = uow.ledger.account(region_id, AccountType.DISCOUNT_BUDGET, month)
    city = uow.ledger.account(region_id, AccountType.CITY_FUNDING)
    transaction_id = uow.ledger.post(
        region_id=region_id,
        kind=TransactionKind.BUDGET_FUNDING,
        postings=[Posting(budget.id, amount_won), Posting(city.id, -amount_won)],
        at=now,
        idempotency_key=idempotency_key,
        accounts_by_id={budget.id: budget, city.id: city},
    )
    return FundingResult(
        transaction_id, region_id, month, amount_won, uow.ledger.balance(budget.id)
    )
