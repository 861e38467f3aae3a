"""Photo processing the way Telegram does it: every photo becomes a ladder of JPEG sizes."""

from __future__ import annotations

import functools
import io

from PIL import Image, ImageOps, UnidentifiedImageError

#: Longer-side targets of Telegram's thumbnails (s, m, x, y); the last size is the photo
#: itself, re-encoded and capped at 2560 (w).
THUMB_SIDES: tuple[int, ...] = (90, 320, 800, 1280)
MAX_SIDE = 2560
JPEG_QUALITY = 87


class PhotoError(ValueError):
    """Raised for bytes Telegram would refuse as a photo; the message is Telegram's."""


@functools.lru_cache(maxsize=32)
def photo_sizes(data: bytes) -> tuple[tuple[int, int, bytes], ...]:
    """(width, height, jpeg) for each size, smallest first.

    Cached on the input bytes because load tests send the same picture hundreds of times.
    EXIF orientation is applied and dropped, as Telegram clients do before uploading.
    """
    try:
        with Image.open(io.BytesIO(data)) as opened:
            image = ImageOps.exif_transpose(opened)
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise PhotoError("Bad Request: IMAGE_PROCESS_FAILED") from exc
    width, height = image.size
    if width + height > 10000 or max(width, height) > 20 * min(width, height):
        raise PhotoError("Bad Request: PHOTO_INVALID_DIMENSIONS")
    if image.mode != "RGB":
        background = Image.new("RGB", image.size, "white")
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    longer = max(width, height)
    sides = [s for s in THUMB_SIDES if s < longer] + [min(longer, MAX_SIDE)]
    out = []
    for side in sides:
        scale = side / longer
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        resized = image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        resized.save(buf, "JPEG", quality=JPEG_QUALITY)
        out.append((size[0], size[1], buf.getvalue()))
    return tuple(out)


@functools.lru_cache(maxsize=1)
def sticker_bytes() -> bytes:
    """A small real WebP, so a bot that downloads a sticker gets an image."""
    buf = io.BytesIO()
    Image.new("RGBA", (512, 512), (255, 200, 0, 255)).save(buf, "WEBP")
    return buf.getvalue()
