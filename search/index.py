"""The nmslib HNSW index over gallery faces, folded to distinct people.

nmslib's ``l2`` space returns *squared* distances; everything leaving this
module is plain L2, the unit the similarity calibration and thresholds use.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import ujson

from gallery.store import Gallery
from search.calibration import Calibration
from search.similarity import similarity
from settings import Config, IndexConfig

INDEX_FILE = "index.bin"
META_FILE = "index.json"


@contextlib.contextmanager
def _quiet_stderr():
    """nmslib's C++ prints a SIMD notice straight to fd 2 on import."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


with _quiet_stderr():
    import nmslib  # noqa: E402


def new_hnsw(vectors: np.ndarray, params: IndexConfig, threads: int = 0) -> "nmslib.FloatIndex":
    index = nmslib.init(method="hnsw", space="l2", data_type=nmslib.DataType.DENSE_VECTOR)
    index.addDataPointBatch(np.ascontiguousarray(vectors, dtype=np.float32))
    index.createIndex({"M": params.M, "efConstruction": params.efConstruction, "post": params.post,
                       "indexThreadQty": threads or os.cpu_count() or 1}, print_progress=False)
    index.setQueryTimeParams({"efSearch": params.efSearch})
    return index


def load_hnsw(path: Path, ef_search: int, load_data: bool = True) -> "nmslib.FloatIndex":
    """A saved index. ``load_data=False`` for search only: nmslib's HNSW over dense l2 vectors keeps
    its own copy of every vector in its graph and searches that; the data file is a second copy
    (0.5 GB at 1M faces) that only adding points would need."""
    index = nmslib.init(method="hnsw", space="l2", data_type=nmslib.DataType.DENSE_VECTOR)
    index.loadIndex(str(path), load_data=load_data)
    index.setQueryTimeParams({"efSearch": ef_search})  # loadIndex forgets it
    return index


def knn(index, queries: np.ndarray, k: int, threads: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Batch k-NN with plain L2 distances; rows padded with -1/inf when short."""
    results = index.knnQueryBatch(np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32),
                                  k=k, num_threads=threads)
    ids = np.full((len(results), k), -1, dtype=np.int64)
    dists = np.full((len(results), k), np.inf, dtype=np.float64)
    for row, (i, d) in enumerate(results):
        ids[row, : len(i)] = i
        dists[row, : len(d)] = np.sqrt(np.maximum(d, 0.0))
    return ids, dists


HNSW_BYTES_PER_NEIGHBOUR = 64     # nmslib's answer lists + our id/distance arrays, per neighbour


def knn_other_people(index, vectors: np.ndarray, person_ids: np.ndarray, k: int, fetch: int,
                     budget: int) -> tuple[np.ndarray, np.ndarray]:
    """For each indexed face (row ``i`` of ``vectors`` is face ``i``), its k nearest faces of other
    people among the ``fetch`` nearest (HNSW has no "other people only"); -1/inf when short.

    Asked for in blocks of rows, so the answer lists never hold more than ``budget`` bytes.
    """
    person_ids = np.asarray(person_ids)
    out_ids = np.full((len(vectors), k), -1, dtype=np.int64)
    out_dists = np.full((len(vectors), k), np.inf)
    rows = max(1, budget // (fetch * HNSW_BYTES_PER_NEIGHBOUR))
    for start in range(0, len(vectors), rows):
        ids, dists = knn(index, vectors[start:start + rows], fetch, threads=os.cpu_count() or 1)
        other = (person_ids[np.maximum(ids, 0)] != person_ids[start:start + rows, None]) & (ids >= 0)
        first = np.argsort(~other, axis=1, kind="stable")[:, :k]  # the first k of other people, in order
        found = np.take_along_axis(other, first, axis=1)
        out_ids[start:start + rows] = np.where(found, np.take_along_axis(ids, first, axis=1), -1)
        out_dists[start:start + rows] = np.where(found, np.take_along_axis(dists, first, axis=1), np.inf)
    return out_ids, out_dists


def fold_by_person(ids: np.ndarray, dists: np.ndarray, person_ids: np.ndarray, top_k: int) -> list[tuple[int, int, float]]:
    """Best (person, face, distance) per person, nearest first, at most top_k people."""
    seen: set[int] = set()
    out = []
    for face, dist in zip(ids, dists):
        if face < 0:
            break
        person = int(person_ids[face])
        if person not in seen:
            seen.add(person)
            out.append((person, int(face), float(dist)))
            if len(out) == top_k:
                break
    return out


@dataclass(frozen=True)
class Match:
    person: int       # index into Gallery.people
    name: str
    face: int         # gallery face that matched best (its thumbnail is sent)
    distance: float   # plain L2
    similarity: float  # 0..1


class FaceIndex:
    """Loaded once at start-up (and again on reload); read-only afterwards."""

    def __init__(self, gallery: Gallery, hnsw, meta: dict, config: Config) -> None:
        self.gallery = gallery
        self.hnsw = hnsw
        self.meta = meta
        self.config = config
        self.calibration = Calibration.from_json(meta["calibration"])

    @classmethod
    def load(cls, config: Config) -> "FaceIndex":
        assets = config.paths.assets
        meta = ujson.loads((assets / META_FILE).read_text(encoding="utf-8"))
        gallery = Gallery.load(assets, vectors=False)
        if len(gallery) != meta["faces"]:
            raise RuntimeError("index and gallery disagree: rebuild with build_index.py")
        hnsw = load_hnsw(assets / INDEX_FILE, config.index.efSearch, load_data=False)
        return cls(gallery, hnsw, meta, config)

    @property
    def ef_search(self) -> int:
        return self.config.index.efSearch

    def similarity(self, distance: float) -> float:
        cal = self.calibration
        return similarity(distance, cal.mean, cal.std, self.config.similarity.min_similarity, cal.lam)

    def search(self, vectors: np.ndarray, top_k: int | None = None) -> list[list[Match]]:
        """Top-k distinct people for each query vector."""
        top_k = top_k or self.config.search.top_k
        n = len(self.gallery)
        want_people = min(top_k, len(self.gallery.people))
        k = min(n, max(top_k * self.config.search.fold_factor, top_k))
        vectors = np.atleast_2d(vectors)
        out: list[list[Match]] = []
        ids, dists = knn(self.hnsw, vectors, k)
        for row in range(len(vectors)):
            folded = fold_by_person(ids[row], dists[row], self.gallery.person_ids, top_k)
            kk = k
            while len(folded) < want_people and kk < n:  # one person owns many neighbours
                kk = min(n, kk * 4)
                i2, d2 = knn(self.hnsw, vectors[row], kk)
                folded = fold_by_person(i2[0], d2[0], self.gallery.person_ids, top_k)
            out.append([Match(p, self.gallery.name(p), f, d, self.similarity(d)) for p, f, d in folded])
        return out
