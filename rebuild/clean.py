"""Gallery cleaning: photos filed under the wrong person, one photo under two people, people who are two.

Scraped labels are wrong now and then (a caption names the other person in the photo, a Commons
category mixes namesakes). A wrong gallery face is worse than a missing one: users who look like
person A are told they look like B. After selection (rebuild/select.py) every photo is compared
with its own person's other photos and with the people nearest to it:

- ``mislabelled``: the median distance to its own person's other photos is above
  ``same_person`` (dlib's 0.6) and more than ``mislabel_margin`` above the median distance to the photos
  of the nearest other person. Medians, not minima: one close stranger (dlib puts different
  East Asian people at 0.45-0.5) does not outvote a person whose own photos are just as close.
- ``stranger``: no photo of its own person is within ``stranger_distance``; the case of a true
  person who is not in the gallery at all.
- ``duplicate*``: the same content hash, or vectors closer than ``near_duplicate``, under two or
  more people. It stays with the person whose other photos it clearly matches, else it goes
  from all of them.
- ``split``: a person whose photos fall into two or more groups of >= ``split_min_group`` with
  every distance between groups above ``split_distance``: two namesakes, or one person filed
  twice. Flagged for a human only: which group is the right one is a fact about the world,
  not about distances (a group nearer another person than to itself is dropped as mislabelled).

Only people with >= ``clean_min_photos`` photos are judged for the first two rules: with fewer
there is no majority that says which photo is the odd one. Thresholds were chosen on
../shared/faces (BENCHMARKS.md, "Issue 11: a clean gallery").

Scales by never building an N x N matrix: the k nearest faces of other people come from the tiled
exact search (or HNSW above ``EXACT_LIMIT`` faces), and medians are taken per person.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from search.exact import DEFAULT_BUDGET, nearest_other_faces, squared_l2
from settings import GalleryConfig, IndexConfig

REASONS = {
    "mislabelled": "mislabelled? closer to another person's photos than to its own",
    "stranger": "mislabelled? far from every other photo of its person",
    "duplicate": "same photo under another person, whose photos it matches",
    "duplicate_unclear": "same photo under several people, none clearly its own",
    "duplicate_kept": "same photo under another person; kept here, where it matches",
    "split": "person's photos split into separate groups (review)",
}
DROPPED, FLAGGED = "dropped", "flagged"

NEIGHBOURS = 16        # nearest faces of other people looked at per photo
CANDIDATES = 3         # distinct other people among them whose median distance is measured
EXACT_LIMIT = 20_000   # faces; above this the neighbours come from an HNSW graph
HNSW_EXTRA = 48        # HNSW has no "other people only": this many more are asked for, own ones skipped


@dataclass(frozen=True)
class Flag:
    """One line of the review list: a photo, what was wrong, what was done."""
    face: int              # row of the input
    reason: str            # key of REASONS
    action: str            # DROPPED or FLAGGED
    own: float             # median distance to its person's other photos (nan: none)
    other_person: int      # nearest other person by median distance (-1: none)
    other: float           # that median distance (inf: none)
    detail: str = ""


@dataclass(frozen=True)
class Nearest:
    """Per photo, the other person it sits closest to: the lowest median distance to their photos."""
    person: np.ndarray   # -1 where no other person was found
    median: np.ndarray   # inf where no other person was found

    def __getitem__(self, rows: np.ndarray) -> "Nearest":
        return Nearest(self.person[rows], self.median[rows])


def members(person_ids: np.ndarray) -> dict[int, np.ndarray]:
    """Row indices of each person's photos."""
    order = np.argsort(person_ids, kind="stable")
    people, starts = np.unique(person_ids[order], return_index=True)
    return dict(zip(people.tolist(), np.split(order, starts[1:])))


def pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Plain L2 between every row of a and of b (float64; one person's photos at a time)."""
    return np.sqrt(squared_l2(a, b))


def other_neighbours(vectors: np.ndarray, person_ids: np.ndarray, k: int,
                     budget: int = DEFAULT_BUDGET) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest faces of other people per photo (-1/inf when short): exact up to EXACT_LIMIT."""
    if len(vectors) <= EXACT_LIMIT:
        return nearest_other_faces(vectors, person_ids, k, budget)
    from search.index import knn_other_people, new_hnsw  # nmslib only for large galleries

    return knn_other_people(new_hnsw(vectors, IndexConfig()), vectors, person_ids, k, k + HNSW_EXTRA, budget)


def neighbours(vectors: np.ndarray, person_ids: np.ndarray,
               budget: int = DEFAULT_BUDGET) -> tuple[np.ndarray, np.ndarray]:
    """The NEIGHBOURS nearest faces of other people per photo: found once, used by every rule."""
    if len(vectors) < 2:
        return np.full((len(vectors), 1), -1, dtype=np.int64), np.full((len(vectors), 1), np.inf)
    return other_neighbours(vectors, person_ids, min(NEIGHBOURS, len(vectors) - 1), budget)


def nearest_people(vectors: np.ndarray, person_ids: np.ndarray, neighbour_ids: np.ndarray,
                   alive: np.ndarray | None = None) -> Nearest:
    """Per alive photo, the lowest median distance to the photos of one of the CANDIDATES people
    owning its nearest alive neighbours; dead photos (already dropped) count for nobody."""
    n = len(vectors)
    alive = np.ones(n, dtype=bool) if alive is None else alive
    nearest = Nearest(np.full(n, -1, dtype=np.int64), np.full(n, np.inf))
    groups = {p: rows[alive[rows]] for p, rows in members(person_ids).items()}
    asked: dict[int, list[int]] = {}  # person -> photos that want their median distance to it
    for face in np.flatnonzero(alive):
        row = neighbour_ids[face]
        row = row[row >= 0]
        seen: list[int] = []
        for p in person_ids[row[alive[row]]].tolist():
            if p not in seen:
                seen.append(p)
                asked.setdefault(p, []).append(int(face))
                if len(seen) == CANDIDATES:
                    break
    for p, faces in asked.items():
        medians = np.median(pairwise(vectors[faces], vectors[groups[p]]), axis=1)
        for face, m in zip(faces, medians):
            if m < nearest.median[face]:
                nearest.median[face], nearest.person[face] = m, p
    return nearest


def _components(n: int, pairs: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Connected groups (size >= 2) of the graph with the given edges on nodes 0..n-1."""
    if not pairs:
        return []
    a, b = np.array(pairs, dtype=np.int64).T
    _, label = connected_components(coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n)), directed=False)
    return [rows.tolist() for rows in members(label).values() if len(rows) >= 2]


def duplicate_groups(person_ids: np.ndarray, hashes: Sequence[str], neighbour_ids: np.ndarray,
                     neighbour_dists: np.ndarray, near: float) -> list[list[int]]:
    """Groups of photos that are one photo filed under two or more people (same bytes or vector)."""
    pairs: list[tuple[int, int]] = []
    by_hash: dict[str, int] = {}
    for face, h in enumerate(hashes):
        first = by_hash.setdefault(h, face)
        if first != face and person_ids[first] != person_ids[face]:
            pairs.append((first, face))
    faces, cols = np.nonzero((neighbour_dists < near) & (neighbour_ids >= 0))
    pairs += [(int(f), int(neighbour_ids[f, c])) for f, c in zip(faces, cols)]
    groups = _components(len(person_ids), pairs)
    return [g for g in groups if len({int(person_ids[f]) for f in g}) > 1]


def resolve_duplicates(vectors: np.ndarray, person_ids: np.ndarray, group: list[int],
                       config: GalleryConfig) -> list[Flag]:
    """Keep a duplicated photo only under the one person whose other photos it clearly matches.

    Clear: its median distance to that person's other photos is within ``same_person`` and beats
    every other person's by ``mislabel_margin``; a person with no other photo never matches.
    """
    in_group = set(group)
    own: dict[int, float] = {}
    for face in group:
        rest = [r for r in np.flatnonzero(person_ids == person_ids[face]) if r not in in_group]
        own[face] = float(np.median(pairwise(vectors[[face]], vectors[rest])[0])) if rest else np.inf
    best = min(group, key=lambda f: (own[f], f))
    runner_up = min((own[f] for f in group if person_ids[f] != person_ids[best]), default=np.inf)
    clear = own[best] <= config.same_person and own[best] + config.mislabel_margin < runner_up
    flags = []
    for face in group:
        rival = min((f for f in group if person_ids[f] != person_ids[face]), key=lambda f: (own[f], f))
        args = (own[face] if np.isfinite(own[face]) else np.nan, int(person_ids[rival]), own[rival])
        if not clear:
            flags.append(Flag(face, "duplicate_unclear", DROPPED, *args))
        elif face == best:
            flags.append(Flag(face, "duplicate_kept", FLAGGED, *args))
        else:
            flags.append(Flag(face, "duplicate", DROPPED, *args))
    return flags


