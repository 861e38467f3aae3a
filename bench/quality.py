"""Matching quality and calibration, measured the way users meet the bot.

    python -m bench.quality [--faces DIR] [--plant N] [--plot docs/calibration.png]

Protocol (issue 11), on the labelled faces in ../shared/faces/:
- people are split by a stable hash of the name: 70% are celebrities, 30% play users;
- the gallery is every photo but one of each celebrity, built by build_embeddings.py's and
  build_index.py's own code (rebuild.embeddings, rebuild.index: quality filters, cleaning, the
  project's calibration);
- the held-back photo of each celebrity is an identification probe: rank-1 and rank-5;
- every photo of the other 30% is an *outsider* search, like a real user: the % the bot
  reports for its best match is compared with the empirical share of outsider searches whose
  best match is worse, which is what the % claims to be. The calibration never sees these
  people, so unlike fitting and checking on the same distances the check can fail.
``--plant N`` also builds the gallery with N photos filed under the wrong person, with gallery
cleaning off and on, to measure what cleaning buys.
Embeddings are cached in .cache/quality/, so a second run takes seconds.
"""
from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import rebuild.embeddings
import rebuild.index
from bench.common import SHARED_FACES, pyplot
from rebuild.cache import EmbedCache, Entry
from gallery.demo import ROOT
from gallery.photos import content_hash
from gallery.store import Gallery
from rebuild.cache import EmbedCache, Entry
from search import calibration
from search.exact import exact_knn
from search.index import FaceIndex
from search.pull import pull_to_person
from search.similarity import similarity
from settings import Config, load_config
from worker.pool import FacePool

WORK = ROOT / ".cache" / "quality"
GALLERY_SHARE = 0.70
CLOSE_PAIR = 0.5          # different people closer than this: dlib's known weak spot
BINS = 10
# What matching was before issue 11: a plain normal, photos indexed as they are, the old
# eye-distance filter (and no cleaning, where the build has it).
BEFORE = {"similarity": {"calibration": "normal"}, "index": {"person_pull": 0.0}, "gallery": {"min_eye_distance": 20.0}}


def stable_unit(text: str) -> float:
    """A number in [0, 1) fixed by the text alone (no seed, no Python hash randomisation)."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16) / 16**12


@dataclass(frozen=True)
class Split:
    gallery: dict[str, list[Path]]    # person folder -> gallery photos
    held_back: dict[str, Path]        # person folder -> identification probe
    outsiders: dict[str, list[Path]]  # person folder -> photos searched as users


def split(faces: Path, salt: str = "") -> Split:
    """The protocol's split (salt ""); other salts give other, equally valid splits."""
    gallery, held, outsiders = {}, {}, {}
    for folder in sorted(p for p in faces.iterdir() if p.is_dir()):
        photos = sorted(folder.glob("*.jpg"))
        if len(photos) < 1:
            continue
        if stable_unit(salt + folder.name) < GALLERY_SHARE and len(photos) >= 2:
            probe = min(photos, key=lambda p: stable_unit(f"{salt}{folder.name}/{p.name}"))
            held[folder.name] = probe
            gallery[folder.name] = [p for p in photos if p != probe]
        else:
            outsiders[folder.name] = photos
    return Split(gallery, held, outsiders)


def plant(gallery: dict[str, list[Path]], n: int) -> tuple[dict[str, list[Path]], list[tuple[Path, str, str]]]:
    """Move n photos (of people with >= 3) to another person's folder: known mislabels."""
    if n <= 0:
        return gallery, []
    names = sorted(gallery)
    donors = sorted((p for p in names if len(gallery[p]) >= 3), key=lambda p: stable_unit("plant:" + p))[:n]
    moved = {k: list(v) for k, v in gallery.items()}
    planted = []
    for donor in donors:
        photo = moved[donor].pop()
        target = min((p for p in names if p != donor), key=lambda p: stable_unit(f"to:{donor}:{p}"))
        moved[target].append(photo)
        planted.append((photo, donor, target))
    return moved, planted


def link_tree(root: Path, people: dict[str, list[Path]]) -> Path:
    """A photo folder of symlinks (the labelled set is never copied)."""
    if root.exists():
        shutil.rmtree(root)
    for person, photos in people.items():
        (root / person).mkdir(parents=True)
        for i, photo in enumerate(photos):
            (root / person / f"{i:03d}_{photo.parent.name}_{photo.name}").symlink_to(photo.resolve())
    return root


