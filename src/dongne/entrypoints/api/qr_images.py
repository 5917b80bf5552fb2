"""QR code images of a payload, as the API serves them: one drawing for every kind of QR."""

from __future__ import annotations

import io

import segno
from fastapi import Response

ERROR_CORRECTION = "m"
"""Level M (15%): a printed code at a counter survives scuffs and glare, and the EMVCo payload
still fits a small symbol."""


def qr_svg(payload: str) -> str:
    """The code as an inline SVG document, for a page or a print-out."""
    return str(segno.make(payload, error=ERROR_CORRECTION).svg_inline(scale=4))


def qr_png_response(payload: str) -> Response:
    """The code as a PNG image with the quiet zone the standard asks for (4 modules)."""
    image = io.BytesIO()
    segno.make(payload, error=ERROR_CORRECTION).save(image, kind="png", scale=8, border=4)
    return Response(content=image.getvalue(), media_type="image/png")
