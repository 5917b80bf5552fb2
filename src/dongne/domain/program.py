"""A region's voucher program: its rate, limits and policies, and the purchase rules.

Defaults are the national guideline values (DESIGN.md section 2); every one is a setting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from dongne.domain.calendar import seoul_day
from dongne.domain.errors import (
    AnnualLimitExceeded,
    BudgetExhausted,
    CancellationWindowClosed,
    GiftReceiveLimitExceeded,
    GiftSendLimitExceeded,
    HoldingLimitExceeded,
    InvalidInput,
    InvalidProgramSettings,
    InvalidPurchaseUnit,
    MonthlyLimitExceeded,
    NotAResident,
    PaymentLimitExceeded,
    PurchaseAlreadyCancelled,
    PurchaseAlreadyUsed,
)
from dongne.domain.lots import Lot
from dongne.domain.money import BASIS_POINTS, positive_won, share_bp


class BonusMode(StrEnum):
    DISCOUNT = "discount"
    """The bonus is given at purchase: face 100,000 for 90,000 paid at 10%."""
    CASHBACK = "cashback"
    """Purchases are at face; a share of each payment comes back as bonus value."""


class BudgetExhaustedPolicy(StrEnum):
    SELL_AT_FACE = "sell_at_face"
    """Keep selling at 0% discount."""
    STOP_SELLING = "stop_selling"


EXCLUDED_CATEGORIES_DEFAULT = frozenset(
    {
        "department_store",
        "large_mart",
        "super_supermarket",
        "duty_free",
        "entertainment_bar",
        "gambling",
    }
)
"""Categories the guideline excludes from voucher payments everywhere."""


@dataclass(frozen=True)
class RateWindow:
    """A dated promotion: ``rate_bp`` applies from ``starts_on`` to ``ends_on`` inclusive."""

    starts_on: date
    ends_on: date
    rate_bp: int


@dataclass(frozen=True)
class PurchaseTerms:
    face_won: int
    paid_won: int
    bonus_won: int


@dataclass(frozen=True)
class VoucherProgram:
    brand_name: str
    bonus_mode: BonusMode = BonusMode.DISCOUNT
    base_rate_bp: int = 1_000
    rate_windows: tuple[RateWindow, ...] = ()
    purchase_unit_won: int = 10_000
    monthly_purchase_limit_won: int = 700_000
    holding_limit_won: int = 1_500_000
    annual_purchase_limit_won: int | None = None
    residents_only: bool = False
    max_single_payment_won: int | None = None
    validity_days: int = 5 * 365
    refund_threshold_bp: int = 6_000
    cancellation_window_days: int = 7
    gift_monthly_send_limit_won: int = 700_000
    gift_monthly_receive_limit_won: int = 1_500_000
    budget_exhausted_policy: BudgetExhaustedPolicy = BudgetExhaustedPolicy.SELL_AT_FACE
    cashback_monthly_cap_won: int = 100_000
    revenue_cap_won: int = 3_000_000_000
    excluded_categories: frozenset[str] = field(default=EXCLUDED_CATEGORIES_DEFAULT)
    sale_queue_month_start_days: int | None = None
    """How many days at a month's start the sale queue is on; None: the platform's setting."""

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise InvalidProgramSettings("; ".join(problems), problems=problems)

    def _problems(self) -> list[str]:
        problems = []
        if not self.brand_name.strip():
            problems.append("brand_name must not be empty")
        rates = [self.base_rate_bp, *(window.rate_bp for window in self.rate_windows)]
        if any(not 0 <= rate < BASIS_POINTS for rate in rates):
            problems.append("rates must be between 0 and 9,999 basis points")
        if any(window.ends_on < window.starts_on for window in self.rate_windows):
            problems.append("a rate window must not end before it starts")
        if not 6_000 <= self.refund_threshold_bp <= 8_000:
            problems.append("refund_threshold_bp must be between 6,000 and 8,000 (60-80%)")
        positive = {
            "purchase_unit_won": self.purchase_unit_won,
            "monthly_purchase_limit_won": self.monthly_purchase_limit_won,
            "holding_limit_won": self.holding_limit_won,
            "validity_days": self.validity_days,
            "gift_monthly_send_limit_won": self.gift_monthly_send_limit_won,
            "gift_monthly_receive_limit_won": self.gift_monthly_receive_limit_won,
            "revenue_cap_won": self.revenue_cap_won,
        }
        problems += [f"{name} must be positive" for name, value in positive.items() if value <= 0]
        optional = {
            "annual_purchase_limit_won": self.annual_purchase_limit_won,
            "max_single_payment_won": self.max_single_payment_won,
        }
        problems += [
            f"{name} must be positive" for name, v in optional.items() if v is not None and v <= 0
        ]
        start_days = self.sale_queue_month_start_days
        if start_days is not None and not 0 <= start_days <= 31:
            problems.append("sale_queue_month_start_days must be between 0 and 31")
        if self.cancellation_window_days < 0 or self.cashback_monthly_cap_won < 0:
            problems.append("cancellation_window_days and cashback_monthly_cap_won must be >= 0")
        return problems

    def rate_bp_on(self, day: date) -> int:
        """The bonus rate on ``day``: the latest-starting window covering it, else the base."""
        covering = [w for w in self.rate_windows if w.starts_on <= day <= w.ends_on]
        if not covering:
            return self.base_rate_bp
        return max(covering, key=lambda window: window.starts_on).rate_bp

    def discount_bonus_won(self, face_won: int, day: date) -> int:
        """The bonus a purchase earns in discount mode (zero in cashback mode)."""
        if self.bonus_mode is BonusMode.CASHBACK:
            return 0
        return share_bp(face_won, self.rate_bp_on(day))

    def check_purchase(
        self,
        face_won: int,
        *,
        purchased_this_month_won: int,
        purchased_this_year_won: int,
        holding_won: int,
        is_resident: bool,
    ) -> None:
        """Refuse a purchase that breaks a limit; the limits count face value."""
        positive_won(face_won, field="face_won")
        if face_won % self.purchase_unit_won:
            raise InvalidPurchaseUnit(
                f"purchases are made in units of {self.purchase_unit_won:,} won",
                face_won=face_won,
                purchase_unit_won=self.purchase_unit_won,
            )
        if self.residents_only and not is_resident:
            raise NotAResident(f"{self.brand_name} is sold to residents of the region only")
        if purchased_this_month_won + face_won > self.monthly_purchase_limit_won:
            raise MonthlyLimitExceeded(
                f"this month's purchases would reach {purchased_this_month_won + face_won:,} won;"
                f" the limit is {self.monthly_purchase_limit_won:,}",
                limit_won=self.monthly_purchase_limit_won,
                used_won=purchased_this_month_won,
            )
        annual_limit = self.annual_purchase_limit_won
        if annual_limit is not None and purchased_this_year_won + face_won > annual_limit:
            raise AnnualLimitExceeded(
                f"this year's purchases would exceed the annual limit of {annual_limit:,} won",
                limit_won=annual_limit,
                used_won=purchased_this_year_won,
            )
        self.check_holding(holding_won + face_won)

    def check_holding(self, holding_after_won: int) -> None:
        if holding_after_won > self.holding_limit_won:
            raise HoldingLimitExceeded(
                f"the wallet would hold {holding_after_won:,} won of vouchers;"
                f" the limit is {self.holding_limit_won:,}",
                limit_won=self.holding_limit_won,
                holding_after_won=holding_after_won,
            )

    def purchase_terms(
        self, face_won: int, day: date, *, budget_covers_bonus: bool
    ) -> PurchaseTerms:
        """What the citizen pays and the bonus, given whether the budget still covers it."""
        bonus = self.discount_bonus_won(face_won, day)
        if bonus and not budget_covers_bonus:
            if self.budget_exhausted_policy is BudgetExhaustedPolicy.STOP_SELLING:
                raise BudgetExhausted(
                    "this month's discount budget is exhausted and sales are stopped",
                    bonus_won=bonus,
                )
            bonus = 0
        return PurchaseTerms(face_won=face_won, paid_won=face_won - bonus, bonus_won=bonus)

    def check_gift(
        self,
        amount_won: int,
        *,
        sent_this_month_won: int,
        received_this_month_won: int,
        receiver_holding_won: int,
    ) -> None:
        positive_won(amount_won)
        if sent_this_month_won + amount_won > self.gift_monthly_send_limit_won:
            raise GiftSendLimitExceeded(
                f"gifts sent this month would reach {sent_this_month_won + amount_won:,} won;"
                f" the limit is {self.gift_monthly_send_limit_won:,}",
                limit_won=self.gift_monthly_send_limit_won,
                used_won=sent_this_month_won,
            )
        if received_this_month_won + amount_won > self.gift_monthly_receive_limit_won:
            raise GiftReceiveLimitExceeded(
                f"the receiver's gifts this month would reach"
                f" {received_this_month_won + amount_won:,} won; the limit is"
                f" {self.gift_monthly_receive_limit_won:,}",
                limit_won=self.gift_monthly_receive_limit_won,
                used_won=received_this_month_won,
            )
        self.check_holding(receiver_holding_won + amount_won)

    def check_payment_amount(self, amount_won: int) -> None:
        positive_won(amount_won)
        limit = self.max_single_payment_won
        if limit is not None and amount_won > limit:
            raise PaymentLimitExceeded(
                f"a single payment may be at most {limit:,} won", limit_won=limit
            )

    def cashback_won(
        self, purchased_part_won: int, day: date, *, earned_this_month_won: int
    ) -> int:
        """Bonus value a payment earns back in cashback mode, within the monthly cap."""
        if self.bonus_mode is not BonusMode.CASHBACK:
            return 0
        room = max(0, self.cashback_monthly_cap_won - earned_this_month_won)
        return min(share_bp(purchased_part_won, self.rate_bp_on(day)), room)

    def check_purchase_cancellable(
        self, *, purchased_at: datetime, already_cancelled: bool, lot: Lot, now: datetime
    ) -> None:
        """A purchase cancels (청약철회) within the window, and only if nothing was used."""
        if already_cancelled:
            raise PurchaseAlreadyCancelled("this purchase was already cancelled")
        window = timedelta(days=self.cancellation_window_days)
        if now > purchased_at + window:
            raise CancellationWindowClosed(
                f"a purchase can be cancelled within {self.cancellation_window_days} days",
                window_days=self.cancellation_window_days,
            )
        if lot.remaining_won != lot.face_won or not lot.is_live(now):
            raise PurchaseAlreadyUsed(
                "part of this purchase was already spent or given; only an untouched purchase"
                " can be cancelled",
                remaining_won=lot.remaining_won,
                face_won=lot.face_won,
            )


BUDGET_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
BUDGET_MONTHS_AHEAD = 12
"""A discount budget is for one month's sales. Money put into a month that is over can never
be sold (the month just ended is allowed, so a retry that lands after midnight at a month's
end is not refused), and a city plans its voucher budget for a year at most: a month further
ahead (``9999-12``) is a typing slip that would lock city money away."""


def check_budget_month(month: str, now: datetime) -> str:
    """``month`` (YYYY-MM) if a discount budget may be funded for it at ``now``."""
    match = BUDGET_MONTH.fullmatch(month)
    if match is None:
        raise InvalidInput("a month is written YYYY-MM", field="month")
    current = seoul_day(now)
    offset = (int(match[1]) - current.year) * 12 + int(match[2]) - current.month
    if not -1 <= offset <= BUDGET_MONTHS_AHEAD:
        raise InvalidInput(
            f"a budget is for the month just ended, this month or one of the next"
            f" {BUDGET_MONTHS_AHEAD}",
            field="month",
        )
    return month
