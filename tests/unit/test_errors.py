"""The error tree: every error has its own stable code and explains itself as a dict."""

from __future__ import annotations

import inspect
import re

import pytest

import dongne.adapters.log_keys
import dongne.domain.access
import dongne.domain.allowances
import dongne.domain.fraud
import dongne.domain.leaf
import dongne.domain.merchant_applications
import dongne.domain.settlement
import dongne.domain.walking
import dongne.services.log
import dongne.tlog.errors
from dongne.domain import errors
from dongne.domain.errors import (
    DongneError,
    InsufficientBalance,
    InvalidInput,
    LedgerUnbalanced,
    NotFound,
    RuleViolation,
)


def every_error_class() -> list[type[DongneError]]:
    found: list[type[DongneError]] = []
    pending: list[type[DongneError]] = [DongneError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


ERROR_CLASSES = every_error_class()


def test_the_error_tree_holds_every_error_defined_anywhere() -> None:
    modules = (
        errors,
        dongne.tlog.errors,
        dongne.domain.leaf,
        dongne.services.log,
        dongne.domain.access,
        dongne.domain.allowances,
        dongne.domain.settlement,
        dongne.domain.fraud,
        dongne.domain.walking,
        dongne.domain.merchant_applications,
    )
    defined = {
        obj
        for module in (*modules, dongne.adapters.log_keys)
        for obj in vars(module).values()
        if inspect.isclass(obj) and issubclass(obj, DongneError)
    }
    assert defined == set(ERROR_CLASSES)
    assert len(ERROR_CLASSES) > 40


def test_every_error_code_is_distinct() -> None:
    codes = [cls.code for cls in ERROR_CLASSES]
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_every_error_has_its_own_upper_case_code(cls: type[DongneError]) -> None:
    assert "code" in vars(cls)
    assert re.fullmatch(r"[A-Z]+(_[A-Z]+)*", cls.code)


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_every_error_explains_itself_as_a_dict(cls: type[DongneError]) -> None:
    error = cls("something went wrong", limit_won=700_000)
    assert error.as_dict() == {
        "code": cls.code,
        "message": "something went wrong",
        "limit_won": 700_000,
    }
    assert str(error) == "something went wrong"


def test_an_error_without_details_is_code_and_message() -> None:
    assert InsufficientBalance("no").as_dict() == {"code": "INSUFFICIENT_BALANCE", "message": "no"}


def test_errors_sit_under_their_families() -> None:
    assert issubclass(errors.InvalidAmount, InvalidInput)
    assert issubclass(errors.InvalidProgramSettings, InvalidInput)
    assert issubclass(errors.WalletNotFound, NotFound)
    assert issubclass(errors.IdempotencyKeyReused, errors.Conflict)
    assert issubclass(errors.MonthlyLimitExceeded, RuleViolation)
    assert issubclass(errors.MerchantBanned, RuleViolation)
    # An unbalanced ledger is a bug, never a rule the user broke.
    assert not issubclass(LedgerUnbalanced, RuleViolation)
    assert issubclass(LedgerUnbalanced, DongneError)


def test_every_rule_violation_named_in_the_tree_is_a_rule_violation() -> None:
    docstring = errors.__doc__ or ""
    section = docstring.split("RuleViolation", 1)[1].split("LedgerUnbalanced", 1)[0]
    named = re.findall(r"\b([A-Z][A-Za-z]+)\b", section)
    assert named
    for name in named:
        assert issubclass(getattr(errors, name), RuleViolation), name
