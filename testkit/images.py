"""Images the tests make: real photos re-encoded, pasted together, or forged headers."""
from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def jpeg(image: Image.Image, **save: object) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, **save)
    return out.getvalue()


def side_by_side(*images: Image.Image) -> Image.Image:
    """A real group photo stand-in: real face photos pasted next to each other."""
    height = max(im.height for im in images)
    canvas = Image.new("RGB", (sum(im.width for im in images), height), "white")
    x = 0
    for im in images:
        canvas.paste(im.convert("RGB"), (x, 0))
        x += im.width
    return canvas


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that claims to be width x height: the classic decompression bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