def build_gallery(config: Config, photos: Path) -> tuple[FaceIndex, dict]:
    """The gallery and index exactly as the offline scripts build them."""
    report = rebuild.embeddings.build(config, photos)
    meta = rebuild.index.build(config)
    return FaceIndex.load(config), {"report": report, "meta": meta}


def embed_probes(config: Config, photos: list[Path]) -> dict[Path, np.ndarray | None]:
    """Probe vectors (the largest face when several), cached by content like the gallery's."""
    cache = EmbedCache.open(WORK / "probes", config.engine.jitters, config.build.batch_size)
    try:
        hashes = {p: content_hash(p) for p in photos}
        todo = [p for p in photos if hashes[p] not in cache.entries]
        if todo:
            with FacePool(config.engine, config.pool) as pool:
                for path, result in pool.map_files(todo):
                    entry = Entry.from_result(result)
                    if len(result.faces) > 1:  # a user's photo with a bystander: the bot answers each face
                        big = max(result.faces, key=lambda f: f.width)
                        entry = Entry(result.outcome.value, 1, big.vector, big.eye_distance, big.roll)
                    cache.add(hashes[Path(path)], entry)
        return {p: cache.entries[hashes[p]].vector for p in photos}
    finally:
        cache.close()


def search(index: FaceIndex, vectors: np.ndarray, k: int) -> list[list]:
    return index.search(vectors, top_k=k) if len(vectors) else []


def identification(index: FaceIndex, probes: dict[str, np.ndarray | None]) -> dict:
    names = [p["folder"] for p in index.gallery.people]
    have = {k: v for k, v in probes.items() if v is not None}
    people = list(have)
    matches = search(index, np.array([have[p] for p in people]), 5)
    ranks = {}
    for person, found in zip(people, matches):
        order = [names[m.person] for m in found]
        ranks[person] = order.index(person) + 1 if person in order else 99
    r = np.array(list(ranks.values()))
    return {"probes": len(r), "no_face": len(probes) - len(have), "rank1": float(np.mean(r == 1)),
            "rank5": float(np.mean(r <= 5)), "ranks": ranks,
            "misses": sorted(p for p, k in ranks.items() if k > 1)}


def empirical_share(best: np.ndarray) -> np.ndarray:
    """For each search, the share of all searches whose best match is farther (ties count half)."""
    order = np.sort(best)
    below = np.searchsorted(order, best, side="left")
    above = len(best) - np.searchsorted(order, best, side="right")
    return (above + 0.5 * (len(best) - below - above - 1)) / max(1, len(best) - 1)


def gaps(reported: np.ndarray, empirical: np.ndarray) -> dict:
    g = np.abs(reported - empirical) * 100
    return {"mean": float(g.mean()), "p90": float(np.percentile(g, 90)), "max": float(g.max())}


def decile_table(reported: np.ndarray, empirical: np.ndarray) -> list[tuple[str, int, float, float]]:
    rows = []
    for b in range(BINS):
        lo, hi = b * 100 / BINS, (b + 1) * 100 / BINS
        r = reported * 100
        mask = (r >= lo) & ((r < hi) if b < BINS - 1 else (r <= hi))
        if mask.any():
            rows.append((f"{lo:.0f}-{hi:.0f}%", int(mask.sum()), float(r[mask].mean()),
                         float(empirical[mask].mean() * 100)))
    return rows


def outsider_searches(index: FaceIndex, probes: dict[Path, np.ndarray | None]) -> np.ndarray:
    vectors = np.array([v for v in probes.values() if v is not None])
    return np.array([m[0].distance for m in search(index, vectors, 1)])


def close_pairs(index: FaceIndex, vectors: np.ndarray) -> list[tuple[float, str, str]]:
    """Pairs of different gallery people with photos closer than CLOSE_PAIR."""
    people = index.gallery.person_ids
    ids, dists = exact_knn(vectors, vectors, min(len(vectors), 16))
    pairs: dict[tuple[int, int], float] = {}
    for row in range(len(vectors)):
        for j, d in zip(ids[row], dists[row]):
            if d >= CLOSE_PAIR:
                break
            a, b = int(people[row]), int(people[j])
            if a != b:
                key = (min(a, b), max(a, b))
                pairs[key] = min(pairs.get(key, 9.0), float(d))
    names = index.gallery.names
    return sorted((d, names[a], names[b]) for (a, b), d in pairs.items())


