"""Gallery cleaning (rebuild/clean.py) on ../shared/faces, with deliberately misfiled photos.

    python -m bench.gallery_clean [--faces DIR] [--work DIR] [--trials 10] [--plants 10] [--seed 0] [--config FILE]
    python -m bench.gallery_clean --scale 20000,100000     # time and memory of clean() alone

Every run goes through rebuild.embeddings.build() on a tree of symlinks to the photos, so the
embedding cache is filled once and a trial costs no embedding. First the set as it is (what
cleaning flags there: hard photos or real label errors, to be looked at by hand), then per
trial ``--plants`` photos misfiled in one of four ways:

- moved: to a random other person; its true person keeps >= 2 photos in the gallery;
- lookalike: to the other person whose photos it is nearest to (the hardest case);
- absent: to a random other person, and its true person's other photos are left out (a
  person who is not in the gallery at all);
- copied: the same file also under a random other person;
- namesake: two photos of a person not in the gallery, both under one random other person (the
  split rule's case: two groups of two, flagged, not dropped).

Reported per way: plants dropped (caught), other photos dropped (beyond those dropped in the
clean set), and leave-one-out rank-1 of the real photos (each against the rest of the gallery,
judged by its true person) with gallery.clean off and on.

--scale times rebuild.clean.clean() on synthetic galleries (bench.index_scaling's model around
the real descriptors of the set, 4 faces a person): seconds and the peak of numpy's allocations.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import io
import random
import shutil
import sys
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import rebuild.embeddings
from bench.common import SHARED_FACES
from rebuild.clean import DROPPED, REASONS, clean, nearest_people, neighbours
from gallery.photos import EXTENSIONS
from gallery.store import Gallery
from rebuild.clean import DROPPED, REASONS, clean, nearest_people, neighbours
from search.exact import exact_knn
from settings import Config, load_config

WAYS = ("moved", "lookalike", "absent", "copied", "namesake")


@dataclass(frozen=True)
class Plant:
    source: Path       # the real photo
    person: str        # its true person (folder)
    target: str        # the folder it is filed under


def photos_by_person(faces: Path) -> dict[str, list[Path]]:
    return {d.name: sorted(f for f in d.iterdir() if f.suffix.lower() in EXTENSIONS)
            for d in sorted(faces.iterdir()) if d.is_dir() and not d.name.startswith(".")}


def lay_out(tree: Path, people: dict[str, list[Path]], plants: list[Plant], way: str) -> dict[str, str]:
    """A symlink tree of the set with the plants misfiled; returns folder/file -> true person."""
    shutil.rmtree(tree, ignore_errors=True)
    moved = {p.source for p in plants} if way != "copied" else set()
    absent = {p.person for p in plants} if way in ("absent", "namesake") else set()
    truth = {}
    for person, files in people.items():
        for f in files:
            if f in moved or (person in absent and f not in {p.source for p in plants}):
                continue
            (tree / person).mkdir(parents=True, exist_ok=True)
            (tree / person / f.name).symlink_to(f)
            truth[f"{person}/{f.name}"] = person
    for p in plants:
        name = f"planted-{p.person}-{p.source.name}"
        (tree / p.target).mkdir(parents=True, exist_ok=True)
        (tree / p.target / name).symlink_to(p.source)
        truth[f"{p.target}/{name}"] = p.person
    return truth


def choose_plants(people: dict[str, list[Path]], count: int, way: str, rng: random.Random,
                  nearest: dict[Path, str]) -> list[Plant]:
    """``count`` photos of distinct people, each filed under a distinct other person.

    Only photos that pass selection (the keys of ``nearest``) are planted: one that the quality
    filter drops says nothing about cleaning.
    """
    people = {n: [f for f in files if f in nearest] for n, files in people.items()}
    names = list(people)
    sources = [n for n in names if len(people[n]) >= (2 if way in ("absent", "namesake") else 3)]
    used: set[str] = set()
    plants = []
    for person in rng.sample(sources, len(sources)):
        if len(plants) >= count:
            break
        if person in used:
            continue
        photo = rng.choice(people[person])
        if way == "lookalike":
            target = nearest.get(photo)
        else:
            target = rng.choice([n for n in names if n != person and len(people[n]) >= 2])
        if target is None or target in used or target == person:
            continue
        used |= {person, target}
        if way == "namesake":  # two of the person's photos, under one target
            plants += [Plant(f, person, target) for f in rng.sample(people[person], 2)]
        else:
            plants.append(Plant(photo, person, target))
    return plants


def build(config: Config, tree: Path, cleaning: bool) -> tuple[rebuild.embeddings.Report, Gallery]:
    config = config.replace(gallery={"clean": cleaning})
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):  # no progress bars
        report = rebuild.embeddings.build(config, tree)
    return report, Gallery.load(config.paths.assets)


def review_rows(config: Config) -> list[dict[str, str]]:
    with open(config.paths.assets / rebuild.embeddings.REVIEW_FILE, newline="") as fh:
        return list(csv.DictReader(fh))


def loo_rank1(gallery: Gallery, truth: dict[str, str], probes: dict[str, np.ndarray]) -> float:
    """Share of probes whose nearest other gallery photo is filed under their true person (a probe
    in the gallery is matched against the rest of it): what the bot would answer."""
    files = [gallery.faces[i]["file"] for i in range(len(gallery))]
    owner = np.array([f.split("/")[0] for f in files])  # the folder: the name the bot would give
    row = {f: i for i, f in enumerate(files)}
    names = list(probes)
    if not names or len(gallery) < 2:
        return float("nan")
    ids, _ = exact_knn(np.array([probes[n] for n in names]), gallery.vectors, 2)
    hits = 0
    for name, (first, second) in zip(names, ids):
        best = second if row.get(name) == first else first  # a probe never matches itself
        hits += owner[best] == truth[name]
    return hits / len(names)


def lookalike_targets(gallery: Gallery, faces: Path) -> dict[Path, str]:
    """Per gallery photo, the other person whose photos it is nearest to by median distance."""
    ids, _ = neighbours(gallery.vectors, gallery.person_ids)
    nearest = nearest_people(gallery.vectors, gallery.person_ids, ids)
    folders = [gallery.people[p]["folder"] for p in range(len(gallery.people))]
    return {faces / gallery.faces[i]["file"]: folders[nearest.person[i]]
            for i in range(len(gallery)) if nearest.person[i] >= 0}


def scale(seeds: np.ndarray, sizes: list[int], config: Config) -> None:
    """Seconds and peak traced memory of clean() on synthetic galleries of the given sizes."""
    from bench.index_scaling import FACES_PER_PERSON, synthesize
    print("| faces | seconds | peak numpy memory | dropped | flagged |")
    print("|---|---|---|---|---|")
    for n in sizes:
        vectors, _ = synthesize(seeds, n, 1, np.random.default_rng(n))
        person_ids = np.repeat(np.arange(n // FACES_PER_PERSON + 1), FACES_PER_PERSON)[:n]
        hashes = [str(i) for i in range(n)]
        tracemalloc.start()
        started = time.perf_counter()
        keep, flags = clean(vectors, person_ids, hashes, config.gallery, config.build.memory_mb * 2**20)
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"| {n:,} | {seconds:.1f} | {peak / 2**20:.0f} MB | {int((~keep).sum())} | "
              f"{sum(f.action != DROPPED for f in flags)} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=Path, default=SHARED_FACES)
    parser.add_argument("--work", type=Path, default=Path("/tmp/lookalike-gallery-clean"))
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--plants", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--config", type=Path, help="config file (default: config.yaml): other thresholds")
    parser.add_argument("--scale", help="comma-separated gallery sizes: time clean() on synthetic galleries")
    args = parser.parse_args(argv)
    if not args.faces.is_dir():
        print(f"gallery_clean: skipped, no labelled faces at {args.faces}")
        return 0
    config = load_config(args.config).replace(paths={"assets": args.work / "assets"}, pool={"workers": 2})
    people = photos_by_person(args.faces)

    tree = args.work / "tree"
    truth = lay_out(tree, people, [], "none")
    report, base = build(config, tree, cleaning=True)
    if args.scale:
        scale(base.vectors, [int(x) for x in args.scale.split(",")], config)
        return 0
    print(f"clean set: {report.photos_kept} photos of {report.people_kept} people kept")
    for reason, n in (report.skipped + report.flagged).most_common():
        print(f"  {n:4d}  {reason}")
    review = review_rows(config)
    for row in review:
        print(f"    {row['action']} {row['file']}: {row['reason']} (own {row['own_distance']}, "
              f"{row['nearest_other_person']} {row['distance']}) {row['detail']}")
    base_dropped = {row["file"] for row in review if row["action"] == DROPPED}
    _, full = build(config, tree, cleaning=False)
    nearest = lookalike_targets(full, args.faces)

    rng = random.Random(args.seed)
    print(f"\n{args.trials} trials x {args.plants} plants per way")
    print("| way | plants | caught (dropped) | by reason | flagged for review | other photos dropped | "
          "rank-1 off / on | rank-1 of the people involved, off / on |")
    print("|---|---|---|---|---|---|---|---|")
    for way in WAYS:
        planted = caught = false = flagged = 0
        reasons: Counter = Counter()
        rank_off, rank_on, near_off, near_on = [], [], [], []
        for _ in range(args.trials):
            plants = choose_plants(people, args.plants, way, rng, nearest)
            truth = lay_out(tree, people, plants, way)
            planted_files = {f"{p.target}/planted-{p.person}-{p.source.name}" for p in plants}
            _, off = build(config, tree, cleaning=False)
            _, on = build(config, tree, cleaning=True)
            rows = review_rows(config)
            dropped = {row["file"]: row["reason"] for row in rows if row["action"] == DROPPED}
            flagged += sum(1 for row in rows if row["action"] != DROPPED and row["file"] in planted_files)
            planted += len(plants)
            for f in planted_files:
                if f in dropped:
                    caught += 1
                    reasons[dropped[f]] += 1
            false += sum(1 for f in dropped if f not in planted_files and f not in base_dropped)
            probes = {off.faces[i]["file"]: off.vectors[i] for i in range(len(off))
                      if off.faces[i]["file"] not in planted_files}
            rank_off.append(loo_rank1(off, truth, probes))
            rank_on.append(loo_rank1(on, truth, probes))
            involved = {p.person for p in plants} | {p.target for p in plants}
            mine = {f: v for f, v in probes.items() if truth[f] in involved}
            near_off.append(loo_rank1(off, truth, mine))
            near_on.append(loo_rank1(on, truth, mine))
        code = {text: key for key, text in REASONS.items()}
        by = "; ".join(f"{n} {code[r]}" for r, n in reasons.most_common())
        print(f"| {way} | {planted} | {caught} ({caught / max(planted, 1):.0%}) | {by} | {flagged} | {false} | "
              f"{np.mean(rank_off):.2%} / {np.mean(rank_on):.2%} | {np.mean(near_off):.1%} / {np.mean(near_on):.1%} |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
