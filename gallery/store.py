"""On-disk gallery format in assets/.

- ``embeddings.npz``: vectors (N x 128 float32), person_ids (N int32), hashes (N x 64 ASCII bytes)
- ``gallery.sqlite3``: ``people`` (id, name, JSON doc) and ``faces`` (id, person, JSON doc:
  file, hash, thumbnail, source, author, license...)
- ``thumbs/<hash>.jpg``: a <= 512 px JPEG per kept photo, sent to users

Why SQLite for the metadata: at 1M faces a ``people.json`` took seconds to
parse and about a gigabyte of Python dicts, yet the bot needs one face's
credits per reply. Names (needed for every search) are read into a list at
load; a face's document is read when a reply needs it. Measured in
BENCHMARKS.md ("Gallery metadata at 1M faces").

Files are written to a temporary name and renamed, so a bot reloading the
gallery never reads a half-written file (a bot still serving the old gallery
keeps reading the old, unlinked database).
"""
from __future__ import annotations

import io
import os
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import ujson

from durable import atomic_write

EMBEDDINGS = "embeddings.npz"
METADATA = "gallery.sqlite3"
THUMBS = "thumbs"


def thumbnail_name(content_hash: str) -> str:
    return f"{THUMBS}/{content_hash[:32]}.jpg"


class Rows(Sequence):
    """One SQLite table's JSON documents by row id, read on demand (read-only, thread-safe)."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock, table: str, count: int) -> None:
        self._db, self._lock, self._count = db, lock, count
        self._query = f"SELECT doc FROM {table} WHERE id = ?"

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._count))]
        if i < 0:
            i += self._count
        if not 0 <= i < self._count:
            raise IndexError(i)
        with self._lock:
            (doc,) = self._db.execute(self._query, (int(i),)).fetchone()
        return ujson.loads(doc)


class People(Rows):
    """People with their names in memory: every search names its matches."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self.names = [name for (name,) in db.execute("SELECT name FROM people ORDER BY id")]
        super().__init__(db, lock, "people", len(self.names))


def write_metadata(path: Path, people: Sequence[dict], faces: Sequence[dict], person_ids: np.ndarray) -> None:
    """A fresh metadata database, renamed into place once complete."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    try:
        db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                         "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, doc TEXT NOT NULL);"
                         "CREATE TABLE faces (id INTEGER PRIMARY KEY, person INTEGER NOT NULL, doc TEXT NOT NULL);")
        dumps = ujson.dumps
        db.executemany("INSERT INTO people VALUES (?, ?, ?)",
                       ((i, p["name"], dumps(p, ensure_ascii=False, escape_forward_slashes=False))
                        for i, p in enumerate(people)))
        db.executemany("INSERT INTO faces VALUES (?, ?, ?)",
                       ((i, int(pid), dumps(f, ensure_ascii=False, escape_forward_slashes=False))
                        for i, (f, pid) in enumerate(zip(faces, person_ids))))
        db.commit()
    finally:
        db.close()
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@dataclass
class Gallery:
    vectors: np.ndarray | None             # (N, 128) float32; None in the bot, which searches the index only
    person_ids: np.ndarray                 # (N,) int32, index into people
    faces: Sequence[dict]                  # per face: file, hash, thumbnail, source, author, license...
    people: Sequence[dict]                 # per person: name, folder, qid, wikipedia, description
    assets: Path = field(default=Path("assets"))

    def __post_init__(self) -> None:
        if len(self.person_ids) != len(self.faces) or (self.vectors is not None and len(self.vectors) != len(self.faces)):
            raise ValueError("gallery arrays disagree in length")

    def __len__(self) -> int:
        return len(self.person_ids)

    @property
    def names(self) -> list[str]:
        """Every person's name, in id order, without reading their documents."""
        names = getattr(self.people, "names", None)
        return names if names is not None else [p["name"] for p in self.people]

    def name(self, person: int) -> str:
        names = getattr(self.people, "names", None)
        return names[person] if names is not None else self.people[person]["name"]

    def thumbnail(self, face: int) -> Path:
        return self.assets / self.faces[face]["thumbnail"]

    def save(self, assets: Path) -> None:
        buf = io.BytesIO()
        np.savez(buf, vectors=self.vectors.astype(np.float32, copy=False),
                 person_ids=self.person_ids.astype(np.int32, copy=False),
                 hashes=np.array([f["hash"] for f in self.faces], dtype="S64"))
        atomic_write(assets / EMBEDDINGS, buf.getvalue())
        write_metadata(assets / METADATA, self.people, self.faces, self.person_ids)

    @classmethod
    def load(cls, assets: Path, vectors: bool = True) -> "Gallery":
        """The gallery; ``vectors=False`` leaves the (N x 128) vectors on disk (the bot has them in its index)."""
        with np.load(assets / EMBEDDINGS, allow_pickle=False) as npz:  # members are read only when asked for
            vecs = npz["vectors"].astype(np.float32, copy=False) if vectors else None
            person_ids = npz["person_ids"].astype(np.int32, copy=False)
        # immutable: the file is only ever replaced, never changed, so no locking is needed.
        db = sqlite3.connect(f"{(assets / METADATA).resolve().as_uri()}?mode=ro&immutable=1", uri=True,
                             check_same_thread=False)
        lock = threading.Lock()
        (faces,) = db.execute("SELECT COALESCE(MAX(id) + 1, 0) FROM faces").fetchone()
        return cls(vecs, person_ids, Rows(db, lock, "faces", faces), People(db, lock), assets)
