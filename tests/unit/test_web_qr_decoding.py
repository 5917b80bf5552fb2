"""Reading a shop's QR out of a camera frame: the real code as the API draws it, a photo of
nothing, and what is not a picture at all."""

from __future__ import annotations

import io

import pytest
import segno
from PIL import Image

from dongne.domain.emvco import MerchantQr, build_payload, parse_payload
from dongne.domain.errors import InvalidInput
from dongne.entrypoints.api.qr_images import ERROR_CORRECTION
from dongne.entrypoints.web.qr_decoding import FRAME_BYTES_MAX, qr_texts


def shop_payload() -> str:
    return build_payload(MerchantQr.for_merchant(41, name="동네 분식", city="Suwon"))


def camera_frame(payload: str, image_format: str = "JPEG") -> bytes:
    """The QR as a camera sees it: small in a grey 640×480 frame, saved lossy."""
    drawn = io.BytesIO()
    segno.make(payload, error=ERROR_CORRECTION).save(drawn, kind="png", scale=4, border=4)
    frame = Image.new("RGB", (640, 480), (200, 200, 200))
    frame.paste(Image.open(drawn).convert("RGB"), (180, 100))
    saved = io.BytesIO()
    frame.save(saved, image_format, quality=80)  # PNG ignores the quality
    return saved.getvalue()


@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
def test_a_frame_of_a_shops_qr_reads_as_its_payload(image_format: str) -> None:
    payload = shop_payload()
    assert qr_texts(camera_frame(payload, image_format)) == [payload]
    assert parse_payload(qr_texts(camera_frame(payload))[0]).merchant_id == 41


def test_a_frame_without_a_qr_reads_as_nothing() -> None:
    empty = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 120, 150)).save(empty, "JPEG")
    assert qr_texts(empty.getvalue()) == []


@pytest.mark.parametrize(
    "picture", [b"", b"not a picture", b"\xff\xd8\xff" + b"\x00" * 40, b"x" * (FRAME_BYTES_MAX + 1)]
)
def test_what_is_not_a_readable_picture_is_refused_beside_the_scanner(picture: bytes) -> None:
    with pytest.raises(InvalidInput) as refused:
        qr_texts(picture)
    assert refused.value.details["field"] == "frame"


def test_a_picture_of_too_many_pixels_is_refused_before_it_is_decoded() -> None:
    huge = io.BytesIO()
    Image.new("1", (5000, 4000)).save(huge, "PNG")  # a few kilobytes, 20 million pixels
    with pytest.raises(InvalidInput):
        qr_texts(huge.getvalue())
