"""Daily settlement (정산): what each merchant is paid for a business day, as pure arithmetic.

A run settles one region's business day (a Seoul calendar day) and everything before it that
no run has settled yet. For each merchant it adds up the payments and the cancellations whose
instants fall in that stretch, and what the previous run carried forward::

    due      = brought_forward + takings - cancellations
    base     = min(due, payable)        if the merchant may be paid and due > 0, else 0
    fee      = base × tier rate          (rounded down; 0% by default)
    transfer = base - fee
    carried  = due - base                (carried to the next run, either sign)

So a cancellation of an already settled payment is deducted from the next run's due; when it
exceeds that day's takings the rest is carried forward as a negative amount until takings cover
it. A transfer is never negative and never more than the merchant's payable holds. A merchant
whose settlement is held (a fraud alert) or who has no bank details is paid nothing: its whole
due is carried forward, with the reason on its line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import pairwise

from dongne.domain.calendar import SEOUL, seoul_day
from dongne.domain.errors import Conflict, InvalidInput, NotFound, RuleViolation
from dongne.domain.money import BASIS_POINTS, share_bp


class SettlementAlreadyRun(Conflict):
    """The region's business day was settled already: a day is settled once."""

    code = "SETTLEMENT_ALREADY_RUN"


class SettlementOutOfOrder(RuleViolation):
    """A later business day is already settled: days are settled in order, so each run can
    carry forward what the one before it left."""

    code = "SETTLEMENT_OUT_OF_ORDER"


class SettlementDayNotOver(RuleViolation):
    """The business day has not ended in Seoul yet: payments may still come in."""

    code = "SETTLEMENT_DAY_NOT_OVER"


class SettlementNotFound(NotFound):
    """No settlement run for that region and business day."""

    code = "SETTLEMENT_NOT_FOUND"


class InvalidFeeTiers(InvalidInput):
    """Fee tiers must rise in revenue, end with an open tier and have rates of 0-100%."""

    code = "INVALID_FEE_TIERS"


class LineStatus(StrEnum):
    TRANSFERRED = "transferred"
    """A transfer (and any fee) was taken from the payable."""
    HELD = "held"
    """The merchant may not be paid now (``HoldReason``); its due is carried forward."""
    NOTHING_DUE = "nothing_due"
    """Cancellations ate the takings: nothing to pay, any shortfall is carried forward."""


class HoldReason(StrEnum):
    SETTLEMENT_HELD = "settlement_held"
    """An official held the merchant's settlement (a fraud alert)."""
    NO_BANK_DETAILS = "no_bank_details"
    """The merchant has no bank code, account number or holder on file."""


@dataclass(frozen=True)
class FeeTier:
    """Merchants with annual revenue up to ``up_to_revenue_won`` (None: any) pay ``rate_bp``."""

    up_to_revenue_won: int | None
    rate_bp: int


ZEROPAY_FEE_TIERS = (
    FeeTier(800_000_000, 0),
    FeeTier(1_200_000_000, 30),
    FeeTier(None, 50),
)
"""Zeropay's tiers (0% up to 800 million won of annual revenue, 0.3% to 1.2 billion, 0.5%
above), for cities that charge a fee; the default is no tiers, that is no fee."""


def check_fee_tiers(tiers: Sequence[FeeTier]) -> tuple[FeeTier, ...]:
    """Tiers in rising order of revenue, the last one open-ended; empty means no fee."""
    if not tiers:
        return ()
    bounds = [tier.up_to_revenue_won for tier in tiers]
    if bounds[-1] is not None or None in bounds[:-1]:
        raise InvalidFeeTiers("only the last fee tier is open-ended, and it must be", field="tiers")
    closed = [bound for bound in bounds[:-1] if bound is not None]
    if any(b <= a for a, b in pairwise(closed)) or any(b < 0 for b in closed):
        raise InvalidFeeTiers("fee tiers must rise in revenue", field="tiers")
    if any(not 0 <= tier.rate_bp <= BASIS_POINTS for tier in tiers):
        raise InvalidFeeTiers("a fee rate is 0 to 10,000 basis points", field="tiers")
    return tuple(tiers)


