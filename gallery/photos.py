"""Reading the photo folders: ``DIR/<Person Name>/*.jpg`` plus optional info.json."""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import ujson

log = logging.getLogger(__name__)

EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp"}


@dataclass
class PersonPhotos:
    name: str                         # display name (info.json "name", else the folder name)
    folder: str
    files: list[Path]
    info: dict = field(default_factory=dict)

    def attribution(self, file: Path) -> dict:
        """Source, author and licence of one photo, as info.json gives them."""
        entry = (self.info.get("files") or {}).get(file.name) or {}
        return {k: entry[k] for k in ("source", "author", "license", "license_url") if entry.get(k)}

    def links(self) -> dict:
        return {k: self.info[k] for k in ("qid", "wikipedia", "description") if self.info.get(k)}


def scan(photos: Path) -> list[PersonPhotos]:
    """Every person folder with at least one image, in a stable (sorted) order."""
    if not photos.is_dir():
        raise FileNotFoundError(f"photo folder not found: {photos}")
    people = []
    for folder in sorted(p for p in photos.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in EXTENSIONS)
        if not files:
            continue
        info: dict = {}
        info_path = folder / "info.json"
        if info_path.is_file():
            try:
                info = ujson.loads(info_path.read_text(encoding="utf-8"))
            except ValueError:
                log.warning("ignoring unreadable %s", info_path)
        # "Barack_Obama" and "Barack Obama" both read as "Barack Obama".
        name = str(info.get("name") or folder.name.replace("_", " ")).strip() or folder.name
        people.append(PersonPhotos(name=name, folder=folder.name, files=files, info=info))
    return people


def content_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
