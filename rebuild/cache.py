"""Embedding cache keyed by photo content, written as the build goes.

Keyed by SHA-256 of the bytes rather than the path: renaming or moving a
photo costs nothing, and an edited photo is embedded again. Stored in SQLite
in WAL mode and committed every ``batch_size`` results, so a build killed at
any moment (kill -9, OOM, a reboot) loses at most one uncommitted batch and the
next run embeds only what is missing. Entries of other ``jitters`` settings
stay: switching back costs nothing.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from worker.outcome import EmbedResult

CACHE_DB = "embed_cache.sqlite3"

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    jitters INTEGER NOT NULL, hash TEXT NOT NULL, outcome TEXT NOT NULL, faces INTEGER NOT NULL,
    vector BLOB, eye_distance REAL NOT NULL, roll REAL NOT NULL, PRIMARY KEY (jitters, hash)
) WITHOUT ROWID;
"""


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

    def row(self, jitters: int, content_hash: str) -> tuple:
        blob = None if self.vector is None else np.asarray(self.vector, dtype=np.float32).tobytes()
        return jitters, content_hash, self.outcome, self.faces, blob, float(self.eye_distance), float(self.roll)


def _entry(outcome: str, faces: int, blob: bytes | None, eye: float, roll: float) -> Entry:
    vector = np.frombuffer(blob, dtype=np.float32) if blob is not None and faces == 1 else None
    return Entry(outcome, int(faces), vector, float(eye), float(roll))


class EmbedCache:
    """Entries of one ``jitters`` setting in memory; new ones appended to SQLite in batches."""

    def __init__(self, db: sqlite3.Connection, jitters: int, batch_size: int) -> None:
        self.db = db
        self.jitters = jitters
        self.batch_size = max(1, batch_size)
        self.entries: dict[str, Entry] = {}
        self._pending: list[tuple] = []
        rows = db.execute("SELECT hash, outcome, faces, vector, eye_distance, roll FROM entries WHERE jitters = ?",
                          (jitters,))
        for h, *rest in rows:
            self.entries[h] = _entry(*rest)

    @classmethod
    def open(cls, assets: Path, jitters: int, batch_size: int = 256) -> "EmbedCache":
        assets.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(assets / CACHE_DB)
        # WAL + synchronous=NORMAL: a commit survives the process being killed; the file is
        # never left corrupt, and readers (tests, a second look) do not block the build.
        db.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;" + SCHEMA)
        return cls(db, jitters, batch_size)

    def add(self, content_hash: str, entry: Entry) -> None:
        """Record one result; every ``batch_size`` results are committed together."""
        self.entries[content_hash] = entry
        self._pending.append(entry.row(self.jitters, content_hash))
        if len(self._pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            with self.db:
                self.db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)", self._pending)
            self._pending.clear()

    def close(self) -> None:
        self.flush()
        self.db.close()

    def __enter__(self) -> "EmbedCache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