def fee_rate_bp(tiers: Sequence[FeeTier], annual_revenue_won: int) -> int:
    for tier in tiers:
        if tier.up_to_revenue_won is None or annual_revenue_won <= tier.up_to_revenue_won:
            return tier.rate_bp
    return 0


@dataclass(frozen=True)
class MerchantDay:
    """What one merchant brings to a run: its numbers and whether it may be paid."""

    merchant_id: int
    takings_won: int
    cancellations_won: int
    brought_forward_won: int
    """What the previous run carried: positive is still owed to the merchant, negative a
    deduction still owed by it."""
    payable_won: int
    """What the merchant's payable account holds now."""
    annual_revenue_won: int
    settlement_held: bool
    has_bank_details: bool


@dataclass(frozen=True)
class LinePlan:
    merchant_id: int
    takings_won: int
    cancellations_won: int
    brought_forward_won: int
    due_won: int
    fee_won: int
    transfer_won: int
    carried_forward_won: int
    status: LineStatus
    hold_reason: HoldReason | None

    @property
    def paid_out_won(self) -> int:
        """What leaves the merchant's payable: the transfer and the fee."""
        return self.transfer_won + self.fee_won


def plan_line(day: MerchantDay, tiers: Sequence[FeeTier] = ()) -> LinePlan:
    """One merchant's settlement line (see the module's docstring for the arithmetic)."""
    due = day.brought_forward_won + day.takings_won - day.cancellations_won
    reason = None
    if day.settlement_held:
        reason = HoldReason.SETTLEMENT_HELD
    elif not day.has_bank_details:
        reason = HoldReason.NO_BANK_DETAILS
    base = 0 if reason is not None else max(0, min(due, day.payable_won))
    fee = share_bp(base, fee_rate_bp(tiers, day.annual_revenue_won))
    if reason is not None:
        status = LineStatus.HELD
    elif base > 0:
        status = LineStatus.TRANSFERRED
    else:
        status = LineStatus.NOTHING_DUE
    return LinePlan(
        merchant_id=day.merchant_id,
        takings_won=day.takings_won,
        cancellations_won=day.cancellations_won,
        brought_forward_won=day.brought_forward_won,
        due_won=due,
        fee_won=fee,
        transfer_won=base - fee,
        carried_forward_won=due - base,
        status=status,
        hold_reason=reason,
    )


def day_bounds(business_day: date) -> tuple[datetime, datetime]:
    """The instants (UTC) where a Seoul business day starts and where the next one starts."""
    start = datetime.combine(business_day, time(), tzinfo=SEOUL)
    end = datetime.combine(business_day + timedelta(days=1), time(), tzinfo=SEOUL)
    return start.astimezone(UTC), end.astimezone(UTC)


def check_may_settle(
    business_day: date, last_settled_day: date | None, settled: bool, now: datetime
) -> None:
    """Refuse a day settled before, a day before the last settled one, or one not over yet."""
    if settled:
        raise SettlementAlreadyRun(
            f"{business_day} is already settled", business_day=business_day.isoformat()
        )
    if last_settled_day is not None and business_day < last_settled_day:
        raise SettlementOutOfOrder(
            f"{last_settled_day} is already settled: days are settled in order",
            business_day=business_day.isoformat(),
            last_settled_day=last_settled_day.isoformat(),
        )
    if business_day >= seoul_day(now):
        raise SettlementDayNotOver(
            f"{business_day} has not ended in Seoul yet", business_day=business_day.isoformat()
        )


def transfer_reference(region_code: str, business_day: date, merchant_id: int) -> str:
    """The reference (적요) a bank transfer carries: short, ASCII, unique per line."""
    return f"DN-{region_code[:12].upper()}-{business_day:%Y%m%d}-{merchant_id}"
