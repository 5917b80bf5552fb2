"""The console's paper vouchers (``/console/paper``): the stock by state per denomination,
which sums to the print runs, the print runs with their printer's files (PDF and CSV), and a
form to order a new run.

The same services as the API's paper routes: any official of the region reads the stock and
downloads a run's files; ordering takes the operator role (a 403 page below it). A run of
another region is a 404 page. Ordering prints money, so a run is ordered once per press: the
form token's nonce is its idempotency key, and a double click orders one run.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from dongne.adapters.paper_print_files import write_print_csv, write_print_pdf
from dongne.domain.access import OfficialRole, Principal
from dongne.domain.errors import DongneError
from dongne.domain.paper import (
    DENOMINATIONS,
    PaperPrintOrderNotFound,
    PaperRangeInvalid,
    PaperVoucherState,
    PrintSheet,
)
from dongne.entrypoints.web import pages
from dongne.entrypoints.web.console import console_page, may, official_region
from dongne.entrypoints.web.csrf import PageForm
from dongne.entrypoints.web.pages import application, now, speaker_of
from dongne.services import paper_printing, paper_reports
from dongne.services.idempotency import caller_scope, scoped_key

router = APIRouter(include_in_schema=False, route_class=pages.WebRoute)

STATES = tuple(state.value for state in PaperVoucherState)
FIELDS = tuple(f"count_{won}" for won in DENOMINATIONS)
REFUSALS = ("error:PAPER_RANGE_INVALID", "error:PAPER_RANGE_INVALID:counts")
"""What ``pages.message_of`` says for this page's refusals (the catalog test checks them)."""


class PrintForm(PageForm):
    """How many of each denomination to print; a blank count is none."""

    count_5000: str = ""
    count_10000: str = ""
    count_50000: str = ""


@router.get("/console/paper")
def paper_page(request: Request, done: str = "") -> Response:
    caller, region_id = official_region(request)
    return _page(request, caller, region_id, notice="ordered" if done == "ordered" else "")


def _page(
    request: Request,
    caller: Principal,
    region_id: int,
    *,
    notice: str = "",
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    reader = application(request).reader()
    context = {
        "report": paper_reports.stock_report(reader, region_id=region_id),
        "orders": paper_reports.print_orders(reader, region_id=region_id),
        "states": STATES,
        "denominations": DENOMINATIONS,
        "notice": notice,
        "typed": typed or {},
        "errors": errors or {},
        "may_order": may(caller, region_id, OfficialRole.OPERATOR),
    }
    return console_page(request, "console_paper.html", "paper", caller, context, status=status)


@router.post("/console/paper/print_orders")
def order_print(request: Request, form: Annotated[PrintForm, Form()]) -> Response:
    caller, region_id = official_region(request)
    caller.official(region_id, at_least=OfficialRole.OPERATOR)
    typed = {name: getattr(form, name) for name in FIELDS}
    token = pages.form_token(request, form.csrf_token)
    if token is None:
        errors = pages.form_expired(request)
        return _page(request, caller, region_id, typed=typed, errors=errors, status=400)
    try:
        paper_printing.order_print(
            application(request).unit_of_work(),
            region_id=region_id,
            counts=_counts(typed),
            ordered_by=caller.user_id,
            idempotency_key=scoped_key("paper_print", caller_scope(caller), f"web:{token.nonce}"),
            now=now(),
        )
    except DongneError as refused:
        errors = pages.errors_of(refused, ("counts",), speaker_of(request), field="counts")
        status = pages.status_for(refused)
        return _page(request, caller, region_id, typed=typed, errors=errors, status=status)
    return RedirectResponse("/console/paper?done=ordered", status_code=303)


def _counts(typed: dict[str, str]) -> dict[int, int]:
    """The typed counts as numbers (``1,000`` reads as 1000); anything else is refused."""
    counts = {}
    for won, name in zip(DENOMINATIONS, FIELDS, strict=True):
        text = typed[name].replace(",", "").strip()
        if not text:
            continue
        if not text.isdecimal():
            raise PaperRangeInvalid("counts are whole numbers", field="counts")
        counts[won] = int(text)
    return counts


def _sheet(request: Request, print_order_id: int) -> PrintSheet:
    """The run's sheet; another region's run reads as one that does not exist."""
    _, region_id = official_region(request)
    app = application(request)
    sheet = paper_reports.print_sheet(app.reader(), app.secrets, print_order_id=print_order_id)
    if sheet.region_id != region_id:
        raise PaperPrintOrderNotFound(
            f"no print order {print_order_id}", print_order_id=print_order_id
        )
    return sheet


@router.get("/console/paper/print_orders/{print_order_id}/vouchers.csv")
def print_csv(request: Request, print_order_id: int) -> Response:
    return Response(
        write_print_csv(_sheet(request, print_order_id)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="paper-{print_order_id}.csv"'},
    )


@router.get("/console/paper/print_orders/{print_order_id}/vouchers.pdf")
def print_pdf(request: Request, print_order_id: int) -> Response:
    return Response(
        write_print_pdf(_sheet(request, print_order_id)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="paper-{print_order_id}.pdf"'},
    )
