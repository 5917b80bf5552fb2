"""Paying by the shop's QR through the phone's camera (``/wallet/scan``).

The page's script (``static/scan.js``) shows the camera and sends a frame about twice a
second to ``/wallet/scan/frame``, which answers in JSON: keep looking, a message to show
beside the camera, or the pay form to go to. A phone without the script (or without a
camera the page may use) sends one photo through the plain form on the same page, which
answers as any form does: the pay form, or the same page with the message beside the photo.

Either way the server reads the QR (``qr_decoding``), reads it as a dongne shop's code
(``domain.emvco``) and finds the shop: a code that names no shop is refused here, beside the
camera, rather than after the amount and PIN are typed. The pay form opens with the code
filled in and the shop's name as the register has it (never the name printed in the QR, which
anyone could forge); the citizen types the amount and the PIN, and pays as with a typed code.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response

from dongne.domain.emvco import parse_payload
from dongne.domain.errors import DongneError, QrInvalid
from dongne.entrypoints.web import pages
from dongne.entrypoints.web.citizen import chosen_wallet
from dongne.entrypoints.web.pages import application, citizen_of, render, speaker_of
from dongne.entrypoints.web.qr_decoding import FRAME_BYTES_MAX, FRAME_FIELD, qr_texts
from dongne.services import resources

router = APIRouter(include_in_schema=False, route_class=pages.WebRoute)

SCAN_FIELDS = (FRAME_FIELD,)


def scanned_shop(request: Request, payload: str) -> str:
    """The name of the shop a QR's text names, as the register has it. Raises ``QrInvalid``
    for what is not a dongne shop's code and ``MerchantNotFound`` for no such shop."""
    merchant_id = parse_payload(payload).merchant_id
    name: str = resources.merchant_row(application(request).reader(), merchant_id).name
    return name


def pay_form_for(wallet_id: int, payload: str) -> str:
    return "/wallet/pay?" + urlencode({"wallet": wallet_id, "code": payload})


class NoQrInFrame(Exception):
    """The frame shows no QR code (yet): the camera keeps looking."""


def _read_frame(request: Request, wallet_id: int, frame: UploadFile | None) -> str:
    """The pay form of the shop in the frame. Raises ``NoQrInFrame`` when it shows no QR."""
    picture = frame.file.read(FRAME_BYTES_MAX + 1) if frame is not None else b""
    texts = qr_texts(picture)
    if not texts:
        raise NoQrInFrame
    refused: DongneError | None = None
    for text in texts:  # a poster may show other codes beside the shop's: take the shop's
        try:
            scanned_shop(request, text)
        except DongneError as error:
            refused = refused or error
            continue
        return pay_form_for(wallet_id, text)
    assert refused is not None  # noqa: S101 - texts is not empty
    raise refused


def _message(request: Request, refused: DongneError) -> str:
    if isinstance(refused, QrInvalid):  # a QR, but not a shop's: say so, not "mistyped"
        return speaker_of(request).gettext("error:QR_INVALID:frame")
    return pages.errors_of(refused, SCAN_FIELDS, speaker_of(request), field=FRAME_FIELD)[
        FRAME_FIELD
    ]


@router.get("/wallet/scan")
def scan_page(request: Request, wallet: int | None = None) -> Response:
    caller = citizen_of(request)
    wallet_id, _ = chosen_wallet(request, caller, wallet)
    return _scan_page(request, wallet_id, errors={})


def _scan_page(
    request: Request, wallet_id: int, *, errors: dict[str, str], status: int = 200
) -> Response:
    caller = citizen_of(request)
    context = {"wallet_id": wallet_id, "errors": errors}
    return render(request, "scan.html", context, status=status, principal=caller)


@router.post("/wallet/scan")
def scan_photo(
    request: Request,
    csrf_token: Annotated[str, Form()] = "",
    frame: Annotated[UploadFile | None, File()] = None,
    wallet: int | None = None,
) -> Response:
    """A photo sent through the plain form: the pay form, or this page with the message."""
    caller = citizen_of(request)
    wallet_id, _ = chosen_wallet(request, caller, wallet)
    if pages.form_token(request, csrf_token) is None:
        expired = pages.form_expired(request)
        return _scan_page(request, wallet_id, errors=expired, status=400)
    try:
        target = _read_frame(request, wallet_id, frame)
    except NoQrInFrame:
        no_qr = {FRAME_FIELD: speaker_of(request).gettext("error:NO_QR:frame")}
        return _scan_page(request, wallet_id, errors=no_qr, status=400)
    except DongneError as refused:
        errors = {FRAME_FIELD: _message(request, refused)}
        return _scan_page(request, wallet_id, errors=errors, status=pages.status_for(refused))
    return RedirectResponse(target, status_code=303)


@router.post("/wallet/scan/frame")
def scan_frame(
    request: Request,
    csrf_token: Annotated[str, Form()] = "",
    frame: Annotated[UploadFile | None, File()] = None,
    wallet: int | None = None,
) -> Response:
    """A frame from the camera script: ``{"next": url}`` once a shop's QR is read,
    ``{"message": text}`` to show beside the camera, ``{}`` to keep looking."""
    caller = citizen_of(request)
    wallet_id, _ = chosen_wallet(request, caller, wallet)
    if pages.form_token(request, csrf_token) is None:
        message = speaker_of(request).gettext("error:FORM_EXPIRED")
        return JSONResponse({"message": message}, status_code=400, headers=pages.HEADERS)
    try:
        target = _read_frame(request, wallet_id, frame)
    except NoQrInFrame:
        return JSONResponse({}, headers=pages.HEADERS)
    except DongneError as refused:
        body = {"message": _message(request, refused)}
        return JSONResponse(body, status_code=pages.status_for(refused), headers=pages.HEADERS)
    return JSONResponse({"next": target}, headers=pages.HEADERS)
