"""What lands on disk: safe folder and file names, atomic writes, info.json.

Names come from Wikidata and Commons, i.e. from anyone: they are cleaned so a
label such as "../../etc/passwd" can never leave the output folder. Every file
is written to a temporary name and renamed, and info.json is written last, so
an interrupted run leaves either nothing or whole files, and "info.json
present" means "person complete".
"""
from __future__ import annotations

import io
import re
import unicodedata
import warnings
from pathlib import Path
from typing import Any

import ujson
from PIL import Image

from durable import atomic_write

INFO = "info.json"
MAX_NAME_CHARS = 100
MAX_NAME_BYTES = 200            # most filesystems allow 255 bytes per path component
FORBIDDEN = re.compile(r'[/\\<>:"|?*]')  # separators, plus what Windows forbids
BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")  # can disguise a name
JPEG_QUALITY = 92


def safe_name(name: str, max_chars: int = MAX_NAME_CHARS) -> str:
    """A single harmless path component that keeps letters of every script; "" if nothing is left."""
    text = unicodedata.normalize("NFC", name)
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c
                   for c in text if c not in BIDI and unicodedata.category(c) not in ("Cs", "Co", "Cn"))
    text = FORBIDDEN.sub(" ", text)
    text = re.sub(r"\s+", " ", text).strip(" .")     # no leading dots (hidden, "..") nor trailing ones
    text = text[:max_chars]
    while len(text.encode("utf-8")) > MAX_NAME_BYTES:
        text = text[:-1]
    text = text.strip(" .")
    return "" if text in ("", ".", "..") else text


def inside(root: Path, name: str) -> Path:
    """root/name, refusing anything that would not be a direct child of root."""
    path = root / name
    if not name or path.resolve().parent != root.resolve():
        raise ValueError(f"unsafe path component {name!r}")
    return path


def file_name(title: str, taken: set[str]) -> str:
    """Commons title -> "<stem>.jpg", unique (case-insensitively) among ``taken``."""
    stem = safe_name(Path(title.removeprefix("File:")).stem, max_chars=80) or "photo"
    name, n = f"{stem}.jpg", 1
    while name.casefold() in taken or name.casefold() == INFO:
        n += 1
        name = f"{stem} ({n}).jpg"
    taken.add(name.casefold())
    return name


def as_jpeg(data: bytes) -> bytes | None:
    """The photo as JPEG bytes if it fully decodes, else None.

    JPEGs are kept byte for byte (no second lossy pass); PNG/WebP are converted.
    load() decodes every pixel, which catches truncated files that verify() misses.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                im.load()
                if im.format == "JPEG":
                    return data
                out = io.BytesIO()
                im.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY)
                return out.getvalue()
    except Exception:  # noqa: BLE001 - Pillow raises many types for bad data; all mean "broken"
        return None


def read_info(folder: Path) -> dict | None:
    """info.json if it is complete (parses, and every file it lists is there)."""
    try:
        info = ujson.loads((folder / INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or not isinstance(info.get("files"), dict) or not info["files"]:
        return None
    if not all((folder / f).is_file() for f in info["files"]):
        return None
    return info


def write_info(folder: Path, info: dict[str, Any]) -> None:
    atomic_write(folder / INFO, ujson.dumps(info, ensure_ascii=False, indent=1, escape_forward_slashes=False)
                 .encode("utf-8"))


def clean_temporaries(folder: Path) -> None:
    """Remove temp files an interrupted run left behind (".x.jpg.tmp<pid>")."""
    if folder.is_dir():
        for f in folder.glob(".*.tmp*"):
            f.unlink(missing_ok=True)
