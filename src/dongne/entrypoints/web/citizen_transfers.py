"""The citizen's pages that send value out of a wallet other than by paying: a gift to
another citizen, cancelling a purchase (청약철회), and a balance refund (잔액환불).

Each form calls the service the API's route calls, after the same scoping checks; its
token's nonce is the idempotency key (scoped to the caller and the action, as the API
scopes its Idempotency-Key), so a double tap gifts, cancels or refunds once. A refusal comes
back as the same page with the rule's reason and figures beside the field it concerns, and
what was typed; a success redirects (POST, redirect, GET). Before the citizen asks, each page
shows what the domain's own rule would say (``wallet_pages``), so the reason a refund is not
yet allowed is on the page, with its figures, before the button is pressed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from dongne.domain.access import Principal
from dongne.domain.errors import DongneError
from dongne.entrypoints.web import pages
from dongne.entrypoints.web.citizen import chosen_wallet, typed_won
from dongne.entrypoints.web.csrf import PageForm
from dongne.entrypoints.web.pages import application, citizen_of, now, render, speaker_of
from dongne.services import gifts, purchases, refunds, resources, wallet_pages
from dongne.services.idempotency import caller_scope, scoped_key

router = APIRouter(include_in_schema=False, route_class=pages.WebRoute)

GIFT_FIELDS = ("to_phone", "gift_won")
PLACE_OF_CODE = {
    # Gift refusals that name no field, placed beside the field the citizen can change.
    "GIFT_NOT_ALLOWED": "to_phone",
    "INSUFFICIENT_BALANCE": "gift_won",
    "GIFT_SEND_LIMIT_EXCEEDED": "gift_won",
    "GIFT_RECEIVE_LIMIT_EXCEEDED": "gift_won",
    "HOLDING_LIMIT_EXCEEDED": "gift_won",
    "INVALID_AMOUNT": "gift_won",
}


class GiftForm(PageForm):
    to_phone: str = ""
    gift_won: str = ""


def _key(caller: Principal, action: str, nonce: str) -> str:
    return scoped_key(action, caller_scope(caller), f"web:{nonce}")


def refusal_text(request: Request, refusal: DongneError | None) -> str | None:
    """A rule's refusal in the page's words, with its figures (for a template to show)."""
    if refusal is None:
        return None
    return pages.message_of(refusal, "form", speaker_of(request))


# Gifts -----------------------------------------------------------------------------------


@router.get("/wallet/gift")
def gift_page(request: Request, wallet: int | None = None, sent: str = "") -> Response:
    caller = citizen_of(request)
    wallet_id, _ = chosen_wallet(request, caller, wallet)
    return _gift_form(request, caller, wallet_id, typed={}, errors={}, sent=bool(sent))


@router.post("/wallet/gift")
def send_gift(
    request: Request, form: Annotated[GiftForm, Form()], wallet: int | None = None
) -> Response:
    """As the API's gift route: the recipient is found by phone in the sender's region."""
    caller = citizen_of(request)
    wallet_id, _ = chosen_wallet(request, caller, wallet)
    typed = {"to_phone": form.to_phone, "gift_won": form.gift_won}
    token = pages.form_token(request, form.csrf_token)
    if token is None:
        errors = pages.form_expired(request)
        return _gift_form(request, caller, wallet_id, typed=typed, errors=errors, status=400)
    app = application(request)
    try:
        gift_won = typed_won(form.gift_won, field="gift_won")
        sender = resources.wallet_to_act_on(app.reader(), caller, wallet_id)
        receiver = resources.gift_recipient_wallet(app.reader(), form.to_phone, sender.region_id)
        gifts.send_gift(
            app.unit_of_work(),
            sender_wallet_id=wallet_id,
            receiver_wallet_id=receiver,
            amount_won=gift_won,
            idempotency_key=_key(caller, "gift", token.nonce),
            now=now(),
        )
    except DongneError as refused:
        place = PLACE_OF_CODE.get(refused.code)
        errors = pages.errors_of(refused, GIFT_FIELDS, speaker_of(request), field=place)
        status = pages.status_for(refused)
        return _gift_form(request, caller, wallet_id, typed=typed, errors=errors, status=status)
    return RedirectResponse(f"/wallet/gift?wallet={wallet_id}&sent=1", status_code=303)


def _gift_form(
    request: Request,
    caller: Principal,
    wallet_id: int,
    *,
    typed: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
    sent: bool = False,
) -> Response:
    outlook = wallet_pages.gift_outlook(
        application(request).reader(), caller, wallet_id=wallet_id, now=now()
    )
    context = {
        "outlook": outlook,
        "wallet_id": wallet_id,
        "typed": typed,
        "errors": errors,
        "sent": sent,
    }
    return render(request, "gift.html", context, status=status, principal=caller)


# Cancelling a purchase -------------------------------------------------------------------


@router.get("/wallet/purchases/{purchase_id}")
def purchase_page(request: Request, purchase_id: int, cancelled: str = "") -> Response:
    """A purchase, and its cancellation: the button, or the rule's reason why not."""
    caller = citizen_of(request)
    return _purchase_page(request, caller, purchase_id, cancelled=bool(cancelled), errors={})


