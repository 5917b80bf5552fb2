"""Reading a QR code out of a picture: a frame the scan page's camera script sends, or a
photo a phone without the script uploads.

Decoding is parsing input, like reading a form field, so it lives with the pages and not in
the services: the text it finds goes on to ``domain.emvco`` like a typed shop code. No QR
decoder ships on PyPI for the browser, so the server decodes with zxing-cpp (the C++ port of
ZXing) over the pixels Pillow reads. A frame is small (a phone's camera at 640 pixels wide, as
a JPEG), but the upload comes from anyone: its bytes and its pixels are capped before decoding,
so a "decompression bomb" is refused rather than expanded.
"""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image, UnidentifiedImageError

from dongne.domain.errors import InvalidInput

FRAME_BYTES_MAX = 4 * 1024 * 1024
"""A phone photo as JPEG is 1-4 MB; the script's frames are about 50 KB."""

FRAME_PIXELS_MAX = 16_000_000
"""A 16-megapixel photo: more than any phone's default, far below what would exhaust memory."""

FRAME_FIELD = "frame"

QR_CODES = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
"""Only QR codes: a shop's code is one, and skipping the other formats makes decoding faster."""


def qr_texts(picture: bytes) -> list[str]:
    """The text of every QR code in the picture, best first; empty when it shows none.
    Raises ``InvalidInput`` (``field="frame"``) for what is not a picture we read."""
    if not picture:
        raise InvalidInput("no picture was sent", field=FRAME_FIELD)
    if len(picture) > FRAME_BYTES_MAX:
        raise InvalidInput("the picture is too large", field=FRAME_FIELD)
    try:
        with Image.open(io.BytesIO(picture)) as image:
            width, height = image.size
            if width * height > FRAME_PIXELS_MAX:
                raise InvalidInput("the picture has too many pixels", field=FRAME_FIELD)
            grey = image.convert("L")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise InvalidInput("this is not a picture we can read", field=FRAME_FIELD) from error
    found = zxingcpp.read_barcodes(grey, formats=QR_CODES)
    return [barcode.text for barcode in found if barcode.valid and barcode.text]
