"""Brute-force L2 search with numpy: the reference the HNSW index is checked against.

Memory is bounded by a budget, never by queries x gallery: distances are
computed in float32 tiles of (query rows x gallery columns) sized so that a
tile and its temporaries fit the budget. Each tile only nominates a few
candidates per query; the final distances are then recomputed in float64 as
plain ``|q - b|`` for those candidates alone, so the answer equals the plain
float64 computation (float32 rounding could only matter if it moved a true
neighbour past ``EXTRA`` others, which needs errors far above float32's).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

DEFAULT_BUDGET = 256 * 2**20  # bytes for one tile and its temporaries
BYTES_PER_CELL = 20           # float32 tile, argpartition's int64 indices and float32 copy, the mask
MAX_ROWS = 1024               # query rows per tile: the matmul is as fast at 1024 as at 10,000
EXTRA = 8                     # candidates kept beyond k, re-ranked exactly in float64

Mask = Callable[[slice, slice], np.ndarray]  # (query rows, base columns) -> True where excluded


def squared_l2(queries: np.ndarray, base: np.ndarray, base_norms: np.ndarray | None = None) -> np.ndarray:
    """Pairwise squared distances via |q|^2 + |b|^2 - 2 q.b (float64; for a few queries only)."""
    q = np.asarray(queries, dtype=np.float64)
    b = np.asarray(base, dtype=np.float64)
    if base_norms is None:
        base_norms = np.einsum("ij,ij->i", b, b)
    d = np.einsum("ij,ij->i", q, q)[:, None] + base_norms[None, :] - 2.0 * (q @ b.T)
    return np.maximum(d, 0.0)


def tile_shape(n_queries: int, n_base: int, budget: int = DEFAULT_BUDGET) -> tuple[int, int]:
    """(query rows, base columns) of a tile whose temporaries fit in ``budget`` bytes."""
    cells = max(1, budget // BYTES_PER_CELL)
    rows = max(1, min(n_queries, MAX_ROWS, cells))
    cols = max(1, min(n_base, cells // rows))
    return rows, cols


def _candidates(queries: np.ndarray, base: np.ndarray, keep: int, budget: int,
                mask: Mask | None = None) -> np.ndarray:
    """Ids (nq, keep) of the ``keep`` nearest base rows by float32 distance; -1 where none (masked)."""
    nq, nb = len(queries), len(base)
    rows, cols = tile_shape(nq, nb, budget)
    norms = np.einsum("ij,ij->i", base, base)
    out = np.full((nq, keep), -1, dtype=np.int64)
    tile = np.empty((rows, cols), dtype=np.float32)
    for r0 in range(0, nq, rows):
        q = queries[r0:r0 + rows]
        best_d = np.full((len(q), keep), np.inf, dtype=np.float32)
        best_i = np.full((len(q), keep), -1, dtype=np.int64)
        for c0 in range(0, nb, cols):
            b = base[c0:c0 + cols]
            d = tile[: len(q), : len(b)]
            np.matmul(q, b.T, out=d)
            d *= -2.0
            d += norms[c0:c0 + len(b)]        # |q|^2 is the same along a row: not needed to rank
            if mask is not None:
                d[mask(slice(r0, r0 + len(q)), slice(c0, c0 + len(b)))] = np.inf
            m = min(keep, len(b))
            part = np.argpartition(d, m - 1, axis=1)[:, :m] if m < len(b) else np.broadcast_to(np.arange(m), (len(q), m))
            all_d = np.concatenate([best_d, np.take_along_axis(d, part, axis=1)], axis=1)
            all_i = np.concatenate([best_i, part + c0], axis=1)
            sel = np.argpartition(all_d, keep - 1, axis=1)[:, :keep]
            best_d = np.take_along_axis(all_d, sel, axis=1)
            best_i = np.take_along_axis(all_i, sel, axis=1)
        best_i[~np.isfinite(best_d)] = -1
        out[r0:r0 + len(q)] = best_i
    return out


def _refine(queries: np.ndarray, base: np.ndarray, cand: np.ndarray, k: int,
            budget: int) -> tuple[np.ndarray, np.ndarray]:
    """Plain float64 L2 for the candidates; the k nearest per row, ties broken by the lower id."""
    ids = np.empty((len(queries), k), dtype=np.int64)
    dists = np.empty((len(queries), k), dtype=np.float64)
    # Gathered rows, their float64 copy and the differences: three (rows x keep x dim) arrays.
    step = max(1, budget // (3 * 8 * cand.shape[1] * base.shape[1]))
    for r0 in range(0, len(queries), step):
        c = cand[r0:r0 + step]
        q = np.asarray(queries[r0:r0 + step], dtype=np.float64)
        diff = np.asarray(base[np.maximum(c, 0)], dtype=np.float64) - q[:, None, :]
        d = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
        d[c < 0] = np.inf
        order = np.lexsort((np.where(c < 0, np.iinfo(np.int64).max, c), d), axis=1)[:, :k]
        ids[r0:r0 + step] = np.take_along_axis(c, order, axis=1)
        dists[r0:r0 + step] = np.take_along_axis(d, order, axis=1)
    return ids, dists


def nearest_other_faces(vectors: np.ndarray, person_ids: np.ndarray, k: int,
                        budget: int = DEFAULT_BUDGET, base: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Indices and plain L2 distances of the k nearest rows of other people, per row (-1/inf when short).

    ``base``: the rows searched, row for row the same faces as ``vectors`` (the indexed,
    pulled vectors, search/pull.py); by default ``vectors`` themselves.
    """
    person_ids = np.asarray(person_ids)
    base = vectors if base is None else base

    def same_person(rows: slice, cols: slice) -> np.ndarray:
        return person_ids[rows, None] == person_ids[None, cols]

    k = max(1, min(k, len(base)))
    q32 = np.ascontiguousarray(vectors, dtype=np.float32)
    b32 = q32 if base is vectors else np.ascontiguousarray(base, dtype=np.float32)
    cand = _candidates(q32, b32, min(len(base), k + EXTRA), budget, same_person)
    return _refine(vectors, base, cand, k, budget)


def exact_knn(queries: np.ndarray, base: np.ndarray, k: int,
              budget: int = DEFAULT_BUDGET) -> tuple[np.ndarray, np.ndarray]:
    """Indices and plain L2 distances of the k nearest base rows for every query."""
    queries = np.atleast_2d(queries)
    k = min(k, len(base))
    cand = _candidates(np.ascontiguousarray(queries, dtype=np.float32), np.ascontiguousarray(base, dtype=np.float32),
                       min(len(base), k + EXTRA), budget)
    return _refine(queries, base, cand, k, budget)  # the caller's values, not their float32 copies


def nearest_other_person(vectors: np.ndarray, person_ids: np.ndarray, budget: int = DEFAULT_BUDGET,
                         base: np.ndarray | None = None) -> np.ndarray:
    """For each row, the plain L2 distance to the nearest row of another person (inf if none)."""
    return nearest_other_faces(vectors, person_ids, 1, budget, base)[1][:, 0]
