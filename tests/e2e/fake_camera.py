"""A fake camera for Chromium: a Y4M video of a QR code, for ``--use-file-for-fake-video-
capture``.

Y4M (YUV4MPEG2) is a one-line text header and raw frames, each ``FRAME\\n`` then the Y, U and
V planes of 4:2:0 (chroma at half width and height). A QR is black and white, so its picture
is all in Y and the chroma planes are neutral grey (128). Chromium loops the file, so a few
identical frames make a camera that holds the code still in front of the lens.
"""

from __future__ import annotations

import io
from pathlib import Path

import segno
from PIL import Image

from dongne.entrypoints.api.qr_images import ERROR_CORRECTION

WIDTH, HEIGHT = 640, 480
FRAMES = 5
NEUTRAL_CHROMA = 128


def qr_picture(text: str) -> Image.Image:
    """The QR as the shop prints it (the API's drawing), on a white 640×480 frame."""
    drawn = io.BytesIO()
    segno.make(text, error=ERROR_CORRECTION).save(drawn, kind="png", scale=6, border=4)
    code = Image.open(drawn).convert("L")
    frame = Image.new("L", (WIDTH, HEIGHT), 255)
    frame.paste(code, ((WIDTH - code.width) // 2, (HEIGHT - code.height) // 2))
    return frame


def write_y4m(path: Path, picture: Image.Image, frames: int = FRAMES) -> Path:
    """``picture`` (greyscale, even width and height) as a still Y4M video."""
    width, height = picture.size
    chroma = bytes([NEUTRAL_CHROMA]) * ((width // 2) * (height // 2))
    frame = b"FRAME\n" + picture.convert("L").tobytes() + chroma + chroma
    header = f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode("ascii")
    path.write_bytes(header + frame * frames)
    return path


def camera_flags(video: Path) -> tuple[str, ...]:
    """Chromium's flags for a camera that shows ``video`` and needs no one to allow it."""
    return (
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    )
