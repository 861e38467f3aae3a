"""Decoding: every mode to RGB, hostile bytes to typed refusals (no models needed)."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from testkit.images import png_header_only
from worker.decode import ImageRejected, decode_image
from worker.outcome import Outcome

LIMITS = {"max_pixels": 40_000_000, "max_bytes": 20 * 1024 * 1024}


def encode(image: Image.Image, fmt: str, **kw: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **kw)
    return out.getvalue()


def refused(data: bytes, **limits: int) -> Outcome:
    with pytest.raises(ImageRejected) as info:
        decode_image(data, **{**LIMITS, **limits})
    return info.value.outcome


def test_empty_corrupt_and_truncated_bytes_are_not_images(photo):
    assert refused(b"") is Outcome.NOT_AN_IMAGE
    assert refused(b"this is a text file, not a photo") is Outcome.NOT_AN_IMAGE
    assert refused(photo("obama.jpg")[:2000]) is Outcome.NOT_AN_IMAGE
    assert refused(b"\xff\xd8\xff\xe0" + bytes(5000)) is Outcome.NOT_AN_IMAGE


def test_decompression_bomb_is_refused_from_the_header():
    bomb = png_header_only(100_000, 100_000)
    assert len(bomb) < 2000
    assert refused(bomb) is Outcome.TOO_LARGE


def test_pixel_and_byte_budgets(photo):
    data = photo("obama.jpg")  # 910 x 1137
    assert refused(data, max_pixels=500_000) is Outcome.TOO_LARGE
    assert refused(data, max_bytes=1000) is Outcome.TOO_LARGE
    assert decode_image(data, **LIMITS).size == (910, 1137)


def test_unsupported_format_is_not_an_image():
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n"
    assert refused(eps) is Outcome.NOT_AN_IMAGE
    heic_like = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(100)
    assert refused(heic_like) is Outcome.NOT_AN_IMAGE


def test_modes_become_rgb_without_clipping():
    gradient = np.tile(np.arange(256, dtype=np.uint16), (16, 1))
    sixteen = Image.fromarray((gradient * 257).astype("<u2"))  # mode I;16
    rgb = np.asarray(decode_image(encode(sixteen, "PNG"), **LIMITS))
    assert rgb.shape == (16, 256, 3)
    assert np.abs(rgb[0, :, 0].astype(int) - np.arange(256)).max() <= 1  # not clipped to white

    cmyk = Image.new("CMYK", (32, 32), (0, 255, 255, 0))  # pure red in CMYK
    red = np.asarray(decode_image(encode(cmyk, "JPEG"), **LIMITS))
    assert red[..., 0].mean() > 200 and red[..., 1].mean() < 60

    transparent = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    white = np.asarray(decode_image(encode(transparent, "PNG"), **LIMITS))
    assert white.min() == 255  # transparent pixels are white, not black

    gray = Image.new("L", (8, 8), 77)
    assert np.asarray(decode_image(encode(gray, "PNG"), **LIMITS)).tolist()[0][0] == [77, 77, 77]

    palette = Image.new("P", (8, 8), 3)
    palette.putpalette([0, 0, 0] * 3 + [10, 20, 30] + [0, 0, 0] * 252)
    assert np.asarray(decode_image(encode(palette, "PNG"), **LIMITS))[0, 0].tolist() == [10, 20, 30]


def test_exif_orientation_is_applied():
    wide = Image.new("RGB", (60, 20), "blue")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    assert decode_image(encode(wide, "JPEG", exif=exif), **LIMITS).size == (20, 60)


def test_animated_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (10, 10), c) for c in ("red", "green")]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    first = np.asarray(decode_image(data, **LIMITS))
    assert first[0, 0, 0] > 200 and first[0, 0, 1] < 50
