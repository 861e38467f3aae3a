"""The gallery -> the HNSW index and the similarity calibration, in assets/.

The work behind build_index.py (and step 3 of make_gallery.py), kept out of the script so the
bench measures the calibration the user's build makes, without importing a script. index.json
is written last, so a bot watching it only ever sees a complete index.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np
import ujson

from durable import atomic_write
from gallery.store import Gallery
from search import calibration
from search.exact import exact_knn, nearest_other_person
from search.index import INDEX_FILE, META_FILE, knn, knn_other_people, new_hnsw
from search.pull import pull_to_person
from settings import Config
from worker.models import DESCRIPTOR, DETECTOR, LANDMARKS

EXACT_CALIBRATION_LIMIT = 20_000  # above this, nearest strangers come from HNSW (O(N^2) otherwise)
RECALL_SAMPLE = 1_000
STRANGER_K = 64                   # HNSW neighbours searched for the nearest stranger


def nearest_strangers(gallery: Gallery, index, budget: int, indexed: np.ndarray | None = None) -> np.ndarray:
    """Plain L2 distance from each gallery face to the closest indexed face of another person.

    This is the leave-one-person-out search: what a user who is not in the gallery meets.
    ``indexed``: the vectors in the index, row for row (search/pull.py); default the faces.

    Exact (in tiles of ``budget`` bytes) for small galleries; above that from
    the HNSW graph's 64 nearest, asked for in blocks of rows so the answer
    lists never hold more than ``budget`` bytes either.
    """
    if len(gallery.vectors) <= EXACT_CALIBRATION_LIMIT:
        return nearest_other_person(gallery.vectors, gallery.person_ids, budget, indexed)
    return knn_other_people(index, gallery.vectors, gallery.person_ids, 1, STRANGER_K, budget)[1][:, 0]


def recall_at_1(gallery: Gallery, index, sample: int, budget: int, seed: int = 0,
                indexed: np.ndarray | None = None) -> tuple[float, int]:
    """Share of sampled gallery vectors, slightly perturbed, whose HNSW top-1 is the exact top-1."""
    rng = np.random.default_rng(seed)
    base = gallery.vectors if indexed is None else indexed
    n = len(gallery.vectors)
    rows = rng.choice(n, size=min(sample, n), replace=False)
    # A perturbed copy, not the vector itself: querying a stored point is too easy.
    queries = gallery.vectors[rows] + rng.normal(0, 0.02, (len(rows), gallery.vectors.shape[1])).astype(np.float32)
    hnsw_ids, _ = knn(index, queries, 1)
    exact_ids, _ = exact_knn(queries, base, 1, budget)
    return float(np.mean(hnsw_ids[:, 0] == exact_ids[:, 0])), len(rows)


def build(config: Config) -> dict:
    """Build and save the index and its calibration for the gallery in paths.assets; returns index.json."""
    assets = config.paths.assets
    gallery = Gallery.load(assets)  # FileNotFoundError: no gallery yet
    params = config.index
    budget = config.build.memory_mb * 2**20
    started = time.perf_counter()
    indexed = pull_to_person(gallery.vectors, gallery.person_ids, params.person_pull)
    index = new_hnsw(indexed, params)
    build_seconds = time.perf_counter() - started
    tmp_index = assets / f".{INDEX_FILE}.tmp"
    index.saveIndex(str(tmp_index), save_data=True)
    os.replace(f"{tmp_index}.dat", assets / f"{INDEX_FILE}.dat")
    os.replace(tmp_index, assets / INDEX_FILE)

    people = len(gallery.people)
    if people >= max(2, config.similarity.min_people):
        cal = calibration.fit(nearest_strangers(gallery, index, budget, indexed), config.similarity.calibration)
    else:
        cal = calibration.prior(config.similarity.prior_mean, config.similarity.prior_std)
    recall, sampled = recall_at_1(gallery, index, RECALL_SAMPLE, budget, indexed=indexed)

    meta = {
        "faces": int(len(gallery.vectors)),
        "people": people,
        "space": "l2",
        "method": "hnsw",
        "parameters": {"M": params.M, "efConstruction": params.efConstruction,
                       "efSearch": params.efSearch, "post": params.post, "person_pull": params.person_pull},
        "models": {"detector": DETECTOR, "landmarks": LANDMARKS, "descriptor": DESCRIPTOR},
        "calibration": cal.to_json(),
        "build_seconds": round(build_seconds, 4),
        "recall_at_1": recall,
        "recall_sample": sampled,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    atomic_write(assets / META_FILE, ujson.dumps(meta, indent=1, escape_forward_slashes=False).encode())
    return meta


def run(config: Config) -> int:
    """build() with its summary printed, as build_index.py shows it; returns the exit status."""
    try:
        meta = build(config)
    except FileNotFoundError:
        print(f"error: no gallery in {config.paths.assets}; run build_embeddings.py first", file=sys.stderr)
        return 2
    params = config.index
    print(f"index: {meta['faces']} faces of {meta['people']} people, HNSW M={params.M} "
          f"efConstruction={params.efConstruction} efSearch={params.efSearch}, built in {meta['build_seconds']:.2f}s")
    print(calibration.describe(calibration.Calibration.from_json(meta["calibration"])))
    print(f"recall self-check: HNSW top-1 = exact top-1 for {meta['recall_at_1']:.2%} of "
          f"{meta['recall_sample']} perturbed gallery queries")
    return 0

