"""The citizen's wallet pages: the balance with its wallet switcher, opening a wallet in
another region, the history with its filters, walking points, and the sale's line.

Every page is about one wallet, ``?wallet=ID`` (the first one when absent); another
citizen's wallet is a page not found. Pages that only show things read through a read-only
unit of work. Opening a wallet is a form with its token, whose nonce is the idempotency key,
and redirects (POST, redirect, GET); the sale's line is a form too, because taking or
keeping a place in it changes the line, which a GET must never do.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from dongne.domain.access import Principal
from dongne.domain.errors import DongneError, InvalidInput, RegionNotFound
from dongne.entrypoints.web import pages
from dongne.entrypoints.web.citizen import chosen_wallet
from dongne.entrypoints.web.csrf import PageForm
from dongne.entrypoints.web.pages import application, citizen_of, now, render, speaker_of
from dongne.services import citizen_pages, registry, resources, sale_queue, wallet_pages
from dongne.services.idempotency import caller_scope, scoped_key

router = APIRouter(include_in_schema=False, route_class=pages.WebRoute)

HISTORY_PAGE_SIZE = 20
HISTORY_FIELDS = ("kind", "first_day", "last_day")
OPEN_WALLET_FIELDS = ("region_code",)


class OpenWalletForm(PageForm):
    region_code: str = ""


# The balance -----------------------------------------------------------------------------


@router.get("/wallet")
def wallet_page(
    request: Request, wallet: int | None = None, purchase: int | None = None
) -> Response:
    caller = citizen_of(request)
    app = application(request)
    wallet_id, _ = chosen_wallet(request, caller, wallet)
    overview = citizen_pages.wallet_overview(app.reader(), caller, wallet_id=wallet_id, now=now())
    bought = resources.purchase_of_caller(app.reader(), caller, purchase) if purchase else None
    context = {
        "overview": overview,
        "wallets": wallet_pages.wallet_choices(app.reader(), caller),
        "bought": bought,
        "wallet_id": wallet_id,
    }
    return render(request, "wallet.html", context, principal=caller)


# Opening a wallet in another region ------------------------------------------------------


@router.get("/wallet/regions")
def open_wallet_page(request: Request) -> Response:
    caller = citizen_of(request)
    return _open_wallet_form(request, caller, typed={}, errors={})


@router.post("/wallet/regions")
def open_wallet(request: Request, form: Annotated[OpenWalletForm, Form()]) -> Response:
    """A wallet in the chosen region, as the CLI and the demo open one (``registry``)."""
    caller = citizen_of(request)
    app = application(request)
    typed = {"region_code": form.region_code}
    token = pages.form_token(request, form.csrf_token)
    if token is None:
        errors = pages.form_expired(request)
        return _open_wallet_form(request, caller, typed=typed, errors=errors, status=400)
    try:
        opened = registry.open_wallet(
            app.unit_of_work(),
            citizen_id=caller.citizen(),
            region_id=_region_to_open(request, caller, form.region_code),
            idempotency_key=scoped_key("open-wallet", caller_scope(caller), f"web:{token.nonce}"),
            now=now(),
        )
    except DongneError as refused:
        place = "region_code"
        errors = pages.errors_of(refused, OPEN_WALLET_FIELDS, speaker_of(request), field=place)
        status = pages.status_for(refused)
        return _open_wallet_form(request, caller, typed=typed, errors=errors, status=status)
    return RedirectResponse(f"/wallet?wallet={opened.wallet_id}", status_code=303)


def _region_to_open(request: Request, caller: Principal, code: str) -> int:
    for region in wallet_pages.regions_to_open(application(request).reader(), caller):
        if region.code == code:
            region_id: int = region.id
            return region_id
    raise RegionNotFound("choose a region", field="region_code")


def _open_wallet_form(
    request: Request,
    caller: Principal,
    *,
    typed: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    reader = application(request).reader
    context = {
        "regions": wallet_pages.regions_to_open(reader(), caller),
        "wallets": wallet_pages.wallet_choices(reader(), caller),
        "typed": typed,
        "errors": errors,
    }
    return render(request, "wallet_regions.html", context, status=status, principal=caller)


# History ---------------------------------------------------------------------------------


@router.get("/wallet/history")
def history_page(
    request: Request,
    *,
    wallet: int | None = None,
    before: int | None = None,
    kind: str = "",
    first_day: str = "",
    last_day: str = "",
    refunded: str = "",
) -> Response:
    """The history, filtered by the query (a GET form: a filter is an address to keep)."""
    caller = citizen_of(request)
    wallet_id, _ = chosen_wallet(request, caller, wallet)
    typed = {"kind": kind, "first_day": first_day, "last_day": last_day}
    context: dict[str, Any] = {
        "wallet_id": wallet_id,
        "kinds": list(wallet_pages.HISTORY_KINDS),
        "typed": typed,
        "refunded": bool(refunded),
        "lines": [],
        "older": None,
        "filter_query": urlencode({name: value for name, value in typed.items() if value}),
    }
    try:
        chosen = wallet_pages.HistoryFilter(
            kind=kind or None,
            first_day=_typed_day(first_day, field="first_day"),
            last_day=_typed_day(last_day, field="last_day"),
        )
        rows = wallet_pages.filtered_history(
            application(request).reader(),
            caller,
            wallet_id,
            chosen,
            before_id=before,
            fetch=HISTORY_PAGE_SIZE + 1,
        )
    except InvalidInput as refused:
        context["errors"] = pages.errors_of(refused, HISTORY_FIELDS, speaker_of(request))
        return render(request, "history.html", context, status=400, principal=caller)
    context["lines"] = rows[:HISTORY_PAGE_SIZE]
    if len(rows) > HISTORY_PAGE_SIZE:
        context["older"] = rows[HISTORY_PAGE_SIZE - 1].entry_id
    return render(request, "history.html", context, principal=caller)


def _typed_day(text: str, *, field: str) -> date | None:
    """A day as a date input sends it (YYYY-MM-DD), or None when left empty."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{field} must be a day as YYYY-MM-DD", field=field) from None