def odd_photos(vectors: np.ndarray, person_ids: np.ndarray, nearest: Nearest, config: GalleryConfig) -> list[Flag]:
    """Photos of people with enough photos that sit with another person, or with nobody of theirs.

    One photo at a time per person, the furthest from its person first, and the person's
    medians taken again without it: with three photos, one wrong photo is half of what each of
    the other two is compared with, and would otherwise take a right one with it.

    In a person whose photos form two groups (see split_people) the person's median says
    nothing (half of everyone's comparisons are with the other group), so a photo of a group
    goes only if it is nearer another person than its own group: that group is someone else in
    the gallery. Otherwise which group is the person is for a human (flagged as a split).
    """
    flags = []
    for rows in members(person_ids).values():
        if len(rows) < config.clean_min_photos:
            continue
        d = pairwise(vectors[rows], vectors[rows])
        np.fill_diagonal(d, np.nan)
        alive = np.ones(len(rows), dtype=bool)
        other = nearest.median[rows]
        while alive.sum() >= config.clean_min_photos:
            live = np.flatnonzero(alive)
            sub = d[np.ix_(live, live)]
            own, nearest_own = np.nanmedian(sub, axis=1), np.nanmin(sub, axis=1)
            mislabelled = (own > config.same_person) & (own > other[live] + config.mislabel_margin)
            stranger = nearest_own > config.stranger_distance
            label, big = groups_of(sub, config)
            if len(big) >= 2:
                in_group = np.isin(label, big)
                mates = np.array([np.nanmedian(sub[i, label == label[i]]) if in_group[i] else np.nan
                                  for i in range(len(live))])
                mislabelled &= ~in_group | (other[live] < mates)
                stranger &= ~in_group
            odd = np.flatnonzero(mislabelled | stranger)
            if not len(odd):
                break
            worst = odd[np.argmax(own[odd])]
            face = int(rows[live[worst]])
            args = (float(own[worst]), int(nearest.person[face]), float(nearest.median[face]))
            if mislabelled[worst]:
                flags.append(Flag(face, "mislabelled", DROPPED, *args))
            else:
                flags.append(Flag(face, "stranger", DROPPED, *args, detail=f"nearest own photo {nearest_own[worst]:.3f}"))
            alive[live[worst]] = False
    return flags


def groups_of(d: np.ndarray, config: GalleryConfig) -> tuple[np.ndarray, np.ndarray]:
    """Group label per photo (linked by distances <= split_distance) and the labels of groups with
    >= split_min_group photos; ``d`` is one person's distance matrix (its diagonal is ignored)."""
    _, label = connected_components(np.nan_to_num(d, nan=np.inf) <= config.split_distance, directed=False)
    sizes = np.bincount(label)
    return label, np.flatnonzero(sizes >= config.split_min_group)


def split_people(vectors: np.ndarray, person_ids: np.ndarray, nearest: Nearest, config: GalleryConfig) -> list[Flag]:
    """Every photo of a person whose photos form >= 2 groups of >= split_min_group, far apart."""
    flags = []
    for rows in members(person_ids).values():
        if len(rows) < 2 * config.split_min_group:
            continue
        d = pairwise(vectors[rows], vectors[rows])
        np.fill_diagonal(d, np.nan)
        own = np.nanmedian(d, axis=1)
        label, big = groups_of(d, config)
        sizes = np.bincount(label)
        if len(big) < 2:
            continue
        number = {int(g): i + 1 for i, g in enumerate(big[np.argsort(-sizes[big], kind="stable")])}
        for i, (face, g) in enumerate(zip(rows, label)):
            where = f"group {number[g]} of {len(big)} ({sizes[g]} photos)" if g in number else "in no group"
            flags.append(Flag(int(face), "split", FLAGGED, float(own[i]), int(nearest.person[face]),
                              float(nearest.median[face]), where))
    return flags


def _on_rows(flags: list[Flag], rows: np.ndarray) -> list[Flag]:
    """Flags raised on a subset, renumbered to the rows of the whole input."""
    return [dataclasses.replace(f, face=int(rows[f.face])) for f in flags]


def clean(vectors: np.ndarray, person_ids: np.ndarray, hashes: Sequence[str], config: GalleryConfig,
          budget: int = DEFAULT_BUDGET) -> tuple[np.ndarray, list[Flag]]:
    """Which photos stay (a boolean mask over the rows) and every flag raised, in row order.

    Duplicates are settled first, so that a copy does not count as a photo of the wrong person;
    the odd-photo rules then look at what is left, and the split rule at what the gallery keeps.
    """
    vectors = np.asarray(vectors)
    person_ids = np.asarray(person_ids)
    keep = np.ones(len(vectors), dtype=bool)
    ids, dists = neighbours(vectors, person_ids, budget)
    flags: list[Flag] = []
    for group in duplicate_groups(person_ids, hashes, ids, dists, config.near_duplicate):
        flags += resolve_duplicates(vectors, person_ids, group, config)
    keep[[f.face for f in flags if f.action == DROPPED]] = False

    nearest = nearest_people(vectors, person_ids, ids, keep)
    rest = np.flatnonzero(keep)
    odd = _on_rows(odd_photos(vectors[rest], person_ids[rest], nearest[rest], config), rest)
    flags += odd
    keep[[f.face for f in odd]] = False

    kept = np.flatnonzero(keep)
    flags += _on_rows(split_people(vectors[kept], person_ids[kept], nearest[kept], config), kept)
    return keep, sorted(flags, key=lambda f: (f.face, f.reason))
