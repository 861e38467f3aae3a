"""The gallery on disk: vectors in npz, people and per-face credits in SQLite."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from gallery.store import Gallery, thumbnail_name


def small_gallery(tmp_path, n: int = 9) -> Gallery:
    rng = np.random.default_rng(0)
    faces = [{"file": f"P{i // 3}/{i}.jpg", "hash": f"{i:064x}", "thumbnail": thumbnail_name(f"{i:064x}"),
              "author": f"Ann Ö {i}"} for i in range(n)]
    people = [{"name": f"Person {j} — Ž", "folder": f"P{j}", "qid": f"Q{j}"} for j in range(n // 3)]
    return Gallery(rng.normal(size=(n, 128)).astype(np.float32), np.arange(n, dtype=np.int32) // 3,
                   faces, people, tmp_path)


def test_saved_gallery_loads_with_the_same_faces_people_and_thumbnails(tmp_path):
    saved = small_gallery(tmp_path)
    saved.save(tmp_path)
    loaded = Gallery.load(tmp_path)
    np.testing.assert_array_equal(loaded.vectors, saved.vectors)
    np.testing.assert_array_equal(loaded.person_ids, saved.person_ids)
    assert len(loaded.faces) == 9 and list(loaded.faces) == saved.faces
    assert list(loaded.people) == saved.people and loaded.people[-1] == saved.people[2]
    assert [loaded.name(j) for j in range(3)] == [p["name"] for p in saved.people]
    assert [loaded.thumbnail(i) for i in range(9)] == [tmp_path / f["thumbnail"] for f in saved.faces]
    with pytest.raises(IndexError):
        loaded.faces[9]


def test_faces_are_read_safely_from_several_threads(tmp_path):
    small_gallery(tmp_path, 300).save(tmp_path)
    loaded = Gallery.load(tmp_path)
    seen: list[str] = []

    def read(start: int) -> None:
        seen.extend(loaded.faces[i]["file"] for i in range(start, 300, 4))

    threads = [threading.Thread(target=read, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == sorted(f"P{i // 3}/{i}.jpg" for i in range(300))


def test_a_replaced_database_does_not_disturb_a_loaded_gallery(tmp_path):
    small_gallery(tmp_path).save(tmp_path)
    serving = Gallery.load(tmp_path)
    rebuilt = small_gallery(tmp_path, 6)
    rebuilt.faces[0]["author"] = "someone else"
    rebuilt.save(tmp_path)  # renamed over the old file, as build_embeddings.py does
    assert len(serving.faces) == 9 and serving.faces[0]["author"] == "Ann Ö 0"  # still the old gallery
    assert Gallery.load(tmp_path).faces[0]["author"] == "someone else"

