"""The statutory and management reports: their names, periods and table shape, pure.

A period is a span of Seoul days, first and last included; a half-year is ``2026H1``
(January to June) or ``2026H2`` (July to December), the periods of the half-year issuance
report (반기 발행 실적) a local government gives the ministry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from dongne.domain.calendar import SEOUL
from dongne.domain.errors import InvalidInput, NotFound

MAX_PERIOD_DAYS = 3_660
_HALF = re.compile(r"(?P<year>[0-9]{4})[Hh](?P<half>[12])")


class ReportNotFound(NotFound):
    """No report has this name."""

    code = "REPORT_NOT_FOUND"


class ReportName(StrEnum):
    ISSUANCE = "issuance"
    SALES = "sales"
    DISCOUNT_BUDGET = "discount_budget"
    PAYMENTS = "payments"
    REFUNDS = "refunds"
    EXPIRED = "expired"
    OUTSTANDING = "outstanding"
    ACTIVITY = "activity"
    ALLOWANCES = "allowances"
    HALF_YEAR = "half_year"


TITLES = {
    ReportName.ISSUANCE: ("발행 실적 (형태·경로별)", "Issuance by form and channel"),
    ReportName.SALES: ("할인 판매 실적", "Sales at discount"),
    ReportName.DISCOUNT_BUDGET: ("할인 예산 대비 비용", "Discount cost against the budget"),
    ReportName.PAYMENTS: ("업종별 결제 실적", "Payments by merchant category"),
    ReportName.REFUNDS: ("잔액 환불 실적", "Balance refunds"),
    ReportName.EXPIRED: ("소멸 금액", "Expired value"),
    ReportName.OUTSTANDING: ("유통 잔액", "Outstanding balance"),
    ReportName.ACTIVITY: ("가맹점·이용자 현황", "Merchants and citizens active"),
    ReportName.ALLOWANCES: ("정책수당 사업별 실적", "Allowances by program"),
    ReportName.HALF_YEAR: ("지역사랑상품권 반기 발행 실적", "Half-year issuance report"),
}


def report_name(raw: str) -> ReportName:
    try:
        return ReportName(raw)
    except ValueError:
        raise ReportNotFound(f"no report {raw!r}", report=raw) from None


@dataclass(frozen=True)
class Period:
    first_day: date
    last_day: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(), SEOUL)

    @property
    def end(self) -> datetime:
        """The instant after the last day: periods are half-open."""
        return datetime.combine(self.last_day + timedelta(days=1), time(), SEOUL)

    @property
    def label(self) -> str:
        return f"{self.first_day.isoformat()}~{self.last_day.isoformat()}"


def period(first_day: date, last_day: date) -> Period:
    if last_day < first_day:
        raise InvalidInput("the period ends before it starts", field="to")
    if (last_day - first_day).days > MAX_PERIOD_DAYS:
        raise InvalidInput(f"a period is at most {MAX_PERIOD_DAYS} days", field="to")
    return Period(first_day, last_day)


def half_year(raw: str) -> Period:
    """``2026H1`` is January to June 2026; ``2026H2`` July to December."""
    found = _HALF.fullmatch(raw.strip())
    if found is None:
        raise InvalidInput("a half-year looks like 2026H1 or 2026H2", field="half")
    year, half = int(found["year"]), int(found["half"])
    if half == 1:
        return Period(date(year, 1, 1), date(year, 6, 30))
    return Period(date(year, 7, 1), date(year, 12, 31))


Cell = str | int


@dataclass(frozen=True)
class Column:
    korean: str
    english: str
    money: bool = False


@dataclass(frozen=True)
class ReportTable:
    """One report as rows: what the CSV, XLSX, API and console show alike."""

    name: ReportName
    region_name: str
    period: Period
    columns: tuple[Column, ...]
    rows: list[tuple[Cell, ...]]
    notes: list[str] = field(default_factory=list)

    @property
    def title(self) -> tuple[str, str]:
        return TITLES[self.name]
