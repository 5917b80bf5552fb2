"""Dated settings: a voucher program as it stands at any instant, and its timeline.

A city changes its program over time: the discount rises to 15% for Chuseok, the monthly
limit drops when the budget runs low. Each change names the settings it sets and the instant
it takes effect; a *promotion* also names when it ends, and then the settings beneath it
(the base and every lasting change in force by then) come back. The program in force at an
instant is:

1. the program as created (the base);
2. every lasting change (no end) whose effective instant has come, in order of that instant
   (and of the change's id, for two at the same instant): a later one overrides an earlier one
   setting by setting;
3. every promotion covering the instant (from its start, inclusive, to its end, exclusive), in
   the same order, on top.

A purchase, payment, gift or refund asks for the program at its own instant, so a past
transaction is never judged by today's settings, and a change can only be scheduled ahead
(``check_schedulable``): rewriting what was in force would change the meaning of the past.
Pure: no I/O, no clock.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from functools import cached_property
from typing import Any

from dongne.domain.calendar import require_aware
from dongne.domain.errors import InvalidInput, InvalidProgramSettings, NotFound, RuleViolation
from dongne.domain.program import BonusMode, BudgetExhaustedPolicy, RateWindow, VoucherProgram


class ProgramChangeInThePast(RuleViolation):
    """A setting change would take effect before now (or a promotion end before it starts):
    what was in force in the past is never rewritten."""

    code = "PROGRAM_CHANGE_IN_THE_PAST"


class ProgramChangeNotFound(NotFound):
    """No such change of the region's program still to take effect (one in force or past
    cannot be withdrawn: it is part of what was)."""

    code = "PROGRAM_CHANGE_NOT_FOUND"


SETTABLE = tuple(f.name for f in fields(VoucherProgram))
"""Every setting of a program may be changed with a date; the names are the program's fields."""

_INTEGERS = frozenset(
    {
        "base_rate_bp",
        "purchase_unit_won",
        "monthly_purchase_limit_won",
        "holding_limit_won",
        "validity_days",
        "refund_threshold_bp",
        "cancellation_window_days",
        "gift_monthly_send_limit_won",
        "gift_monthly_receive_limit_won",
        "cashback_monthly_cap_won",
        "revenue_cap_won",
    }
)
_OPTIONAL_INTEGERS = frozenset(
    {"annual_purchase_limit_won", "max_single_payment_won", "sale_queue_month_start_days"}
)


