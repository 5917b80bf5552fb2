"""Pages anyone may open, without logging in: the log's transparency page and the merchant
directory of each region.

The transparency page shows what the log serves (its latest checkpoint and cosigners, its
growth, its keys) and checks a pasted receipt as ``dongne log verify-receipt`` does. The
directory is a plain list searched by name and category, and a map of the listed merchants
that have coordinates: ``static/map.js`` reads them from the list's data attributes and draws
them with Leaflet (served from its PyPI package) over the configured tiles
(``DONGNE_MAP_TILES_URL``; none, a blank background). Without script the list is the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from dongne.domain.errors import DongneError
from dongne.domain.merchants import CATEGORIES
from dongne.entrypoints.web import pages
from dongne.entrypoints.web.csrf import PageForm
from dongne.entrypoints.web.pages import application, render, speaker_of
from dongne.services import directory, transparency
from dongne.services.transparency import GrowthPoint, ReceiptCheck

router = APIRouter(include_in_schema=False, route_class=pages.WebRoute)

RECEIPT_FIELDS = ("receipt",)
RECEIPT_REFUSALS = (
    # What ``pages.message_of`` says beside the field, by the refusal's code; named here so
    # the catalog test checks both languages have them.
    "error:MALFORMED_LOG_DATA:receipt",
    "error:MALFORMED_LEAF:receipt",
    "error:SIGNATURE_INVALID:receipt",
    "error:PROOF_INVALID:receipt",
    "error:VERIFICATION_FAILED:receipt",
)
GROWTH_ROWS_LISTED = 10
CHART_WIDTH = 600
CHART_HEIGHT = 160
CHART_MARGIN = 8


class ReceiptForm(PageForm):
    receipt: str = ""


# The transparency page -------------------------------------------------------------------


@dataclass(frozen=True)
class GrowthChart:
    """The tree size over time as an SVG polyline (drawn by the template, no script)."""

    width: int
    height: int
    points: str
    first_size: int
    last_size: int


def growth_chart(growth: tuple[GrowthPoint, ...]) -> GrowthChart | None:
    """One step along x per checkpoint, oldest left, and the size along y from zero; None
    with fewer than two checkpoints. Steps rather than clock time: checkpoints come in bursts
    (a second apart while busy, hours apart at night), which time would squeeze into a wall;
    the table beside the chart gives their times."""
    if len(growth) < 2:  # a line needs two points
        return None
    top = max(point.tree_size for point in growth) or 1
    step = (CHART_WIDTH - 2 * CHART_MARGIN) / (len(growth) - 1)
    inner_height = CHART_HEIGHT - 2 * CHART_MARGIN
    coordinates = [
        (CHART_MARGIN + step * order, CHART_MARGIN + inner_height * (1 - point.tree_size / top))
        for order, point in enumerate(growth)
    ]
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in coordinates)
    return GrowthChart(CHART_WIDTH, CHART_HEIGHT, points, growth[0].tree_size, growth[-1].tree_size)


@router.get("/transparency")
def transparency_page(request: Request) -> Response:
    return _transparency(request, typed={}, errors={}, checked=None)


@router.post("/transparency")
def verify_receipt(request: Request, form: Annotated[ReceiptForm, Form()]) -> Response:
    app = application(request)
    typed = {"receipt": form.receipt}
    if pages.form_token(request, form.csrf_token) is None:
        errors = pages.form_expired(request)
        return _transparency(request, typed=typed, errors=errors, checked=None, status=400)
    try:
        checked = transparency.check_receipt(
            form.receipt,
            log_key=app.log_verifier(),
            witnesses=app.witness_verifiers(),
            quorum=app.settings.log_witness_quorum,
        )
    except DongneError as refused:
        errors = pages.errors_of(refused, RECEIPT_FIELDS, speaker_of(request), field="receipt")
        return _transparency(
            request,
            typed=typed,
            errors=errors,
            checked=None,
            refusal=refused.message,
            status=pages.status_for(refused),
        )
    return _transparency(request, typed=typed, errors={}, checked=checked)


def _transparency(
    request: Request,
    *,
    typed: dict[str, str],
    errors: dict[str, str],
    checked: ReceiptCheck | None,
    refusal: str | None = None,
    status: int = 200,
) -> Response:
    app = application(request)
    overview = transparency.log_overview(
        app.reader(),
        log_key=app.log_verifier(),
        witnesses=app.witness_verifiers(),
        quorum=app.settings.log_witness_quorum,
    )
    context = {
        "overview": overview,
        "chart": growth_chart(overview.growth),
        "recent_growth": list(reversed(overview.growth))[:GROWTH_ROWS_LISTED],
        "checked": checked,
        "refusal": refusal,
        "typed": typed,
        "errors": errors,
    }
    return render(request, "transparency.html", context, status=status)


# The merchant directory ------------------------------------------------------------------


@router.get("/directory")
def regions_page(request: Request) -> Response:
    regions = directory.public_regions(application(request).reader())
    return render(request, "directory_regions.html", {"regions": regions})


@router.get("/directory/{region_code}")
def region_directory_page(
    request: Request, region_code: str, q: str = "", category: str = ""
) -> Response:
    app = application(request)
    listed = directory.region_directory(app.reader(), region_code, name=q, category=category)
    origin = tile_origin(app.settings.map_tiles_url)
    context = {
        "directory": listed,
        "typed": {"q": q, "category": category},
        "tiles_url": app.settings.map_tiles_url if origin else "",
        "tiles_attribution": app.settings.map_tiles_attribution,
        "category_names": category_names(speaker_of(request).language),
    }
    headers = pages.headers_with_images_from(origin) if origin else pages.HEADERS
    return render(request, "directory.html", context, headers=headers)


def category_names(language: str) -> dict[str, str]:
    """What a shop's category is called: the domain's Korean names, or in English the code's
    words (``traditional_market``: traditional market)."""
    if language == "ko":
        return dict(CATEGORIES)
    return {code: code.replace("_", " ") for code in CATEGORIES}


def tile_origin(tiles_url: str) -> str | None:
    """The tile server's origin, as the page's Content-Security-Policy names it; a
    ``{s}.`` subdomain template becomes CSP's ``*.`` wildcard. None without tiles."""
    if not tiles_url:
        return None
    parts = urlsplit(tiles_url)
    host = parts.netloc.removeprefix("{s}.")
    wildcard = "*." if host != parts.netloc else ""
    if "{" in host or "}" in host:  # a template CSP cannot name: show no tiles, rather than any
        return None
    return f"{parts.scheme}://{wildcard}{host}"
