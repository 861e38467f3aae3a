"""Embedding cache keyed by photo content, so a re-run only embeds new photos.

Keyed by SHA-256 of the bytes rather than the path: renaming or moving a
photo costs nothing, and an edited photo is embedded again.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gallery.store import atomic_write
from worker.outcome import EmbedResult

CACHE_FILE = "embed_cache.npz"


@dataclass(frozen=True)
class Entry:
    outcome: str                 # worker Outcome value
    faces: int                   # faces found
    vector: np.ndarray | None    # set only when exactly one face
    eye_distance: float = 0.0
    roll: float = 0.0

    @classmethod
    def from_result(cls, result: EmbedResult) -> "Entry":
        if len(result.faces) == 1:
            face = result.faces[0]
            return cls(result.outcome.value, 1, face.vector, face.eye_distance, face.roll)
        return cls(result.outcome.value, len(result.faces), None)


class EmbedCache:
    def __init__(self, jitters: int, entries: dict[str, Entry] | None = None) -> None:
        self.jitters = jitters
        self.entries = entries or {}

    @classmethod
    def load(cls, assets: Path, jitters: int) -> "EmbedCache":
        """An empty cache when none exists or it was made with other settings."""
        path = assets / CACHE_FILE
        if not path.is_file():
            return cls(jitters)
        with np.load(path, allow_pickle=False) as npz:
            if int(npz["jitters"]) != jitters:
                return cls(jitters)
            entries = {
                h: Entry(o, int(n), v if int(n) == 1 else None, float(e), float(r))
                for h, o, n, v, e, r in zip(npz["hashes"], npz["outcomes"], npz["faces"], npz["vectors"],
                                            npz["eye_distance"], npz["roll"])
            }
        return cls(jitters, entries)

    def save(self, assets: Path) -> None:
        hashes = sorted(self.entries)
        rows = [self.entries[h] for h in hashes]
        buf = io.BytesIO()
        np.savez(
            buf, jitters=np.int32(self.jitters), hashes=np.array(hashes, dtype=str),
            outcomes=np.array([r.outcome for r in rows], dtype=str),
            faces=np.array([r.faces for r in rows], dtype=np.int32),
            vectors=np.array([r.vector if r.vector is not None else np.zeros(128, np.float32) for r in rows],
                             dtype=np.float32).reshape(len(rows), 128),
            eye_distance=np.array([r.eye_distance for r in rows], dtype=np.float32),
            roll=np.array([r.roll for r in rows], dtype=np.float32),
        )
        atomic_write(assets / CACHE_FILE, buf.getvalue())