@router.post("/wallet/purchases/{purchase_id}/cancel")
def cancel_purchase(
    request: Request, purchase_id: int, form: Annotated[PageForm, Form()]
) -> Response:
    caller = citizen_of(request)
    token = pages.form_token(request, form.csrf_token)
    if token is None:
        errors = pages.form_expired(request)
        return _purchase_page(request, caller, purchase_id, errors=errors, status=400)
    app = application(request)
    try:
        purchase = resources.purchase_of_caller(app.reader(), caller, purchase_id)
        resources.wallet_to_act_on(app.reader(), caller, purchase.wallet_id)
        purchases.cancel_purchase(
            app.unit_of_work(),
            purchase_id=purchase_id,
            idempotency_key=_key(caller, "cancel-purchase", token.nonce),
            now=now(),
        )
    except DongneError as refused:
        if pages.status_for(refused) == 404:
            raise
        errors = pages.errors_of(refused, (), speaker_of(request))
        status = pages.status_for(refused)
        return _purchase_page(request, caller, purchase_id, errors=errors, status=status)
    target = f"/wallet/purchases/{purchase_id}?cancelled=1"
    return RedirectResponse(target, status_code=303)


def _purchase_page(
    request: Request,
    caller: Principal,
    purchase_id: int,
    *,
    errors: dict[str, str],
    status: int = 200,
    cancelled: bool = False,
) -> Response:
    standing = wallet_pages.purchase_standing(
        application(request).reader(), caller, purchase_id, now=now()
    )
    context = {
        "standing": standing,
        "purchase": standing.purchase,
        "wallet_id": standing.purchase.wallet_id,
        "refusal": refusal_text(request, standing.refusal),
        "cancelled": cancelled,
        "errors": errors,
    }
    return render(request, "purchase.html", context, status=status, principal=caller)


# Balance refunds -------------------------------------------------------------------------


@router.get("/wallet/refund")
def refund_page(request: Request, wallet: int | None = None) -> Response:
    caller = citizen_of(request)
    wallet_id, _ = chosen_wallet(request, caller, wallet)
    return _refund_page(request, caller, wallet_id, errors={})


@router.post("/wallet/refund")
def refund_balance(
    request: Request, form: Annotated[PageForm, Form()], wallet: int | None = None
) -> Response:
    caller = citizen_of(request)
    wallet_id, _ = chosen_wallet(request, caller, wallet)
    token = pages.form_token(request, form.csrf_token)
    if token is None:
        return _refund_page(
            request, caller, wallet_id, errors=pages.form_expired(request), status=400
        )
    app = application(request)
    try:
        resources.wallet_to_act_on(app.reader(), caller, wallet_id)
        refunds.refund_balance(
            app.unit_of_work(),
            wallet_id=wallet_id,
            idempotency_key=_key(caller, "refund", token.nonce),
            now=now(),
        )
    except DongneError as refused:
        errors = pages.errors_of(refused, (), speaker_of(request))
        status = pages.status_for(refused)
        return _refund_page(request, caller, wallet_id, errors=errors, status=status)
    target = f"/wallet/history?wallet={wallet_id}&kind=refund&refunded=1"
    return RedirectResponse(target, status_code=303)


def _refund_page(
    request: Request,
    caller: Principal,
    wallet_id: int,
    *,
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    outlook = wallet_pages.refund_outlook(
        application(request).reader(), caller, wallet_id=wallet_id, now=now()
    )
    context: dict[str, Any] = {
        "outlook": outlook,
        "refusal": refusal_text(request, outlook.refusal),
        "wallet_id": wallet_id,
        "errors": errors,
    }
    return render(request, "refund.html", context, status=status, principal=caller)
