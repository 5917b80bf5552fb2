"""Read models of the city console: the dashboard's figures for an official's region and its
voucher program's settings. Their SQL lives in ``adapters/db/console_queries.py`` (one
aggregate query per figure); nothing here changes state.

The dashboard's window is the last ``DASHBOARD_DAYS`` Seoul days, today included; its month
is today's Seoul month, whose discount budget the purchases draw on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dongne.adapters.db.console_queries import (
    BudgetMonth,
    Participation,
    PaymentGroup,
    VoucherTotals,
)
from dongne.domain.calendar import require_aware, seoul_day, seoul_month
from dongne.domain.program import VoucherProgram
from dongne.domain.settlement import day_bounds
from dongne.services.unit_of_work import UnitOfWork

__all__ = [
    "BudgetMonth",
    "Dashboard",
    "DayPayments",
    "Participation",
    "PaymentGroup",
    "VoucherTotals",
    "dashboard",
    "settlement_held",
    "voucher_program",
]

DASHBOARD_DAYS = 30


@dataclass(frozen=True)
class DayPayments:
    day: date
    count: int
    amount_won: int


@dataclass(frozen=True)
class Dashboard:
    month: str
    first_day: date
    last_day: date
    totals: VoucherTotals
    budget: BudgetMonth
    by_category: tuple[PaymentGroup, ...]
    by_day: tuple[DayPayments, ...]
    """Every day of the window, oldest first, days without payments included."""
    participation: Participation

    @property
    def budget_used_won(self) -> int:
        return self.budget.funded_won - self.budget.balance_won

    @property
    def budget_used_percent(self) -> int:
        """The share of the month's budget used, in whole percent (0 for an unfunded month)."""
        if self.budget.funded_won <= 0:
            return 0
        return self.budget_used_won * 100 // self.budget.funded_won


def dashboard(uow: UnitOfWork, *, region_id: int, now: datetime) -> Dashboard:
    """The region's figures as of ``now``. Raises ``RegionNotFound`` for an unknown region."""
    now = require_aware(now)
    last_day = seoul_day(now)
    days = [last_day - timedelta(days=back) for back in range(DASHBOARD_DAYS - 1, -1, -1)]
    bounds = [day_bounds(day)[0] for day in days] + [day_bounds(last_day)[1]]
    month = seoul_month(now)
    with uow:
        uow.records.region(region_id)
        reads = uow.console
        totals = reads.voucher_totals(region_id)
        budget = reads.budget_month(region_id, month)
        by_category = reads.payments_by_category(region_id, bounds[0], bounds[-1])
        by_period = reads.payments_by_period(region_id, bounds)
        participation = reads.participation(region_id, bounds[0])
    by_day = tuple(
        DayPayments(day, *_figures(by_period.get(index))) for index, day in enumerate(days)
    )
    return Dashboard(
        month, days[0], last_day, totals, budget, tuple(by_category), by_day, participation
    )


def _figures(group: PaymentGroup | None) -> tuple[int, int]:
    return (group.count, group.amount_won) if group else (0, 0)


def settlement_held(uow: UnitOfWork, *, merchant_id: int) -> bool:
    """Whether the merchant's settlement is held (by a fraud alert, until an official clears
    it): the next settlement runs carry what it is owed forward."""
    with uow:
        return uow.console.settlement_held(merchant_id)


def voucher_program(uow: UnitOfWork, *, region_id: int, at: datetime) -> VoucherProgram:
    """The region's voucher program as in force at ``at``. Raises ``ProgramNotFound`` if it
    has none."""
    with uow:
        return uow.records.program(region_id, at=require_aware(at))
