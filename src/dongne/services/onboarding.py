"""Onboarding a merchant together with its owner's account, as the region's officials do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dongne.adapters.secrets import Secrets
from dongne.domain.access import MerchantRole, UserKind, check_password
from dongne.domain.errors import AlreadyExists
from dongne.services import accounts, setup
from dongne.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class OnboardedMerchant:
    merchant_id: int
    owner_user_id: int


def register_merchant_with_owner(
    uow: UnitOfWork,
    secrets: Secrets,
    *,
    region_id: int,
    name: str,
    business_number: str,
    category: str,
    annual_revenue_won: int,
    owner_login: str,
    owner_password: str,
    now: datetime,
) -> OnboardedMerchant:
    """Register the merchant, then its owner's login.

    The owner's password and login are checked first, so a request that fails on them
    registers no merchant. The two writes are separate transactions (each service commits its
    own): should another request take the login in the instant between them, the merchant
    stays registered without an owner and the call fails with ALREADY_EXISTS on the login.
    """
    check_password(owner_password)
    with uow:
        if uow.access.user_by_login(owner_login) is not None:
            raise AlreadyExists(f"the login {owner_login!r} is taken", field="owner_login")
    merchant_id = setup.register_merchant(
        uow,
        region_id=region_id,
        name=name,
        business_number=business_number,
        category=category,
        annual_revenue_won=annual_revenue_won,
        now=now,
    )
    owner = accounts.create_staff_user(
        uow,
        secrets,
        kind=UserKind.MERCHANT,
        login=owner_login,
        password=owner_password,
        role=MerchantRole.OWNER.value,
        region_id=None,
        merchant_id=merchant_id,
        now=now,
    )
    return OnboardedMerchant(merchant_id, owner.id)
