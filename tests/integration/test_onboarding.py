"""A merchant and its owner's login are registered together or not at all."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from dongne.adapters.secrets import Secrets
from dongne.config import Settings
from dongne.domain.errors import AlreadyExists, InvalidInput
from dongne.services import accounts, onboarding
from dongne.services.unit_of_work import UnitOfWork
from tests.factories import World, business_number

PASSWORD = "correct horse battery"  # noqa: S105 - a test password
SECRETS = Secrets.from_settings(Settings())


def _onboard(uow: UnitOfWork, world: World, **changes: Any) -> onboarding.OnboardedMerchant:
    fields: dict[str, Any] = {
        "region_id": world.region_id,
        "name": "동네빵집",
        "business_number": business_number(uuid.uuid4().int % 10**9),
        "category": "bakery",
        "annual_revenue_won": 100_000_000,
        "owner_login": f"owner-{uuid.uuid4().hex[:8]}",
        "owner_password": PASSWORD,
        "now": world.now,
    }
    return onboarding.register_merchant_with_owner(uow, SECRETS, **(fields | changes))


def _registered(uow: UnitOfWork, world: World, digits: str) -> int:
    with uow:
        return len(uow.records.registrations(world.region_id, digits))


def _login_exists(uow: UnitOfWork, login: str) -> bool:
    with uow:
        return uow.access.user_by_login(login) is not None


def test_the_owner_can_log_in_to_the_merchant_registered_with_them(
    uow: UnitOfWork, world: World
) -> None:
    onboarded = _onboard(uow, world, owner_login="owner-bakery")
    with uow:
        owner = uow.access.user_by_login("owner-bakery")
    assert owner is not None
    assert (owner.id, owner.merchant_id, owner.role) == (
        onboarded.owner_user_id,
        onboarded.merchant_id,
        "owner",
    )


def test_a_taken_login_registers_no_merchant(uow: UnitOfWork, world: World) -> None:
    _onboard(uow, world, owner_login="owner-taken")
    digits = business_number(424_242)
    with pytest.raises(AlreadyExists) as taken:
        _onboard(uow, world, owner_login="owner-taken", business_number=digits)
    assert taken.value.details == {"field": "owner_login"}
    assert _registered(uow, world, digits) == 0


def test_a_weak_password_registers_no_merchant(uow: UnitOfWork, world: World) -> None:
    digits = business_number(434_343)
    with pytest.raises(InvalidInput) as weak:
        _onboard(uow, world, owner_password="short", business_number=digits)  # noqa: S106
    assert weak.value.details == {"field": "password"}
    assert _registered(uow, world, digits) == 0


def test_a_refused_merchant_creates_no_login(uow: UnitOfWork, world: World) -> None:
    with pytest.raises(InvalidInput):
        _onboard(uow, world, owner_login="owner-orphan", category="no such category")
    assert not _login_exists(uow, "owner-orphan")


def test_a_failure_after_the_merchant_is_written_rolls_the_merchant_back(
    uow: UnitOfWork, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the old two transactions lost: the login taken just after the check."""

    def login_taken_meanwhile(*_: Any, **__: Any) -> accounts.NewCredential:
        raise AlreadyExists("the login was taken meanwhile", field="login")

    monkeypatch.setattr(accounts, "create_staff_user_within", login_taken_meanwhile)
    digits = business_number(454_545)
    with pytest.raises(AlreadyExists):
        _onboard(uow, world, business_number=digits)
    assert _registered(uow, world, digits) == 0
