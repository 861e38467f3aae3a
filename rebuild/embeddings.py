"""Photo folders -> the gallery in assets/: embed what is new, select, clean, save.

The work behind build_embeddings.py (and step 2 of make_gallery.py), kept out of the script so
the bench and make_gallery call the same code the user runs, without importing a script.
Results are committed to the embedding cache (rebuild/cache.py) as they come, so an interrupted
build resumes where it stopped; selection (rebuild/select.py) and cleaning (rebuild/clean.py)
then work on the cached vectors, so a changed filter needs no re-embedding.
"""
from __future__ import annotations

import csv
import io
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from durable import atomic_write
from gallery.photos import PersonPhotos, content_hash, scan
from gallery.store import THUMBS, Gallery, thumbnail_name
from rebuild.cache import EmbedCache, Entry
from rebuild.clean import DROPPED, FLAGGED, REASONS as CLEAN_REASONS, Flag, clean
from rebuild.select import REASONS, Candidate, select
from settings import Config
from worker.outcome import Outcome
from worker.pool import FacePool


@dataclass
class Report:
    """What a build kept and why the rest was skipped (printed by run(), summed up by rebuild/make.py)."""
    people: int = 0                 # person folders with photos
    photos: int = 0
    people_kept: int = 0
    photos_kept: int = 0
    skipped: Counter = field(default_factory=Counter)   # reason text -> photos (cleaning's drops included)
    flagged: Counter = field(default_factory=Counter)   # reason text -> photos kept but listed for review
    review: Path | None = None                          # the review list, when cleaning ran
    review_rows: int = 0                                # photos on it (dropped or flagged)
    seconds: float = 0.0


def open_pool(config: Config, workers: int | None, dask: str | None, todo: int):
    """The local process pool, or a Dask cluster with the same map_files()."""
    if dask:
        from worker.dask_pool import DaskPool  # distributed is imported only when asked for
        return DaskPool(dask, config.engine, config.build.dask_in_flight)
    return FacePool(config.engine, config.pool, workers=min(workers or config.pool.worker_count, todo))


FINAL_OUTCOMES = {Outcome.OK.value, Outcome.NO_FACE.value, Outcome.NOT_AN_IMAGE.value, Outcome.TOO_LARGE.value}


def missing(files: list[tuple[int, Path]], hashes: dict[Path, str], cache: EmbedCache,
            assets: Path) -> dict[str, Path]:
    """Photos to embed: content not in the cache, a single face whose thumbnail is gone, or a
    photo whose last attempt failed for a reason of the moment (a worker died, a time-out on a
    busy machine): only what the photo itself decided is final."""
    todo: dict[str, Path] = {}
    for _, f in files:
        h = hashes[f]
        entry = cache.entries.get(h)
        if (entry is None or entry.outcome not in FINAL_OUTCOMES
                or (entry.faces == 1 and not (assets / thumbnail_name(h)).is_file())):
            todo.setdefault(h, f)
    return todo


REVIEW_FILE = "gallery_review.csv"
REVIEW_COLUMNS = ["person", "file", "reason", "own_distance", "nearest_other_person", "distance", "action", "detail"]


