"""Bytes to an upright 8-bit RGB picture, refusing anything hostile early.

The size checks run on the header, before any pixel is decoded, so a 1 KB
decompression bomb costs microseconds, not gigabytes.
"""
from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from worker.outcome import Outcome

# Formats a phone, a browser or Telegram produce. Everything else (EPS, PSD,
# exotic TIFF codecs...) is refused rather than handed to a rarely used decoder.
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "MPO")


class ImageRejected(Exception):
    """The bytes are not a picture we will process; ``outcome`` says why."""

    def __init__(self, outcome: Outcome, detail: str) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail


def decode_image(data: bytes, *, max_pixels: int, max_bytes: int) -> Image.Image:
    """Decode, apply the EXIF orientation (when it can be read) and return an RGB image."""
    if not data:
        raise ImageRejected(Outcome.NOT_AN_IMAGE, "empty file")
    if len(data) > max_bytes:
        raise ImageRejected(Outcome.TOO_LARGE, f"{len(data)} bytes > {max_bytes}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "Corrupt EXIF data" and friends: noise
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
            width, height = image.size
            if width <= 0 or height <= 0:
                raise ImageRejected(Outcome.NOT_AN_IMAGE, "zero-sized image")
            if width * height > max_pixels:
                raise ImageRejected(Outcome.TOO_LARGE, f"{width}x{height} px > {max_pixels}")
            image.load()  # first frame only for animations
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(Outcome.TOO_LARGE, type(exc).__name__) from None
    except UnidentifiedImageError:
        raise ImageRejected(Outcome.NOT_AN_IMAGE, "unknown image format") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError,
            AttributeError, ZeroDivisionError, MemoryError) as exc:
        # Pillow signals corrupt or truncated data with a zoo of exception types.
        raise ImageRejected(Outcome.NOT_AN_IMAGE, f"corrupt image ({type(exc).__name__})") from None
    return to_rgb(upright(image))


# EXIF orientation (1-8) to the transpose that undoes it.
TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
             5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
             8: Image.Transpose.ROTATE_90}
ORIENTATION = 0x0112


def orientation(image: Image.Image) -> int | None:
    """The EXIF orientation if it can be read as one number 1-8, else None.

    Metadata is the least trusted part of a file: wrong types, counts, offsets
    past the end and IFD loops all come from real cameras and editors. None of
    that may cost the user their answer, so any failure here means "upright".
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = image.getexif().get(ORIENTATION)
    except Exception:  # noqa: BLE001 - Pillow's EXIF parser raises anything on bad metadata
        return None
    if type(value) is not int or value not in range(1, 9):
        return None
    return value


def upright(image: Image.Image) -> Image.Image:
    """The pixels turned as the EXIF orientation says, when it can be read; otherwise as stored."""
    method = TRANSPOSE.get(orientation(image))
    if method is None:
        return image
    try:
        return image.transpose(method)
    except (OSError, ValueError, MemoryError):
        return image


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB without clipping or black transparency."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        # Pillow's own convert() clips values above 255 to white; rescale instead.
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") else max(float(array.max()), 255.0)
        gray = np.clip(array * (255.0 / top), 0, 255).astype(np.uint8)
        return Image.fromarray(gray, "L").convert("RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")
