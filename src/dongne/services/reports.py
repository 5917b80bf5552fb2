"""The statutory and management reports of a region over a period, from the ledger.

Each report is built from one read model (``adapters/db/report_queries.py``): sums of ledger
entries by transaction kind and account type, balances at an instant, and counts of the rows
the ledger's transactions came with. The region's officials (any role) and the operator may
read them; ``export`` writes one as CSV or XLSX (``adapters/report_files.py``).

Issuance has three forms: mobile, card and paper. A card spends its wallet's mobile value, so
its issuance is the mobile rows' and its payments are listed apart; paper is issued when a bank
sells it, and outstanding until a merchant redeems it or a wallet takes it in (docs/reports.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dongne.adapters.report_files import to_csv, to_xlsx
from dongne.domain.access import Principal
from dongne.domain.reports import Cell, Column, Period, ReportName, ReportTable
from dongne.services import report_tables
from dongne.services.report_tables import Figures
from dongne.services.unit_of_work import UnitOfWork

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

Builder = Callable[[Figures], tuple[tuple[Column, ...], list[tuple[Cell, ...]]]]

BUILDERS: dict[ReportName, Builder] = {
    ReportName.ISSUANCE: report_tables.issuance,
    ReportName.SALES: report_tables.sales,
    ReportName.DISCOUNT_BUDGET: report_tables.discount_budget,
    ReportName.PAYMENTS: report_tables.payments,
    ReportName.REFUNDS: report_tables.refunds,
    ReportName.EXPIRED: report_tables.expired,
    ReportName.OUTSTANDING: report_tables.outstanding,
    ReportName.ACTIVITY: report_tables.activity,
    ReportName.ALLOWANCES: report_tables.allowances,
    ReportName.HALF_YEAR: report_tables.half_year,
}


@dataclass(frozen=True)
class ReportFile:
    filename: str
    media_type: str
    content: bytes


def build(
    uow: UnitOfWork, caller: Principal, *, region_id: int, name: ReportName, period: Period
) -> ReportTable:
    """One report of the region over the period (the region's officials, the operator)."""
    caller.official(region_id)
    with uow:
        region = uow.records.region(region_id)
        figures = report_tables.figures(uow, region_id, period)
    columns, rows = BUILDERS[name](figures)
    return ReportTable(name, region.name, period, columns, rows, notes=list(figures.notes(name)))


def export(
    uow: UnitOfWork,
    caller: Principal,
    *,
    region_id: int,
    name: ReportName,
    period: Period,
    file_format: str,
) -> ReportFile:
    table = build(uow, caller, region_id=region_id, name=name, period=period)
    stem = f"dongne-{name.value}-{region_id}-{period.first_day}-{period.last_day}"
    content = to_xlsx(table) if file_format == "xlsx" else to_csv(table)
    return ReportFile(f"{stem}.{file_format}", FORMATS[file_format], content)
