"""Brute-force L2 search with numpy: the reference the HNSW index is checked against."""
from __future__ import annotations

import numpy as np

CHUNK = 4096  # query rows per block; keeps the distance matrix at a few hundred MB


def squared_l2(queries: np.ndarray, base: np.ndarray, base_norms: np.ndarray | None = None) -> np.ndarray:
    """Pairwise squared distances via |q|^2 + |b|^2 - 2 q.b (float64 accumulation)."""
    q = np.asarray(queries, dtype=np.float64)
    b = np.asarray(base, dtype=np.float64)
    if base_norms is None:
        base_norms = np.einsum("ij,ij->i", b, b)
    d = np.einsum("ij,ij->i", q, q)[:, None] + base_norms[None, :] - 2.0 * (q @ b.T)
    return np.maximum(d, 0.0)


def exact_knn(queries: np.ndarray, base: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and plain L2 distances of the k nearest base rows for every query."""
    queries = np.atleast_2d(queries)
    k = min(k, len(base))
    b = np.asarray(base, dtype=np.float64)
    norms = np.einsum("ij,ij->i", b, b)
    ids = np.empty((len(queries), k), dtype=np.int64)
    dists = np.empty((len(queries), k), dtype=np.float64)
    for start in range(0, len(queries), CHUNK):
        d = squared_l2(queries[start:start + CHUNK], b, norms)
        part = np.argpartition(d, k - 1, axis=1)[:, :k] if k < d.shape[1] else np.tile(np.arange(k), (len(d), 1))
        part_d = np.take_along_axis(d, part, axis=1)
        order = np.argsort(part_d, axis=1, kind="stable")
        ids[start:start + CHUNK] = np.take_along_axis(part, order, axis=1)
        dists[start:start + CHUNK] = np.sqrt(np.take_along_axis(part_d, order, axis=1))
    return ids, dists


def nearest_other_person(vectors: np.ndarray, person_ids: np.ndarray) -> np.ndarray:
    """For each row, the plain L2 distance to the nearest row of another person (inf if none)."""
    b = np.asarray(vectors, dtype=np.float64)
    norms = np.einsum("ij,ij->i", b, b)
    out = np.empty(len(b), dtype=np.float64)
    for start in range(0, len(b), CHUNK):
        d = squared_l2(b[start:start + CHUNK], b, norms)
        same = person_ids[start:start + CHUNK, None] == person_ids[None, :]
        d[same] = np.inf
        out[start:start + CHUNK] = np.sqrt(d.min(axis=1))
    return out
