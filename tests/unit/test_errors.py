"""The error tree: every error has its own stable code and explains itself as a dict."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from dataclasses import dataclass
from types import ModuleType

import pytest

import dongne
from dongne.domain import errors
from dongne.domain.errors import (
    DongneError,
    InsufficientBalance,
    InvalidInput,
    LedgerUnbalanced,
    NotFound,
    RuleViolation,
)


def every_module() -> list[ModuleType]:
    """Every module of the package but the migrations, imported: an error class defined in a
    module added later is found without naming the module here."""
    return [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(dongne.__path__, prefix="dongne.")
        if ".migrations" not in info.name
    ]


MODULES = every_module()


def every_error_class() -> list[type[DongneError]]:
    found: list[type[DongneError]] = []
    pending: list[type[DongneError]] = [DongneError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


ERROR_CLASSES = every_error_class()
ERROR_BY_NAME = {cls.__name__: cls for cls in ERROR_CLASSES}


def test_the_error_tree_holds_every_error_defined_anywhere() -> None:
    defined = {
        obj
        for module in MODULES
        for obj in vars(module).values()
        if inspect.isclass(obj) and issubclass(obj, DongneError)
    }
    assert defined == set(ERROR_CLASSES)
    assert len(ERROR_CLASSES) > 40


# -- the drawing in the docstring of domain/errors.py -----------------------------------------

_BRANCH = re.compile(
    r"(?P<indent>(?:│   |    )*)(?:├── |└── )(?P<names>[A-Z]\w*(?:, [A-Z]\w*)*)(?P<rest>.*)"
)
_NOTE = re.compile(r"\[([a-z0-9_.]+)\]")


@dataclass(frozen=True)
class DrawnLine:
    depth: int
    names: tuple[str, ...]
    note: str | None
    """The ``[module]`` a line's classes are marked with; None for those of ``errors``."""


def drawn_tree() -> list[DrawnLine]:
    """The lines of the drawing: the ``::`` block of the module docstring, root first."""
    docstring = errors.__doc__ or ""
    block = docstring.split("::\n\n", 1)[1].split("\n\n", 1)[0]
    root, *branches = (line.removeprefix("    ") for line in block.splitlines())
    lines = [DrawnLine(0, (root.split()[0],), None)]
    for text in branches:
        match = _BRANCH.fullmatch(text)
        assert match, f"not a line of the tree: {text!r}"
        note = _NOTE.search(match["rest"])
        lines.append(
            DrawnLine(
                depth=len(match["indent"]) // 4 + 1,
                names=tuple(match["names"].split(", ")),
                note=note.group(1) if note else None,
            )
        )
    return lines


def drawn_parents() -> dict[str, tuple[DrawnLine, DrawnLine | None]]:
    """Each drawn class name: its line, and the nearest shallower line above it (its parent)."""
    lines = drawn_tree()
    drawn: dict[str, tuple[DrawnLine, DrawnLine | None]] = {}
    for index, line in enumerate(lines):
        parent = next((up for up in reversed(lines[:index]) if up.depth < line.depth), None)
        for name in line.names:
            assert name not in drawn, f"{name} is drawn twice"
            drawn[name] = (line, parent)
    return drawn


def _note_of(cls: type[DongneError]) -> str | None:
    if cls.__module__ == errors.__name__:
        return None
    return cls.__module__.removeprefix("dongne.")


def test_error_class_names_are_unique_so_the_drawing_can_name_them() -> None:
    assert len(ERROR_BY_NAME) == len(ERROR_CLASSES)


def test_the_drawing_names_every_error_class_and_nothing_else() -> None:
    drawn = set(drawn_parents())
    assert sorted(set(ERROR_BY_NAME) - drawn) == [], "defined but not drawn"
    assert sorted(drawn - set(ERROR_BY_NAME)) == [], "drawn but not defined"


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_each_error_is_drawn_under_its_base_and_marked_with_its_module(
    cls: type[DongneError],
) -> None:
    drawn = drawn_parents()
    assert cls.__name__ in drawn, f"{cls.__name__} is not drawn"
    line, parent = drawn[cls.__name__]
    if cls is DongneError:
        assert parent is None
    else:
        (base,) = cls.__bases__
        assert parent is not None
        assert parent.names == (base.__name__,), f"{cls.__name__} is drawn under {parent.names}"
    assert line.note == _note_of(cls)


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
        assert issubclass(ERROR_BY_NAME[name], RuleViolation), name
