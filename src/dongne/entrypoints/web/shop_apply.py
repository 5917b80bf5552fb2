"""Applying to join a region as a merchant (``/shop/apply``): the public application form,
no log-in needed, as the API's ``POST /regions/{id}/merchant_applications`` takes it.

The form's fields are the API's request model's (``NewApplication``), and what is typed is
checked by that model before ``merchant_applications.apply_for_merchant`` checks it again as
the API's body is: one list of fields, one set of rules. A refusal comes back as the form with
what was typed (never the password) and the message beside its field.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from dongne.domain.access import MIN_PASSWORD_LENGTH
from dongne.domain.errors import DongneError, InvalidInput, RegionNotFound
from dongne.domain.merchants import CATEGORIES
from dongne.entrypoints.api.v1.merchant_applications import NewApplication
from dongne.entrypoints.web import pages
from dongne.entrypoints.web.citizen import typed_won
from dongne.entrypoints.web.pages import application, now, render, speaker_of
from dongne.services import merchant_applications, resources

router = APIRouter(include_in_schema=False, route_class=pages.WebRoute)

REGIONS_SHOWN = 200
APPLICATION_FIELDS = tuple(NewApplication.model_fields)
FIELDS = ("region_code", *APPLICATION_FIELDS)
SECRET_FIELDS = frozenset({"owner_password"})
"""Never written back into the page."""
OPTIONAL_FIELDS = frozenset({"phone", "owner_login", "owner_password"})
"""Left empty, they are not given (``None``), as a body that leaves them out."""
PLACE_OF_CODE = {
    # Errors that name no field, placed beside the field the applicant can fix.
    "INVALID_BUSINESS_NUMBER": "business_number",
    "MERCHANT_APPLICATION_PENDING": "business_number",
    "MERCHANT_BANNED": "business_number",
    "ALREADY_EXISTS": "business_number",
}
REFUSALS = (
    # What ``pages.message_of`` says beside each field, by the refusal's code; named here so
    # the catalog test checks both languages have them.
    "error:INVALID_BUSINESS_NUMBER",
    "error:MERCHANT_APPLICATION_PENDING",
    "error:MERCHANT_BANNED",
    "error:ALREADY_EXISTS:business_number",
    "error:ALREADY_EXISTS:owner_login",
    "error:INVALID_INPUT:business_number",
    "error:INVALID_INPUT:category",
    "error:INVALID_INPUT:address",
    "error:INVALID_INPUT:annual_revenue_won",
    "error:INVALID_INPUT:shop_phone",
    "error:INVALID_BANK_ACCOUNT:bank_code",
    "error:INVALID_BANK_ACCOUNT:bank_account_number",
    "error:INVALID_BANK_ACCOUNT:bank_account_holder",
    "error:INVALID_INPUT:owner_login",
    "error:INVALID_INPUT:owner_password",
)


@router.get("/shop/apply")
def application_page(request: Request, sent: str = "", region: str = "") -> Response:
    """The form, its region chosen when a link names one (``?region=<code>``)."""
    typed = {"region_code": region} if region else {}
    return _application_form(request, typed=typed, errors={}, sent=bool(sent))


@router.post("/shop/apply")
async def apply(request: Request) -> Response:
    """The form is read here (its fields are the API model's, not a class of our own), and
    the application is taken on a worker thread, as FastAPI runs a plain ``def`` route."""
    submitted = await request.form()
    typed = {name: _text(submitted.get(name)) for name in FIELDS}
    token = _text(submitted.get("csrf_token"))
    return await run_in_threadpool(_apply, request, typed, token)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _apply(request: Request, typed: dict[str, str], token: str) -> Response:
    kept = {name: value for name, value in typed.items() if name not in SECRET_FIELDS}
    if pages.form_token(request, token) is None:
        errors = pages.form_expired(request)
        return _application_form(request, typed=kept, errors=errors, status=400)
    app = application(request)
    try:
        region_id = _region_id(request, typed["region_code"])
        body = _checked_body(typed)
        merchant_applications.apply_for_merchant(
            app.unit_of_work(), app.secrets, region_id=region_id, now=now(), **body.model_dump()
        )
    except DongneError as refused:
        errors = _errors(request, refused)
        return _application_form(
            request, typed=kept, errors=errors, status=pages.status_for(refused)
        )
    return RedirectResponse("/shop/apply?sent=1", status_code=303)


def _checked_body(typed: dict[str, str]) -> NewApplication:
    """The typed form as the API's body: the revenue a number of won, empty optional fields
    left out; the model's first refusal is an ``InvalidInput`` naming its field."""
    values: dict[str, Any] = {
        name: (typed[name] or None) if name in OPTIONAL_FIELDS else typed[name]
        for name in APPLICATION_FIELDS
    }
    values["annual_revenue_won"] = typed_won(
        typed["annual_revenue_won"], field="annual_revenue_won"
    )
    try:
        return NewApplication.model_validate(values)
    except ValidationError as refused:
        first = refused.errors()[0]
        raise InvalidInput(first["msg"], field=str(first["loc"][0])) from None


def _errors(request: Request, refused: DongneError) -> dict[str, str]:
    speaker = speaker_of(request)
    named = refused.details.get("field")
    if named == "password":  # the owner's password, checked as every password is
        named = "owner_password"
    place = named or PLACE_OF_CODE.get(refused.code)
    if place == "phone" and refused.code == "INVALID_INPUT":
        # The shop's phone, which may be a landline: not the citizen's mobile number.
        return {"phone": speaker.gettext("error:INVALID_INPUT:shop_phone")}
    return pages.errors_of(refused, FIELDS, speaker, field=place)


def _region_id(request: Request, code: str) -> int:
    for region in _regions(request):
        if region.code == code:
            region_id: int = region.id
            return region_id
    raise RegionNotFound("choose a region", field="region_code")


def _regions(request: Request) -> list[Any]:
    return resources.regions_page(application(request).reader(), after_id=None, fetch=REGIONS_SHOWN)


def _application_form(
    request: Request,
    *,
    typed: dict[str, str],
    errors: dict[str, str],
    sent: bool = False,
    status: int = 200,
) -> Response:
    context = {
        "typed": typed,
        "errors": errors,
        "sent": sent,
        "regions": _regions(request),
        "categories": CATEGORIES,
        "password_minimum": MIN_PASSWORD_LENGTH,
    }
    # A public page: no one's menu, whoever is logged in on this browser.
    return render(request, "shop_apply.html", context, status=status)
