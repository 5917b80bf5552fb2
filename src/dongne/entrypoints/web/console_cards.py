"""The console's cards (``/console/cards``): the region's card-type vouchers, physical and
virtual, with the wallet each pays from, filterable by status; and blocking, unblocking or
reporting one lost.

The same services as the API's ``/cards/{id}/block``, ``unblock`` and ``lost`` routes: any
official of the region reads; changing a card takes the operator role (a 403 page below it),
and a card of another region is a 404 page. A card's change is money-adjacent (a lost card
must stop paying at once), so each press runs once: the form token's nonce is its
idempotency key, and a double click changes the card once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from dongne.domain.access import OfficialRole, Principal
from dongne.domain.cards import CardStatus
from dongne.domain.errors import DongneError
from dongne.entrypoints.web import pages
from dongne.entrypoints.web.console import console_page, may, official_region
from dongne.entrypoints.web.csrf import PageForm
from dongne.entrypoints.web.pages import application, now, speaker_of
from dongne.services import cards
from dongne.services.cards import CardView

router = APIRouter(include_in_schema=False, route_class=pages.WebRoute)

STATUSES = tuple(status.value for status in CardStatus)
CHANGES = {"block": "blocked", "unblock": "unblocked", "lost": "reported-lost"}
"""Each action's path and the notice its done page shows (``done:card-<notice>``)."""
REFUSALS = ("error:CARD_STATUS_CHANGE_NOT_ALLOWED",)
"""What ``pages.message_of`` says for this page's refusals (the catalog test checks them)."""


def _cards(request: Request, caller: Principal, region_id: int, status: str) -> list[CardView]:
    app = application(request)
    wanted = CardStatus(status) if status in STATUSES else None
    return cards.cards(app.reader(), app.secrets, caller=caller, region_id=region_id, status=wanted)


@router.get("/console/cards")
def cards_page(request: Request, status: str = "", done: str = "") -> Response:
    caller, region_id = official_region(request)
    shown = status if status in STATUSES else ""
    notice = done if done in CHANGES.values() else ""
    return _listing(request, caller, region_id, shown, notice=notice)


def _listing(
    request: Request,
    caller: Principal,
    region_id: int,
    status: str,
    *,
    notice: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "cards": _cards(request, caller, region_id, status),
        "status": status,
        "statuses": STATUSES,
        "notice": notice,
        "errors": errors or {},
        "may_act": may(caller, region_id, OfficialRole.OPERATOR),
    }
    return console_page(request, "console_cards.html", "cards", caller, context, status=status_code)


@router.post("/console/cards/{card_id}/block")
def block(request: Request, card_id: int, form: Annotated[PageForm, Form()]) -> Response:
    return _change(request, card_id, form, "block")


@router.post("/console/cards/{card_id}/unblock")
def unblock(request: Request, card_id: int, form: Annotated[PageForm, Form()]) -> Response:
    return _change(request, card_id, form, "unblock")


@router.post("/console/cards/{card_id}/lost")
def report_lost(request: Request, card_id: int, form: Annotated[PageForm, Form()]) -> Response:
    return _change(request, card_id, form, "lost")


def _change(request: Request, card_id: int, form: PageForm, action: str) -> Response:
    caller, region_id = official_region(request)
    app = application(request)
    # Another region's card (or none) is a 404 page before anything is read from the form.
    cards.card(app.reader(), app.secrets, caller=caller, card_id=card_id)
    token = pages.form_token(request, form.csrf_token)
    if token is None:
        errors = pages.form_expired(request)
        return _listing(request, caller, region_id, "", errors=errors, status_code=400)
    change = {
        "block": cards.block_card,
        "unblock": cards.unblock_card,
        "lost": cards.report_card_lost,
    }[action]
    try:
        change(
            app.unit_of_work(),
            app.secrets,
            caller=caller,
            card_id=card_id,
            # One page's token serves each card's buttons: the card is part of the key.
            idempotency_key=f"web:{token.nonce}:{card_id}",
            now=now(),
        )
    except DongneError as refused:
        errors = pages.errors_of(refused, (), speaker_of(request))
        code = pages.status_for(refused)
        return _listing(request, caller, region_id, "", errors=errors, status_code=code)
    return RedirectResponse(f"/console/cards?done={CHANGES[action]}", status_code=303)
