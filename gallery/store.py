"""On-disk gallery format in assets/.

- ``embeddings.npz``: vectors (N x 128 float32), person_ids (N), files, hashes
- ``people.json``: people (name, links) and per-face attribution (ujson)
- ``thumbs/<hash>.jpg``: a <= 512 px JPEG per kept photo, sent to users

Files are written to a temporary name and renamed, so a bot reloading the
gallery never reads a half-written file.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import ujson

EMBEDDINGS = "embeddings.npz"
PEOPLE = "people.json"
THUMBS = "thumbs"


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def thumbnail_name(content_hash: str) -> str:
    return f"{THUMBS}/{content_hash[:32]}.jpg"


@dataclass
class Gallery:
    vectors: np.ndarray                    # (N, 128) float32
    person_ids: np.ndarray                 # (N,) int32, index into people
    faces: list[dict]                      # per face: file, hash, thumbnail, source, author, license...
    people: list[dict]                     # per person: name, folder, qid, wikipedia, description
    assets: Path = field(default=Path("assets"))

    def __post_init__(self) -> None:
        if len(self.vectors) != len(self.person_ids) or len(self.vectors) != len(self.faces):
            raise ValueError("gallery arrays disagree in length")

    def thumbnail(self, face: int) -> Path:
        return self.assets / self.faces[face]["thumbnail"]

    def save(self, assets: Path) -> None:
        buf = io.BytesIO()
        np.savez(buf, vectors=self.vectors.astype(np.float32), person_ids=self.person_ids.astype(np.int32),
                 files=np.array([f["file"] for f in self.faces], dtype=str),
                 hashes=np.array([f["hash"] for f in self.faces], dtype=str))
        atomic_write(assets / EMBEDDINGS, buf.getvalue())
        doc = {"people": self.people, "faces": self.faces}
        atomic_write(assets / PEOPLE, ujson.dumps(doc, ensure_ascii=False, escape_forward_slashes=False, indent=1).encode("utf-8"))

    @classmethod
    def load(cls, assets: Path) -> "Gallery":
        with np.load(assets / EMBEDDINGS, allow_pickle=False) as npz:
            vectors = npz["vectors"].astype(np.float32)
            person_ids = npz["person_ids"].astype(np.int32)
        doc = ujson.loads((assets / PEOPLE).read_text(encoding="utf-8"))
        return cls(vectors, person_ids, doc["faces"], doc["people"], assets)
