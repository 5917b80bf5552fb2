"""The console's reports (``/console/reports``): every statutory and management report of the
official's region, for this month so far, the last month and the current half-year, each as
XLSX and CSV (built by ``services.reports``, as the API and ``dongne report`` build them)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from dongne.domain import reports as rules
from dongne.domain.calendar import seoul_day
from dongne.domain.reports import TITLES, ReportName
from dongne.entrypoints.web import pages
from dongne.entrypoints.web.console_allowances import region_of
from dongne.entrypoints.web.pages import HEADERS, application, now, official_of, render
from dongne.services import reports

router = APIRouter(include_in_schema=False, route_class=pages.WebRoute)


def _periods(today: date) -> list[tuple[str, rules.Period]]:
    month_start = today.replace(day=1)
    last_month_end = month_start - timedelta(days=1)
    half = f"{today.year}H{1 if today.month <= 6 else 2}"
    return [
        ("이번 달 (this month)", rules.period(month_start, today)),
        ("지난달 (last month)", rules.period(last_month_end.replace(day=1), last_month_end)),
        (f"{half} 반기 (half-year)", rules.half_year(half)),
    ]


@router.get("/console/reports")
def reports_page(request: Request) -> Response:
    caller = official_of(request)
    caller.official(region_of(caller))
    context = {
        "section": "reports",
        "reports": [(name.value, *TITLES[name]) for name in ReportName],
        "periods": [
            (label, p.first_day.isoformat(), p.last_day.isoformat())
            for label, p in _periods(seoul_day(now()))
        ],
    }
    return render(request, "console_reports.html", context, principal=caller)


@router.get("/console/reports/{name}.{file_format}")
def download(
    request: Request,
    name: str,
    file_format: str,
    first: Annotated[date, Query(alias="from")],
    last: Annotated[date, Query(alias="to")],
) -> Response:
    caller = official_of(request)
    if file_format not in reports.FORMATS:
        raise rules.ReportNotFound(f"no report format {file_format!r}", report=name)
    exported = reports.export(
        application(request).reader(),
        caller,
        region_id=region_of(caller),
        name=rules.report_name(name),
        period=rules.period(first, last),
        file_format=file_format,
    )
    disposition = f'attachment; filename="{exported.filename}"'
    return Response(
        exported.content,
        media_type=exported.media_type,
        headers={**HEADERS, "Content-Disposition": disposition},
    )
