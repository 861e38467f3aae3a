"""Which embedded photos make it into the gallery, and why the others did not.

A gallery face is a promise to users ("you look like X"), so only clear,
single-face, roughly upright photos count, and near-copies of a photo already
kept are dropped: they would let one picture outvote the rest of a person.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rebuild.cache import Entry
from settings import GalleryConfig

REASONS = {
    "not_an_image": "not a readable image",
    "too_large": "too large",
    "no_face": "no face found",
    "several_faces": "more than one face",
    "small_face": "face too small (eye distance)",
    "tilted": "head tilted too much (roll)",
    "duplicate_file": "same file twice in one person",
    "near_duplicate": "near-duplicate of a kept photo",
    "failed": "worker failure or time-out",
}


@dataclass(frozen=True)
class Candidate:
    person: int
    file: Path
    hash: str
    entry: Entry


def rejection(entry: Entry, config: GalleryConfig) -> str | None:
    """Why a photo on its own cannot be a gallery face, or None if it can."""
    if entry.outcome in ("not_an_image", "too_large", "no_face"):
        return entry.outcome
    if entry.outcome != "ok":
        return "failed"
    if entry.faces > 1:
        return "several_faces"
    if entry.eye_distance < config.min_eye_distance:
        return "small_face"
    if abs(entry.roll) > config.max_roll:
        return "tilted"
    return None


def select(candidates: list[Candidate], config: GalleryConfig) -> tuple[list[Candidate], Counter]:
    """Kept candidates (input order) and a count of skipped photos per reason."""
    kept: list[Candidate] = []
    skipped: Counter = Counter()
    # Per person: the same file under two people is rebuild/clean.py's to settle (which one is right).
    seen_hashes: set[tuple[int, str]] = set()
    kept_vectors: dict[int, list[np.ndarray]] = {}
    for cand in candidates:
        reason = rejection(cand.entry, config)
        if reason is None and (cand.person, cand.hash) in seen_hashes:
            reason = "duplicate_file"
        if reason is None:
            mine = kept_vectors.setdefault(cand.person, [])
            if mine and float(np.min(np.linalg.norm(np.array(mine) - cand.entry.vector, axis=1))) < config.near_duplicate:
                reason = "near_duplicate"
        if reason:
            skipped[reason] += 1
            continue
        seen_hashes.add((cand.person, cand.hash))
        kept_vectors[cand.person].append(cand.entry.vector)
        kept.append(cand)
    return kept, skipped
