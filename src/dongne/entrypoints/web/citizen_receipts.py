"""The citizen's receipt of a payment (``/wallet/receipts/{payment id}``), with its "recorded
on the public ledger" check (``services.receipt_checks``): the inclusion proof of the
payment's leaf, checked against the latest checkpoint the witnesses cosigned, and what was
checked (the leaf's hash, the tree's size and root, the witnesses and their quorum). A fresh
payment is not in a checkpoint yet: the page says so and the check is made on the next visit.
Another citizen's payment is a page that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from dongne.entrypoints.web import pages
from dongne.entrypoints.web.pages import application, citizen_of, render
from dongne.services import receipt_checks

router = APIRouter(include_in_schema=False, route_class=pages.WebRoute)

MAX_ID = 2**63 - 1
"""Ids are BIGINT: a larger number in the URL is a bad request, never a database error."""


@router.get("/wallet/receipts/{payment_id}")
def receipt_page(request: Request, payment_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> Response:
    caller = citizen_of(request)
    app = application(request)
    receipt = receipt_checks.payment_receipt(
        app.reader(),
        caller,
        payment_id,
        log_key=app.log_verifier(),
        witnesses=app.witness_verifiers(),
        quorum=app.settings.log_witness_quorum,
    )
    context = {"receipt": receipt, "wallet_id": receipt.payment.wallet_id}
    return render(request, "receipt.html", context, principal=caller)
