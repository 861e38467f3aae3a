"""The "you and them" card: the user's face beside their lookalike, in one picture.

Made in the worker process (Pillow is CPU work) and in memory only: the
user's face arrives as an aligned chip from the same job that embedded it, or
is cut again from the photo's bytes; nothing is written anywhere. The fonts
are the DejaVu faces that matplotlib ships (Latin, Cyrillic, Greek), found on
disk, never downloaded.
"""
from __future__ import annotations

import functools
import importlib.util
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

WIDTH, HEIGHT = 1080, 640     # Telegram shows photos up to about 1280 px wide; 27:16 fits a phone
PANEL = 420                   # each face is a PANEL x PANEL square
TOP = 96
GAP = 120
CHIP_PADDING = 0.45           # around the aligned face, as a share of its size (dlib.get_face_chip)
BACKGROUND = ((20, 24, 46), (52, 30, 66))
ACCENT = (255, 79, 123)
TEXT = (245, 245, 250)
MUTED = (170, 170, 190)
SYSTEM_FONTS = Path("/usr/share/fonts/truetype/dejavu")


@dataclass(frozen=True)
class CardText:
    """Everything written on a card, already in the user's language."""
    title: str        # "You look like"
    you: str          # label under the user's face
    name: str         # the celebrity
    percent: str      # "87%"
    credit: str       # author and licence of the celebrity photo ("" if unknown)
    footer: str       # "@lookalike_bot"


def font_path(bold: bool) -> Path:
    """DejaVu Sans from matplotlib's package data, else from Debian's fonts-dejavu."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    spec = importlib.util.find_spec("matplotlib")
    if spec and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf" / name
        if path.is_file():
            return path
    path = SYSTEM_FONTS / name
    if path.is_file():
        return path
    raise RuntimeError("no DejaVu font found: run `make install` (matplotlib ships it)")


@functools.lru_cache(maxsize=64)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(bold)), size)


def fit_lines(draw: ImageDraw.ImageDraw, text: str, width: int, sizes: range, bold: bool,
              max_lines: int = 2) -> tuple[list[str], ImageFont.FreeTypeFont]:
    """The largest size at which ``text`` wraps into ``max_lines`` lines of ``width`` px; the
    smallest size with an ellipsis when even that does not fit (very long names)."""
    for size in sizes:
        face = font(size, bold)
        lines = wrap(draw, text, face, width)
        if len(lines) <= max_lines:
            return lines, face
    face = font(sizes[-1], bold)
    lines = wrap(draw, text, face, width)[:max_lines]
    lines[-1] = ellipsize(draw, lines[-1] + " …", face, width)
    return lines, face


def wrap(draw: ImageDraw.ImageDraw, text: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=face) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word if draw.textlength(word, font=face) <= width else ellipsize(draw, word, face, width))
    return lines or [""]


def ellipsize(draw: ImageDraw.ImageDraw, text: str, face: ImageFont.FreeTypeFont, width: int) -> str:
    if draw.textlength(text, font=face) <= width:
        return text
    while text and draw.textlength(text + "…", font=face) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def square(image: Image.Image, size: int, focus_y: float = 0.5) -> Image.Image:
    """Crop to a square (keeping the part around ``focus_y`` of the height) and scale."""
    return ImageOps.fit(image.convert("RGB"), (size, size), Image.Resampling.LANCZOS, centering=(0.5, focus_y))


def rounded(image: Image.Image, radius: int) -> tuple[Image.Image, Image.Image]:
    mask = Image.new("L", image.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, image.width - 1, image.height - 1), radius, fill=255)
    return image, mask


def background() -> Image.Image:
    top, bottom = BACKGROUND
    column = Image.new("RGB", (1, HEIGHT))
    for y in range(HEIGHT):
        t = y / (HEIGHT - 1)
        column.putpixel((0, y), tuple(round(a + (b - a) * t) for a, b in zip(top, bottom)))
    return column.resize((WIDTH, HEIGHT))


@functools.lru_cache(maxsize=1)
def cached_background() -> Image.Image:
    return background()


def face_boxes() -> tuple[tuple[int, int], tuple[int, int]]:
    """Top-left corners of the user's panel and the celebrity's panel."""
    left = (WIDTH - 2 * PANEL - GAP) // 2
    return (left, TOP), (left + PANEL + GAP, TOP)


def render_card(user_face: Image.Image, celebrity: Image.Image, text: CardText) -> bytes:
    """The card as a JPEG: the user's aligned face, the celebrity, name, %, credit."""
    card = cached_background().copy()
    draw = ImageDraw.Draw(card)
    (ux, uy), (cx, cy) = face_boxes()

    title = font(34, bold=True)
    draw.text((WIDTH // 2, 48), ellipsize(draw, text.title, title, WIDTH - 80), font=title, fill=TEXT, anchor="mm")

    for (x, y), image, focus in (((ux, uy), user_face, 0.5), ((cx, cy), celebrity, 0.3)):
        draw.rounded_rectangle((x - 5, y - 5, x + PANEL + 4, y + PANEL + 4), 28, fill=TEXT)
        face, mask = rounded(square(image, PANEL, focus), 24)
        card.paste(face, (x, y), mask)

    badge = (WIDTH // 2, TOP + PANEL // 2)
    draw.ellipse((badge[0] - 78, badge[1] - 78, badge[0] + 78, badge[1] + 78), fill=ACCENT, outline=TEXT, width=5)
    percent_lines, percent_font = fit_lines(draw, text.percent, 130, range(50, 25, -4), bold=True, max_lines=1)
    draw.text(badge, percent_lines[0], font=percent_font, fill=TEXT, anchor="mm")

    label_top = TOP + PANEL + 18
    you = font(30, bold=True)
    draw.text((ux + PANEL // 2, label_top), ellipsize(draw, text.you, you, PANEL), font=you, fill=TEXT, anchor="ma")
    lines, name_font = fit_lines(draw, text.name, PANEL + 40, range(36, 19, -2), bold=True)
    for i, line in enumerate(lines):
        draw.text((cx + PANEL // 2, label_top + i * (name_font.size + 6)), line, font=name_font, fill=TEXT,
                  anchor="ma")

    small = font(17)
    if text.credit:
        credit = ellipsize(draw, text.credit, small, WIDTH - 320)
        draw.text((24, HEIGHT - 18), credit, font=small, fill=MUTED, anchor="ls")
    draw.text((WIDTH - 24, HEIGHT - 18), ellipsize(draw, text.footer, small, 260), font=small, fill=MUTED,
              anchor="rs")

    out = io.BytesIO()
    card.save(out, "JPEG", quality=87)
    return out.getvalue()


def chip_bytes(chip: np.ndarray) -> bytes:
    """An aligned face chip (dlib's PANEL x PANEL RGB array) as raw bytes: cheaper across the
    process pipe than encoding and decoding a JPEG."""
    return np.ascontiguousarray(chip, dtype=np.uint8).tobytes()


def chip_image(data: bytes) -> Image.Image:
    return Image.frombytes("RGB", (PANEL, PANEL), data)