def review_csv(flags: list[Flag], kept: list[Candidate], people: list[PersonPhotos]) -> str:
    """The review list: one row per flagged photo, what was wrong and what was done.

    own_distance is the photo's median distance to its person's other photos; distance is its
    median distance to nearest_other_person's photos (for copies: that copy's own median there).
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REVIEW_COLUMNS)
    for f in flags:
        cand = kept[f.face]
        other = people[f.other_person].name if f.other_person >= 0 else ""
        writer.writerow([people[cand.person].name, f"{people[cand.person].folder}/{cand.file.name}",
                         CLEAN_REASONS[f.reason], _number(f.own), other, _number(f.other), f.action, f.detail])
    return out.getvalue()


def _photos(n: int) -> str:
    return f"{n} photo" if n == 1 else f"{n} photos"


def _number(x: float) -> str:
    return f"{x:.3f}" if np.isfinite(x) else ""


def clean_gallery(kept: list[Candidate], people: list[PersonPhotos], config: Config,
                  report: Report) -> list[Candidate]:
    """Run rebuild/clean.py over the selection: print and count what goes, write the review list."""
    review = config.paths.assets / REVIEW_FILE
    if not config.gallery.clean:
        review.unlink(missing_ok=True)  # a stale list would describe another gallery
        return kept
    keep, flags = clean(np.array([c.entry.vector for c in kept], dtype=np.float32),
                        np.array([c.person for c in kept], dtype=np.int64), [c.hash for c in kept],
                        config.gallery, config.build.memory_mb * 2**20)
    dropped = [f for f in flags if f.action == DROPPED]
    report.skipped.update(CLEAN_REASONS[f.reason] for f in dropped)
    report.flagged.update(CLEAN_REASONS[f.reason] for f in flags if f.action == FLAGGED)
    atomic_write(review, review_csv(flags, kept, people).encode())
    report.review, report.review_rows = review, len(flags)
    print(f"cleaning: {_photos(len(dropped))} dropped, {_photos(len(flags) - len(dropped))} flagged for review "
          f"-> {review}", flush=True)
    for f in dropped:
        cand = kept[f.face]
        other = f"; {people[f.other_person].name} {_number(f.other) or '-'}" if f.other_person >= 0 else ""
        print(f"  dropped {people[cand.person].folder}/{cand.file.name}: {CLEAN_REASONS[f.reason]} "
              f"(own {_number(f.own) or '-'}{other})")
    return [c for c, k in zip(kept, keep) if k]


class BuildError(Exception):
    """A build that cannot go on: the message for stderr and the exit status."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def build(config: Config, photos: Path, workers: int | None = None, jitters: int | None = None,
          dask: str | None = None) -> Report:
    """Embed new photos, select the gallery and save it to paths.assets."""
    assets = config.paths.assets
    jitters = config.gallery.jitters if jitters is None else jitters
    started = time.perf_counter()

    try:
        people = scan(photos)
    except FileNotFoundError as exc:
        raise BuildError(str(exc), 2) from None
    if not people:
        raise BuildError(f"no person folders with photos in {photos}", 2)

    files = [(pid, f) for pid, person in enumerate(people) for f in person.files]
    hashes = {f: content_hash(f) for _, f in tqdm(files, desc="hashing", unit="photo", leave=False)}
    cache = EmbedCache.open(assets, jitters, config.build.batch_size)
    try:
        todo = missing(files, hashes, cache, assets)
        distinct = len(set(hashes.values()))
        print(f"{len(people)} people, {len(files)} photos ({distinct} distinct), {distinct - len(todo)} already "
              f"embedded, {len(todo)} to embed (jitters={jitters})", flush=True)
        if todo:
            path_hash = {str(p): h for h, p in todo.items()}
            with open_pool(config, workers, dask, len(todo)) as pool:
                results = pool.map_files(todo.values(), jitters=jitters, thumbnail_size=config.gallery.thumbnail_size)
                for path, result in tqdm(results, total=len(todo), desc="embedding", unit="photo"):
                    h = path_hash[str(path)]
                    # Thumbnail first: a cache entry always has its thumbnail on disk.
                    if len(result.faces) == 1 and result.thumbnail:
                        atomic_write(assets / thumbnail_name(h), result.thumbnail)
                    cache.add(h, Entry.from_result(result))
    finally:
        cache.close()

    candidates = [Candidate(pid, f, hashes[f], cache.entries[hashes[f]]) for pid, f in files]
    kept, skipped = select(candidates, config.gallery)
    report = Report(people=len(people), photos=len(files), photos_kept=len(kept),
                    skipped=Counter({REASONS[r]: n for r, n in skipped.items()}))
    if not kept:
        raise BuildError("no photo passed the quality filter; nothing written", 1)
    kept = clean_gallery(kept, people, config, report)
    report.photos_kept = len(kept)
    if not kept:
        raise BuildError("cleaning dropped every photo; nothing written", 1)

    # People without a kept photo drop out; ids are renumbered densely.
    used = sorted({c.person for c in kept})
    new_id = {old: new for new, old in enumerate(used)}
    gallery = Gallery(
        vectors=np.array([c.entry.vector for c in kept], dtype=np.float32),
        person_ids=np.array([new_id[c.person] for c in kept], dtype=np.int32),
        faces=[{"file": f"{people[c.person].folder}/{c.file.name}", "hash": c.hash,
                "thumbnail": thumbnail_name(c.hash), **people[c.person].attribution(c.file)} for c in kept],
        people=[{"name": people[old].name, "folder": people[old].folder, **people[old].links()} for old in used],
        assets=assets,
    )
    gallery.save(assets)
    # Thumbnails of photos no longer in the folders go; those of current photos
    # stay even when not kept, so a changed filter needs no re-embedding.
    keep_thumbs = {Path(thumbnail_name(h)).name for h in hashes.values()}
    for thumb in (assets / THUMBS).glob("*.jpg"):
        if thumb.name not in keep_thumbs:
            thumb.unlink()
    report.people_kept = len(used)
    report.seconds = time.perf_counter() - started
    return report


def run(config: Config, photos: Path, workers: int | None = None, jitters: int | None = None,
        dask: str | None = None) -> int:
    """build() with its summary printed, as build_embeddings.py shows it; returns the exit status."""
    try:
        report = build(config, photos, workers, jitters, dask)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    print(f"kept {report.photos_kept} photos of {report.people_kept} people in {report.seconds:.1f}s "
          f"-> {config.paths.assets}")
    for reason, count in report.skipped.most_common():
        print(f"  skipped {count:5d}  {reason}")
    for reason, count in report.flagged.most_common():
        print(f"  flagged {count:5d}  {reason}")
    if report.review:
        print(f"  review list: {report.review}")
    dropped = report.people - report.people_kept
    if dropped:
        print(f"  {dropped} people had no usable photo and are not in the gallery")
    return 0