def by_brightness(gallery: Gallery, photos: Path, dark_share: float = 0.1) -> dict[str, dict]:
    """Same-person against stranger distances for the darkest photos and the rest (a caveat with numbers).

    For each gallery photo: the nearest other photo of its own person and the nearest photo of
    anyone else; "confused" when the stranger is nearer, i.e. that photo as a probe would miss.
    """
    from PIL import Image

    luma = np.array([float(np.asarray(Image.open(photos / f["file"]).convert("L"), dtype=np.float32).mean())
                     for f in gallery.faces])
    ids, dists = exact_knn(gallery.vectors, gallery.vectors, min(len(gallery.vectors), 64))
    own = np.full(len(ids), np.inf)
    other = np.full(len(ids), np.inf)
    for row in range(len(ids)):
        for j, d in zip(ids[row][1:], dists[row][1:]):
            same = gallery.person_ids[j] == gallery.person_ids[row]
            if same and own[row] == np.inf:
                own[row] = d
            if not same and other[row] == np.inf:
                other[row] = d
    has_pair = np.isfinite(own)
    dark = luma <= np.quantile(luma, dark_share)
    out = {}
    for label, mask in ((f"darkest {dark_share:.0%}", dark & has_pair), ("the rest", ~dark & has_pair)):
        if not mask.any():
            continue
        out[label] = {"photos": int(mask.sum()), "luma": float(np.median(luma[mask])),
                      "own": float(np.median(own[mask])), "confused": float(np.mean(other[mask] < own[mask]))}
    return out


def calibration_variants(gallery_distances: np.ndarray, outsider_best: np.ndarray,
                         floor: float) -> dict[str, dict]:
    """Each calibration method fitted on the gallery alone, checked on the outsiders."""
    empirical = empirical_share(outsider_best)
    out = {}
    for method in calibration.METHODS:
        cal = calibration.fit(gallery_distances, method)
        reported = similarity(outsider_best, cal.mean, cal.std, floor, cal.lam)
        out[method] = {"cal": cal, **gaps(reported, empirical)}
    return out


