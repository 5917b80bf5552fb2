"""The shop's settlement statements: the list, one day's statement, and the list as CSV.

The statements are ``settlement_reports.merchant_statements`` of the session's shop, as the
API's ``/merchants/{id}/settlements`` serves them; the CSV has one column for each field of a
statement, named as the API names it.
"""

from __future__ import annotations

from dataclasses import astuple, fields
from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response

from dongne.adapters.settlement_files import Statement
from dongne.entrypoints.web import pages
from dongne.entrypoints.web.csv_download import csv_response
from dongne.entrypoints.web.pages import application, merchant_of, render, speaker_of
from dongne.services import shop_pages

router = APIRouter(include_in_schema=False, route_class=pages.WebRoute)


@router.get("/shop/settlements")
def statements_page(request: Request) -> Response:
    caller = merchant_of(request)
    statements = shop_pages.statements_of_shop(application(request).reader(), caller)
    context = {"statements": statements, "section": "settlements"}
    return render(request, "shop_settlements.html", context, principal=caller)


@router.get("/shop/settlements.csv")
def statements_csv(request: Request) -> Response:
    caller = merchant_of(request)
    statements = shop_pages.statements_of_shop(application(request).reader(), caller)
    header = [column.name for column in fields(Statement)]
    return csv_response("settlements.csv", header, [astuple(row) for row in statements])


@router.get("/shop/settlements/{business_day}")
def statement_page(request: Request, business_day: date) -> Response:
    caller = merchant_of(request)
    shown = shop_pages.statement_of_day(application(request).reader(), caller, business_day)
    context = {"statement": shown.statement, "lines": shown.lines, "section": "settlements"}
    return render(request, "shop_settlement.html", context, principal=caller)


@router.get("/shop/settlements/{business_day}/lines.csv")
def statement_lines_csv(request: Request, business_day: date) -> Response:
    """The statement's payments and cancellations, with the staff member who made each."""
    caller = merchant_of(request)
    shown = shop_pages.statement_of_day(application(request).reader(), caller, business_day)
    _ = speaker_of(request).gettext
    header = [_("Kind"), _("Payment number"), _("Amount (won)"), _("Time"), _("Staff")]
    rows = [
        (_("line:" + line.kind), line.payment_id, line.amount_won, line.at.isoformat(),
         line.staff_login or "")
        for line in shown.lines
    ]  # fmt: skip
    return csv_response(f"statement-{business_day.isoformat()}.csv", header, rows)
