"""Numbered face boxes on a group photo, so a reply can say "1. ..., 2. ...".

Runs in the worker (it already holds the decoded photo), keeping Pillow work
off the bot's event loop.
"""
from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

MAX_SIDE = 1280  # Telegram shows photos at about this size anyway
COLOURS = ["#ffcc00", "#00d1ff", "#ff4f81", "#7dff4f", "#b57dff"]


def draw_numbered_boxes(image: Image.Image, boxes: list[tuple[int, int, int, int]]) -> bytes:
    """JPEG of the photo (at most MAX_SIDE px) with box i labelled i+1."""
    scale = min(1.0, MAX_SIDE / max(image.size))
    canvas = image.resize((round(image.width * scale), round(image.height * scale)),
                          Image.Resampling.BILINEAR, reducing_gap=2.0) if scale < 1 else image.copy()
    draw = ImageDraw.Draw(canvas)
    line = max(2, round(max(canvas.size) / 300))
    for number, (left, top, right, bottom) in enumerate(boxes, 1):
        colour = COLOURS[(number - 1) % len(COLOURS)]
        box = [round(left * scale), round(top * scale), round(right * scale), round(bottom * scale)]
        draw.rectangle(box, outline=colour, width=line)
        size = max(14, round((box[2] - box[0]) * 0.28))
        font = ImageFont.load_default(size=size)
        label = str(number)
        l, t, r, b = draw.textbbox((0, 0), label, font=font)
        pad = max(2, size // 6)
        x, y = box[0], max(0, box[1] - (b - t) - 2 * pad)
        draw.rectangle([x, y, x + (r - l) + 2 * pad, y + (b - t) + 2 * pad], fill=colour)
        draw.text((x + pad - l, y + pad - t), label, fill="black", font=font)
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=85)
    return out.getvalue()
