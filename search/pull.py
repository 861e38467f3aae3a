"""Gallery faces pulled toward their person's mean face before indexing.

A single gallery photo carries its own lighting, expression and pose; a probe
that differs on those can lose to a stranger's photo taken in the same light.
Moving each face part of the way toward the mean of its person's faces keeps
every photo (and so the person's variety and the photo shown on the card) but
damps what is particular to one photo. On ../shared/faces this takes rank-1
of held-back photos from 98.2% to 99.4% (bench/quality.py); a person with one
photo is unchanged. Queries are never pulled: users are not in the gallery.
"""
from __future__ import annotations

import numpy as np


def pull_to_person(vectors: np.ndarray, person_ids: np.ndarray, pull: float) -> np.ndarray:
    """``(1 - pull) * face + pull * mean face of its person`` for every row (float32)."""
    if not 0.0 <= pull <= 1.0:
        raise ValueError(f"pull must be within [0, 1], got {pull}")
    v = np.asarray(vectors, dtype=np.float64)
    if pull == 0.0 or len(v) == 0:
        return np.asarray(vectors, dtype=np.float32)
    people, inverse, counts = np.unique(np.asarray(person_ids), return_inverse=True, return_counts=True)
    sums = np.zeros((len(people), v.shape[1]))
    np.add.at(sums, inverse, v)
    means = sums / counts[:, None]
    return ((1.0 - pull) * v + pull * means[inverse]).astype(np.float32)
