"""Onboarding a merchant together with its owner's account, as the region's officials do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dongne.adapters.secrets import Secrets
from dongne.domain.access import MerchantRole, UserKind
from dongne.domain.errors import AlreadyExists
from dongne.services import accounts, registry
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
    name_latin: str | None = None,
) -> OnboardedMerchant:
    """Register the merchant and its owner's login in one transaction: both or neither.

    The owner's password is checked and hashed before the transaction opens (hashing is slow
    on purpose, and no lock should wait for it). A login already taken, or any refusal of the
    merchant, rolls back everything, so no merchant is ever left without an owner.
    """
    draft = accounts.draft_staff_user(
        secrets, kind=UserKind.MERCHANT, password=owner_password, role=MerchantRole.OWNER.value
    )
    with uow:
        if uow.access.user_by_login(owner_login) is not None:
            raise AlreadyExists(f"the login {owner_login!r} is taken", field="owner_login")
        merchant_id = registry.register_merchant_within(
            uow,
            region_id=region_id,
            name=name,
            business_number=business_number,
            category=category,
            annual_revenue_won=annual_revenue_won,
            now=now,
            name_latin=name_latin,
        )
        owner = accounts.create_staff_user_within(
            uow, draft, login=owner_login, region_id=None, merchant_id=merchant_id, now=now
        )
        uow.commit()
    return OnboardedMerchant(merchant_id, owner.id)
