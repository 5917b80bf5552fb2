"""Receipts: of payments and purchases (with their place in the verifiable log), and cash
receipts (현금영수증) for citizens and, as a CSV export, for the tax authority.

Cash receipts are issued by a catch-up job; both cash-receipt routes run it first, so what
they show is complete up to the request.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from dongne.bootstrap import App
from dongne.domain.calendar import SEOUL
from dongne.entrypoints.api.deps import AppDep, CallerDep, now
from dongne.entrypoints.api.pagination import Page, PageDep, page_of, rendered_as
from dongne.entrypoints.api.v1.problems import PROBLEMS
from dongne.services import resources
from dongne.services.cash_receipts import issue_cash_receipts

router = APIRouter(tags=["receipts"])
EXPORT_COLUMNS = ("approval_number", "issued_at", "amount_won", "receipt_number", "business_number")


class ReceiptOut(BaseModel):
    """A receipt, with where its ledger transaction stands in the public log."""

    kind: Literal["payment", "purchase"]
    amounts: dict[str, int] = Field(description="The amounts in won, by what they are")
    created_at: datetime
    transaction_id: int
    log_index: int | None = Field(description="The leaf index; null until sequenced")
    status: Literal["pending_log", "in_log"]
    proof: dict[str, Any] | None = Field(
        description="An inclusion proof against a signed (and witnessed) checkpoint, in the"
        " format `dongne verify-receipt` reads; null until a checkpoint covers the transaction"
    )


class CashReceiptOut(BaseModel):
    id: int
    payment_id: int
    wallet_id: int
    approval_number: str
    amount_won: int = Field(description="Negative for a cancellation")
    receipt_number: str | None = Field(description="The payer's registered receipt number")
    issued_at: datetime


def _receipt(
    app: App, kind: Literal["payment", "purchase"], row: Any, at: datetime, amounts: dict[str, int]
) -> ReceiptOut:
    standing = resources.log_standing(
        app.reader(),
        row.transaction_id,
        witnesses=app.witness_verifiers(),
        quorum=app.settings.log_witness_quorum,
    )
    return ReceiptOut(
        kind=kind,
        amounts=amounts,
        created_at=at,
        transaction_id=row.transaction_id,
        log_index=standing.log_index,
        status="in_log" if standing.proof is not None else "pending_log",
        proof=standing.proof,
    )


@router.get("/payments/{payment_id}/receipt", response_model=ReceiptOut, responses=PROBLEMS)
def payment_receipt(app: AppDep, caller: CallerDep, payment_id: int = Path(ge=1)) -> ReceiptOut:
    """The payment's receipt: for the citizen who paid, the merchant, the region's officials."""
    payment = resources.payment_of_caller(app.reader(), caller, payment_id)
    amounts = {
        "amount_won": payment.amount_won,
        "cancelled_won": payment.cancelled_won,
        "purchased_value_won": payment.purchased_value_won,
        "cashback_won": payment.cashback_won,
    }
    return _receipt(app, "payment", payment, payment.paid_at, amounts)


@router.get("/purchases/{purchase_id}/receipt", response_model=ReceiptOut, responses=PROBLEMS)
def purchase_receipt(app: AppDep, caller: CallerDep, purchase_id: int = Path(ge=1)) -> ReceiptOut:
    """The purchase's receipt: for the citizen who bought, the region's officials."""
    purchase = resources.purchase_of_caller(app.reader(), caller, purchase_id)
    amounts = {
        "face_won": purchase.face_won,
        "paid_won": purchase.paid_won,
        "bonus_won": purchase.bonus_won,
    }
    return _receipt(app, "purchase", purchase, purchase.purchased_at, amounts)


@router.get("/me/cash_receipts", response_model=Page[CashReceiptOut], responses=PROBLEMS)
def my_cash_receipts(app: AppDep, caller: CallerDep, page: PageDep) -> Page[CashReceiptOut]:
    """The caller's cash receipts, oldest first (citizens)."""
    caller.citizen()
    issue_cash_receipts(app.unit_of_work(), now())
    rows = resources.cash_receipts_page(
        app.reader(), caller, after_id=page.after_id, fetch=page.fetch
    )
    return page_of(rows, page, id_of=lambda row: row.id, render=rendered_as(CashReceiptOut))


@router.get(
    "/regions/{region_id}/cash_receipts/export",
    response_class=Response,
    responses={**PROBLEMS, 200: {"content": {"text/csv": {}}, "description": "One row a receipt"}},
)
def export_cash_receipts(
    app: AppDep,
    caller: CallerDep,
    region_id: Annotated[int, Path(ge=1)],
    day: Annotated[date, Query(alias="date", description="The Seoul calendar day, YYYY-MM-DD")],
) -> Response:
    """The region's cash receipts issued on a Seoul day, as CSV for the tax authority:
    approval_number, issued_at (Seoul time), amount_won, receipt_number, business_number."""
    caller.official(region_id)
    issue_cash_receipts(app.unit_of_work(), now())
    start = datetime.combine(day, time(), tzinfo=SEOUL)
    rows = resources.cash_receipts_issued_between(
        app.reader(), region_id, start, start + timedelta(days=1)
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        issued = row.issued_at.astimezone(SEOUL).isoformat(timespec="seconds")
        writer.writerow(
            (
                row.approval_number,
                issued,
                row.amount_won,
                row.receipt_number or "",
                row.business_number,
            )
        )
    filename = f"cash_receipts-{region_id}-{day.isoformat()}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
