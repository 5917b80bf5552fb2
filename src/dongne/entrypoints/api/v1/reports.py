"""The statutory and management reports over HTTP: JSON rows, or a CSV or XLSX download
(the region's officials, any role, and the operator)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel

from dongne.domain import reports as rules
from dongne.domain.reports import TITLES, ReportName
from dongne.entrypoints.api.deps import AppDep, CallerDep, now
from dongne.entrypoints.api.v1.problems import PROBLEMS
from dongne.services import reports

router = APIRouter(tags=["reports"])

RegionId = Path(description="The region's id", ge=1)


class ReportOut(BaseModel):
    name: ReportName
    title_ko: str
    title_en: str
    region_name: str
    first_day: date
    last_day: date
    columns: list[str]
    rows: list[list[str | int]]
    notes: list[str]


def _period(first: date | None, last: date | None, half: str | None) -> rules.Period:
    if half is not None:
        return rules.half_year(half)
    today = now().date()
    return rules.period(first or today.replace(day=1), last or today)


@router.get(
    "/regions/{region_id}/reports/{name}",
    response_model=ReportOut,
    responses=PROBLEMS | {200: {"content": {"text/csv": {}, "application/octet-stream": {}}}},
)
def read_report(
    app: AppDep,
    caller: CallerDep,
    name: ReportName,
    *,
    region_id: int = RegionId,
    first: Annotated[date | None, Query(alias="from", description="First Seoul day")] = None,
    last: Annotated[date | None, Query(alias="to", description="Last Seoul day")] = None,
    half: Annotated[
        str | None, Query(max_length=6, pattern=r"^[0-9]{4}[Hh][12]$", description="2026H1")
    ] = None,
    file_format: Annotated[Literal["json", "csv", "xlsx"], Query(alias="format")] = "json",
) -> ReportOut | Response:
    """A report of the region over a period (default: this month so far) or a half-year;
    ``format=csv`` or ``xlsx`` downloads it."""
    period = _period(first, last, half)
    if file_format != "json":
        exported = reports.export(
            app.reader(),
            caller,
            region_id=region_id,
            name=name,
            period=period,
            file_format=file_format,
        )
        return Response(
            exported.content,
            media_type=exported.media_type,
            headers={"Content-Disposition": f'attachment; filename="{exported.filename}"'},
        )
    table = reports.build(app.reader(), caller, region_id=region_id, name=name, period=period)
    korean, english = TITLES[name]
    return ReportOut(
        name=name,
        title_ko=korean,
        title_en=english,
        region_name=table.region_name,
        first_day=period.first_day,
        last_day=period.last_day,
        columns=[f"{c.korean} ({c.english})" for c in table.columns],
        rows=[list(row) for row in table.rows],
        notes=table.notes,
    )
