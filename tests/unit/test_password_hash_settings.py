"""The cost of hashing passwords is a setting, with a floor in production."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from pydantic import ValidationError

from dongne.adapters.secrets import Secrets
from dongne.config import Settings

PRODUCTION_KEYS = {"pin_hmac_key": "p" * 32, "identity_hmac_key": "i" * 32}


def test_passwords_are_hashed_at_the_cost_the_settings_name() -> None:
    secrets = Secrets.from_settings(
        Settings(password_hash_time_cost=2, password_hash_memory_kib=2_048)
    )
    hashed = secrets.hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert "m=2048,t=2," in hashed
    assert secrets.password_matches(hashed, "correct horse battery")
    assert not secrets.password_matches(hashed, "wrong horse battery")


def test_a_hash_made_at_another_cost_still_verifies() -> None:
    """A hash carries its parameters: lowering or raising the cost locks nobody out."""
    made_before = PasswordHasher(time_cost=3, memory_cost=8_192).hash("correct horse battery")
    cheaper = Secrets.from_settings(
        Settings(password_hash_time_cost=1, password_hash_memory_kib=1_024)
    )
    assert cheaper.password_matches(made_before, "correct horse battery")


def test_the_defaults_are_argon2s_own() -> None:
    defaults = PasswordHasher()
    settings = Settings.model_construct()  # the fields' defaults, whatever the environment says
    assert (settings.password_hash_time_cost, settings.password_hash_memory_kib) == (
        defaults.time_cost,
        defaults.memory_cost,
    )


@pytest.mark.parametrize(
    ("field", "cheap", "floor"),
    [("password_hash_time_cost", 1, 2), ("password_hash_memory_kib", 19_455, 19_456)],
)
def test_production_refuses_a_cost_below_the_floor(field: str, cheap: int, floor: int) -> None:
    safe = {"password_hash_time_cost": 2, "password_hash_memory_kib": 19_456}
    with pytest.raises(ValidationError, match=f"DONGNE_{field.upper()} is at least {floor}"):
        Settings(environment="production", **PRODUCTION_KEYS, **{**safe, field: cheap})
    assert getattr(Settings(environment="production", **PRODUCTION_KEYS, **safe), field) == floor
    assert getattr(Settings(**{**safe, field: cheap}), field) == cheap  # fine on a laptop