# Walking points --------------------------------------------------------------------------


@router.get("/wallet/walking")
def walking_page(request: Request, wallet: int | None = None) -> Response:
    caller = citizen_of(request)
    wallet_id, _ = chosen_wallet(request, caller, wallet)
    walking = wallet_pages.walking_page(
        application(request).reader(), caller, wallet_id=wallet_id, now=now()
    )
    context = {"walking": walking, "wallet_id": wallet_id}
    return render(request, "wallet_walking.html", context, principal=caller)


# The sale's line -------------------------------------------------------------------------


@router.get("/wallet/queue")
def queue_page(request: Request, wallet: int | None = None) -> Response:
    """The line's page before joining it: joining changes the line, so it takes a POST."""
    caller = citizen_of(request)
    wallet_id, _ = chosen_wallet(request, caller, wallet)
    context = {"wallet_id": wallet_id, "place": None}
    return render(request, "queue.html", context, principal=caller)


@router.post("/wallet/queue")
def take_place_in_line(
    request: Request, form: Annotated[PageForm, Form()], wallet: int | None = None
) -> Response:
    """Take or keep a place in the sale's line, as the API's sale-queue route does. The
    answer is the page itself, not a redirect: asking again is what keeps the place, so a
    reload that asks again does what the citizen wants (the page's script asks on time)."""
    caller = citizen_of(request)
    wallet_id, _ = chosen_wallet(request, caller, wallet)
    context: dict[str, Any] = {"wallet_id": wallet_id, "place": None}
    if pages.form_token(request, form.csrf_token) is None:
        context["errors"] = pages.form_expired(request)
        return render(request, "queue.html", context, status=400, principal=caller)
    app = application(request)
    resources.wallet_to_act_on(app.reader(), caller, wallet_id)
    context["place"] = sale_queue.join_or_poll(
        app.unit_of_work(),
        wallet_id=wallet_id,
        clock=now,
        policy=sale_queue.sale_queue_policy(app.settings),
    )
    return render(request, "queue.html", context, principal=caller)
