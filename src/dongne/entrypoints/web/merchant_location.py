"""The console's page for where a merchant is on the directory's map
(``/console/merchants/{id}/location``): an official of the merchant's region types its
latitude and longitude in, or empties both to take it off the map.

It calls ``merchant_locations`` as the API's ``PUT /merchants/{id}/location`` does; the domain
checks the coordinates, and a pair outside Korea is saved with a warning (most likely the two
were swapped). Another region's merchant is a 404 page, as a missing one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from dongne.domain.access import Principal
from dongne.domain.errors import DongneError
from dongne.domain.places import coordinates, parse_place_or_none
from dongne.entrypoints.web import pages
from dongne.entrypoints.web.csrf import PageForm
from dongne.entrypoints.web.pages import application, official_of, render, speaker_of
from dongne.services import merchant_locations
from dongne.services.ports import MerchantPlace

router = APIRouter(include_in_schema=False, route_class=pages.WebRoute)

LOCATION_FIELDS = ("latitude", "longitude")
LOCATION_REFUSALS = (
    # What ``pages.message_of`` says beside each field; named here for the catalog test.
    "error:INVALID_INPUT:latitude",
    "error:INVALID_INPUT:longitude",
)


class LocationForm(PageForm):
    latitude: str = ""
    longitude: str = ""


@router.get("/console/merchants/{merchant_id}/location")
def location_page(request: Request, merchant_id: int, saved: str = "") -> Response:
    caller = official_of(request)
    place = merchant_locations.merchant_place(
        application(request).reader(), caller, merchant_id=merchant_id
    )
    typed = {
        "latitude": "" if place.latitude is None else f"{place.latitude}",
        "longitude": "" if place.longitude is None else f"{place.longitude}",
    }
    return _location_form(request, caller, place, typed=typed, errors={}, saved=bool(saved))


@router.post("/console/merchants/{merchant_id}/location")
def set_location(
    request: Request, merchant_id: int, form: Annotated[LocationForm, Form()]
) -> Response:
    caller = official_of(request)
    app = application(request)
    place = merchant_locations.merchant_place(app.reader(), caller, merchant_id=merchant_id)
    typed = {"latitude": form.latitude, "longitude": form.longitude}
    if pages.form_token(request, form.csrf_token) is None:
        errors = pages.form_expired(request)
        return _location_form(request, caller, place, typed=typed, errors=errors, status=400)
    try:
        location = parse_place_or_none(form.latitude, form.longitude)
        merchant_locations.place_merchant(
            app.unit_of_work(), caller, merchant_id=merchant_id, location=location
        )
    except DongneError as refused:
        errors = pages.errors_of(refused, LOCATION_FIELDS, speaker_of(request))
        status = pages.status_for(refused)
        return _location_form(request, caller, place, typed=typed, errors=errors, status=status)
    return RedirectResponse(f"/console/merchants/{merchant_id}/location?saved=1", status_code=303)


def _location_form(
    request: Request,
    caller: Principal,
    place: MerchantPlace,
    *,
    typed: dict[str, str],
    errors: dict[str, str],
    saved: bool = False,
    status: int = 200,
) -> Response:
    located = (
        coordinates(place.latitude, place.longitude)
        if place.latitude is not None and place.longitude is not None
        else None
    )
    context = {
        "section": "merchants",
        "place": place,
        "located": located,
        "typed": typed,
        "errors": errors,
        "saved": saved,
    }
    return render(request, "merchant_location.html", context, status=status, principal=caller)