def plot(path: Path, before: dict, now: dict, gallery_distances: np.ndarray) -> None:
    plt = pyplot()
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    fit_on = gallery_distances[np.isfinite(gallery_distances)]
    both = np.concatenate([fit_on, now["best"]])
    bins = np.linspace(both.min(), both.max(), 40)
    if len(fit_on):
        a.hist(fit_on, bins=bins, density=True, alpha=0.5, label="gallery: nearest stranger (fit)")
    a.hist(now["best"], bins=bins, density=True, alpha=0.5, label="outsiders: best match (check)")
    a.set_xlabel("L2 distance")
    a.set_title("What the calibration is fitted on, and checked on")
    a.legend()
    b.plot([0, 100], [0, 100], "k--", lw=1, label="perfect")
    for run_, colour in ((before, "grey"), (now, "C3")):
        order = np.argsort(run_["empirical"])
        b.plot(run_["empirical"][order] * 100, run_["reported"][order] * 100, "-", color=colour,
               label=f"{run_['label']}: gap mean {run_['gaps']['mean']:.1f}, max {run_['gaps']['max']:.1f}")
    b.fill_between([0, 100], [-5, 95], [5, 105], color="green", alpha=0.1, label="within 5 points")
    b.set_xlabel("share of outsider searches whose best match is worse, %")
    b.set_ylabel("reported similarity %")
    b.set_title(f"Reported % on {len(now['best'])} outsider searches")
    b.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def run(config: Config, people: dict[str, list[Path]], held_back: dict[str, np.ndarray | None],
        outsiders: dict[Path, np.ndarray | None], label: str) -> dict:
    """One gallery, its identification and calibration figures."""
    photos = link_tree(WORK / "photos", people)
    index, built = build_gallery(config, photos)
    ident = identification(index, held_back)
    best = outsider_searches(index, outsiders)
    reported = np.array([index.similarity(d) for d in best])
    empirical = empirical_share(best)
    report = built["report"]
    return {"label": label, "index": index, "ident": ident, "best": best, "reported": reported,
            "empirical": empirical, "gaps": gaps(reported, empirical), "report": report, "meta": built["meta"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=Path, default=SHARED_FACES)
    parser.add_argument("--plant", type=int, default=0, help="also measure N planted mislabels, cleaning off/on")
    parser.add_argument("--splits", type=int, default=1,
                        help="also repeat on N-1 other splits (other salts of the hash): how much is luck")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "calibration.png")
    args = parser.parse_args(argv)
    if not args.faces.is_dir():
        print(f"quality: skipped, no labelled faces at {args.faces} (see DEVELOPERS.md)")
        return 0
    started = time.perf_counter()
    base = load_config()
    config = base.replace(paths={"assets": WORK / "assets", "photos": WORK / "photos"})
    parts = split(args.faces)
    if len(parts.gallery) < 2 or not parts.outsiders:
        print("quality: skipped, too few people in the labelled set")
        return 0
    outsider_photos = [p for photos in parts.outsiders.values() for p in photos]
    vectors = embed_probes(config, list(parts.held_back.values()) + outsider_photos)
    held = {person: vectors[p] for person, p in parts.held_back.items()}
    outsiders = {p: vectors[p] for p in outsider_photos}
    print(f"labelled set: {len(parts.gallery)} celebrities ({sum(map(len, parts.gallery.values()))} gallery photos), "
          f"{len(parts.outsiders)} outsiders ({len(outsider_photos)} photos); "
          f"{sum(v is None for v in vectors.values())} probe photos without a face")

    before = config.replace(**{**BEFORE, "gallery": {**BEFORE["gallery"],
                                                     **({"clean": False} if hasattr(config.gallery, "clean") else {})}})
    before_run = run(before, parts.gallery, held, outsiders, "before")
    main_run = run(config, parts.gallery, held, outsiders, "now")
    index, ident = main_run["index"], main_run["ident"]
    report = main_run["report"]
    print(f"gallery: kept {report.photos_kept} of {report.photos} photos of {report.people_kept} people; "
          + ", ".join(f"{n} {r}" for r, n in report.skipped.most_common()))
    cal = index.calibration
    print(calibration.describe(cal))
    misses = ", ".join(f"{p} ({ident['ranks'][p]})" for p in ident["misses"])
    print(f"identification: {ident['probes']} held-back photos: rank-1 {ident['rank1']:.1%}, "
          f"rank-5 {ident['rank5']:.1%}" + (f"; missed at rank 1: {misses}" if misses else ""))

    print(f"{'':>16} {'rank-1':>7} {'rank-5':>7}   gaps on outsiders: mean / p90 / max (points)")
    for r in (before_run, main_run):
        print(f"{r['label']:>16} {r['ident']['rank1']:7.1%} {r['ident']['rank5']:7.1%}   "
              f"{r['gaps']['mean']:.1f} / {r['gaps']['p90']:.1f} / {r['gaps']['max']:.1f}")

    gallery = Gallery.load(config.paths.assets)
    indexed = pull_to_person(gallery.vectors, gallery.person_ids, config.index.person_pull)
    distances = rebuild.index.nearest_strangers(gallery, index.hnsw, config.build.memory_mb * 2**20, indexed)
    fitted = cal.source == "gallery"  # a tiny gallery uses the prior: there is nothing to compare
    variants = calibration_variants(distances, main_run["best"], config.similarity.min_similarity) if fitted else {}
    g = main_run["gaps"]
    print(f"calibration on {len(main_run['best'])} outsider searches: gap mean {g['mean']:.1f} / "
          f"p90 {g['p90']:.1f} / max {g['max']:.1f} points ({cal.method})")
    if variants:
        print(f"{'method':>8} {'KS on gallery':>13} {'mean':>5} {'p90':>5} {'max':>5}   (gaps on outsiders, points)")
    for method, v in variants.items():
        print(f"{method:>8} {v['cal'].ks_statistic:13.3f} {v['mean']:5.1f} {v['p90']:5.1f} {v['max']:5.1f}")
    print(f"{'reported':>9} {'searches':>8} {'mean reported':>13} {'mean empirical':>14}")
    for label, n, rep, emp in decile_table(main_run["reported"], main_run["empirical"]):
        print(f"{label:>9} {n:8d} {rep:12.1f}% {emp:13.1f}%")

    pairs = close_pairs(index, gallery.vectors)
    close_people = {n for _, a, b in pairs for n in (a, b)}
    folder_of = {p["name"]: p["folder"] for p in index.gallery.people}
    close_ranks = [ident["ranks"][folder_of[n]] for n in close_people if folder_of[n] in ident["ranks"]]
    print(f"hardest cases: {len(pairs)} pairs of different celebrities with photos closer than {CLOSE_PAIR}"
          + (f"; rank-1 of those {len(close_ranks)} people's held-back photos: {np.mean(np.array(close_ranks) == 1):.1%}"
             if close_ranks else ""))
    for d, a, b in pairs[:15]:
        print(f"  {d:.3f}  {a} / {b}")

    print("caveat, dark photos (gallery photos with another photo of the same person):")
    for label, b in by_brightness(gallery, config.paths.photos).items():
        print(f"  {label:>12}: {b['photos']:4d} photos, median luma {b['luma']:5.1f}, median distance to the same "
              f"person {b['own']:.3f}, a stranger nearer for {b['confused']:.1%}")

    plot(args.plot, before_run, main_run, distances)
    print(f"plot: {args.plot}")

    if args.splits > 1:
        print(f"{'split':>6} {'before: rank-1':>14} {'rank-5':>7} {'gaps':>16} {'now: rank-1':>12} {'rank-5':>7} {'gaps':>16}")
        rows = []

        def row(k: object, pair: tuple[dict, dict]) -> None:
            figures = [x for r in pair for x in (r["ident"]["rank1"], r["ident"]["rank5"], *r["gaps"].values())]
            rows.append(figures)
            show(k, figures)

        def show(k: object, f: list[float]) -> None:
            print(f"{k!s:>6} {f[0]:14.1%} {f[1]:7.1%} {f[2]:6.1f}/{f[3]:4.1f}/{f[4]:4.1f} "
                  f"{f[5]:12.1%} {f[6]:7.1%} {f[7]:6.1f}/{f[8]:4.1f}/{f[9]:4.1f}")

        row(0, (before_run, main_run))
        for k in range(1, args.splits):
            # A salt of our own: the set's names were drawn by some hash, and a salt like
            # "split1:" happens to put almost every one of them on one side.
            other = split(args.faces, f"lookalike-resplit-{k}/")
            photos = [p for ph in other.outsiders.values() for p in ph]
            vec = embed_probes(config, list(other.held_back.values()) + photos)
            h, o = {n: vec[p] for n, p in other.held_back.items()}, {p: vec[p] for p in photos}
            row(k, (run(before, other.gallery, h, o, "before"), run(config, other.gallery, h, o, "now")))
        show("median", list(np.median(np.array(rows), axis=0)))
        run(config, parts.gallery, held, outsiders, "restore")

    if args.plant:
        moved, planted = plant(parts.gallery, args.plant)
        print(f"planted {len(planted)} mislabelled photos:")
        for clean in (False, True):
            if not hasattr(config.gallery, "clean"):
                print("  gallery cleaning is not available in this build")
                break
            r = run(config.replace(gallery={"clean": clean}), moved, held, outsiders, f"clean={clean}")
            kept_files = {f["file"] for f in Gallery.load(config.paths.assets).faces}
            still = sum(f"{target}/{moved[target].index(photo):03d}_{photo.parent.name}_{photo.name}" in kept_files
                        for photo, _, target in planted)
            print(f"  cleaning {'on ' if clean else 'off'}: planted photos left in the gallery {still}/{len(planted)}, "
                  f"gallery photos {r['report'].photos_kept}, rank-1 {r['ident']['rank1']:.1%}, rank-5 {r['ident']['rank5']:.1%}, "
                  f"gaps {r['gaps']['mean']:.1f} / {r['gaps']['p90']:.1f} / {r['gaps']['max']:.1f}")
        run(config, parts.gallery, held, outsiders, "restore")  # leave the cache's gallery as configured
    print(f"quality: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