def setting_values_from_json(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Typed setting values from their JSON form (as the API, the CLI and the database hold
    them); unknown names and values of the wrong type are refused."""
    unknown = sorted(set(raw) - set(SETTABLE))
    if unknown:
        raise InvalidInput(f"no such program setting: {', '.join(unknown)}", field="settings")
    return {name: _typed(name, value) for name, value in raw.items()}


def _typed(name: str, value: Any) -> Any:  # noqa: PLR0911 -- one return per kind of setting
    wrong = InvalidInput(f"{name} has a value of the wrong type", field=name)
    if name in _INTEGERS or (name in _OPTIONAL_INTEGERS and value is not None):
        if not isinstance(value, int) or isinstance(value, bool):
            raise wrong
        return value
    if name in _OPTIONAL_INTEGERS:
        return None
    if name == "brand_name":
        if not isinstance(value, str):
            raise wrong
        return value
    if name == "residents_only":
        if not isinstance(value, bool):
            raise wrong
        return value
    try:
        if name == "bonus_mode":
            return BonusMode(value)
        if name == "budget_exhausted_policy":
            return BudgetExhaustedPolicy(value)
        if name == "excluded_categories":
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise wrong
            return frozenset(value)
        return tuple(
            RateWindow(
                date.fromisoformat(w["starts_on"]),
                date.fromisoformat(w["ends_on"]),
                int(w["rate_bp"]),
            )
            for w in value
        )
    except (TypeError, ValueError, KeyError) as error:
        raise wrong from error


def setting_values_to_json(values: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON form of typed setting values (the inverse of ``setting_values_from_json``)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name == "excluded_categories":
            out[name] = sorted(value)
        elif name == "rate_windows":
            out[name] = [
                {
                    "starts_on": w.starts_on.isoformat(),
                    "ends_on": w.ends_on.isoformat(),
                    "rate_bp": w.rate_bp,
                }
                for w in value
            ]
        elif isinstance(value, BonusMode | BudgetExhaustedPolicy):
            out[name] = value.value
        else:
            out[name] = value
    return out


@dataclass(frozen=True)
class ProgramChange:
    """Settings that take effect at ``effective_at``: for good, or until ``ends_at`` (a
    promotion). ``values`` are typed, by setting name."""

    id: int
    effective_at: datetime
    ends_at: datetime | None
    values: Mapping[str, Any]
    reason: str = ""
    requested_by_user_id: int | None = None
    approved_by_user_id: int | None = None

    @property
    def is_promotion(self) -> bool:
        return self.ends_at is not None

    def covers(self, at: datetime) -> bool:
        """Whether this change applies at ``at``."""
        if at < self.effective_at:
            return False
        return self.ends_at is None or at < self.ends_at

    def state_at(self, now: datetime) -> str:
        """``scheduled``, ``in_force`` or ``ended`` (a promotion over, or a lasting change
        since overridden setting by setting is still ``in_force``: it is part of the stack)."""
        if now < self.effective_at:
            return "scheduled"
        if self.ends_at is not None and now >= self.ends_at:
            return "ended"
        return "in_force"


def _order(change: ProgramChange) -> tuple[datetime, int]:
    return (change.effective_at, change.id)


@dataclass(frozen=True)
class ProgramTimeline:
    """A program's base settings and every change made to them."""

    base: VoucherProgram
    changes: tuple[ProgramChange, ...] = field(default=())
    _by_segment: dict[int, VoucherProgram] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """The program between two boundaries, built once: a payment asks on the hot path."""

    def at(self, at: datetime) -> VoucherProgram:
        """The program in force at ``at``."""
        require_aware(at)
        if not self.changes:
            return self.base
        segment = bisect_right(self._boundaries, at)
        program = self._by_segment.get(segment)
        if program is None:
            program = self._build(at)
            self._by_segment[segment] = program
        return program

    def _build(self, at: datetime) -> VoucherProgram:
        covering = [c for c in self.changes if c.covers(at)]
        lasting = sorted((c for c in covering if not c.is_promotion), key=_order)
        promotions = sorted((c for c in covering if c.is_promotion), key=_order)
        values: dict[str, Any] = {}
        for change in (*lasting, *promotions):
            values.update(change.values)
        return replace(self.base, **values) if values else self.base

    def promotion_started_at(self, at: datetime) -> datetime | None:
        """When the promotion in force at ``at`` that raises the bonus rate began (the
        earliest, if several), or None: such a promotion opens a sale window."""
        without = ProgramTimeline(self.base, tuple(c for c in self.changes if not c.is_promotion))
        plain_rate = without.at(at).base_rate_bp
        starts = [
            c.effective_at
            for c in self.changes
            if c.is_promotion and c.covers(at) and c.values.get("base_rate_bp", 0) > plain_rate
        ]
        return min(starts, default=None)

    def boundaries(self) -> list[datetime]:
        """Every instant at which the program in force may change, in order."""
        return list(self._boundaries)

    @cached_property
    def _boundaries(self) -> tuple[datetime, ...]:
        instants = {c.effective_at for c in self.changes}
        instants |= {c.ends_at for c in self.changes if c.ends_at is not None}
        return tuple(sorted(instants))

    def with_change(self, change: ProgramChange) -> ProgramTimeline:
        """This timeline with ``change`` added, checked: the program must be valid at every
        instant from the change's start on (a lasting change meets the promotions after it)."""
        added = ProgramTimeline(self.base, (*self.changes, change))
        for instant in [change.effective_at, *added.boundaries()]:
            if instant >= change.effective_at:
                added._build(instant)  # raises InvalidProgramSettings when the mix is invalid
        return added

    def entries(self, since: datetime | None = None) -> list[ProgramChange]:
        """The changes that end after ``since`` (all by default), in order of their start."""
        kept = [c for c in self.changes if since is None or c.ends_at is None or c.ends_at > since]
        return sorted(kept, key=_order)


def check_schedulable(
    values: Mapping[str, Any], *, effective_at: datetime, ends_at: datetime | None, now: datetime
) -> None:
    """A change sets at least one setting, starts no earlier than ``now`` and, as a promotion,
    ends after it starts."""
    require_aware(effective_at)
    if not values:
        raise InvalidProgramSettings("a change sets at least one setting", problems=[])
    if effective_at < require_aware(now):
        raise ProgramChangeInThePast(
            "a setting change takes effect now or later: what was in force is never rewritten",
            effective_at=effective_at.isoformat(),
        )
    if ends_at is not None and require_aware(ends_at) <= effective_at:
        raise ProgramChangeInThePast(
            "a promotion ends after it starts", ends_at=ends_at.isoformat()
        )


def changes_in_force(changes: Iterable[ProgramChange], at: datetime) -> list[ProgramChange]:
    return sorted((c for c in changes if c.covers(at)), key=_order)


def changed_settings(before: VoucherProgram, after: VoucherProgram) -> Sequence[str]:
    """The names of the settings that differ between two programs."""
    return [name for name in SETTABLE if getattr(before, name) != getattr(after, name)]
