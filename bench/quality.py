"""Matching quality and calibration on the labelled faces in ../shared/faces/.

    python -m bench.quality [--faces DIR] [--plot docs/calibration.png]

Identification: one gallery photo per person, the person's other photos as
probes, rotated so that every photo serves as the gallery photo once; rank-1,
rank-5, and how often HNSW top-1 agrees with exact search.

Calibration: the % is meant to be "the share of look-alike searches whose best
match is worse". Users are not in the gallery, so the check uses impostor
probes: each person's photos against a gallery of everyone else; the reported
% for each probe is compared with the empirical share of impostor probes whose
best match is farther away.
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from gallery.demo import ROOT
from search import calibration
from search.exact import exact_knn, nearest_other_person
from search.index import fold_by_person, knn, new_hnsw
from search.similarity import similarity
from settings import load_config
from worker.engine import FaceEngine

SHARED_FACES = ROOT.parent / "shared" / "faces"


def embed_folder(faces: Path) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    engine = FaceEngine(load_config().engine)
    vectors, people, names, skipped = [], [], [], []
    for pid, folder in enumerate(sorted(p for p in faces.iterdir() if p.is_dir())):
        names.append(folder.name.replace("_", " "))
        for photo in sorted(folder.glob("*.jpg")):
            result = engine.embed(photo.read_bytes())
            if len(result.faces) != 1:
                skipped.append(f"{folder.name}/{photo.name}: {len(result.faces)} faces")
                continue
            vectors.append(result.faces[0].vector)
            people.append(pid)
    return np.array(vectors), np.array(people), names, skipped


def identification(vectors: np.ndarray, people: np.ndarray, config) -> dict:
    by_person = defaultdict(list)
    for i, p in enumerate(people):
        by_person[int(p)].append(i)
    rotations = max(len(v) for v in by_person.values())
    ranks, agree = [], []
    for r in range(rotations):
        gallery = [rows[r % len(rows)] for rows in by_person.values()]
        probes = [i for rows in by_person.values() if len(rows) > 1 for i in rows if i != rows[r % len(rows)]]
        g_vec, g_people = vectors[gallery], people[gallery]
        index = new_hnsw(g_vec, config.index, threads=1)
        e_ids, e_d = exact_knn(vectors[probes], g_vec, len(gallery))
        h_ids, _ = knn(index, vectors[probes], 1)
        for row, probe in enumerate(probes):
            order = [p for p, _, _ in fold_by_person(e_ids[row], e_d[row], g_people, len(gallery))]
            ranks.append(order.index(int(people[probe])) + 1)
            agree.append(h_ids[row, 0] == e_ids[row, 0])
    ranks = np.array(ranks)
    return {"probes": len(ranks), "rotations": rotations, "rank1": float(np.mean(ranks == 1)),
            "rank5": float(np.mean(ranks <= 5)), "hnsw_agrees": float(np.mean(agree)),
            "gallery_people": len(by_person)}


def impostor_distances(vectors: np.ndarray, people: np.ndarray) -> np.ndarray:
    """Each photo's distance to its nearest face of another person: a probe whose
    person is not in the gallery (the bot's usual case)."""
    return nearest_other_person(vectors, people)


def calibration_table(reported: np.ndarray, empirical: np.ndarray) -> list[tuple[str, int, float, float]]:
    rows = []
    for lo in range(0, 100, 20):
        mask = (reported * 100 >= lo) & (reported * 100 < lo + 20 if lo < 80 else reported * 100 <= 100)
        if mask.any():
            rows.append((f"{lo}-{lo + 20}%", int(mask.sum()), float(reported[mask].mean() * 100),
                         float(empirical[mask].mean() * 100)))
    return rows


def plot(path: Path, distances: np.ndarray, cal, reported: np.ndarray, empirical: np.ndarray) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.stats import norm

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    a.hist(distances, bins=min(30, max(5, len(distances) // 2)), density=True, alpha=0.6, label="nearest stranger")
    x = np.linspace(distances.min() - 0.1, distances.max() + 0.1, 200)
    a.plot(x, norm.pdf(x, cal.mean, cal.std), "r-", label=f"normal fit (KS={cal.ks_statistic:.3f})")
    a.set_xlabel("L2 distance to the nearest face of another person")
    a.set_title(f"Calibration data (n={cal.n})")
    a.legend()
    order = np.argsort(reported)
    b.plot([0, 100], [0, 100], "k--", lw=1, label="perfect")
    b.plot(reported[order] * 100, empirical[order] * 100, "o-", label="impostor probes")
    b.fill_between([0, 100], [-5, 95], [5, 105], color="green", alpha=0.1, label="within 5 points")
    b.set_xlabel("reported similarity %")
    b.set_ylabel("share of probes whose best match is worse, %")
    b.set_title("Reported % against empirical")
    b.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=Path, default=SHARED_FACES)
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "calibration.png")
    args = parser.parse_args(argv)
    if not args.faces.is_dir():
        print(f"quality: skipped, no labelled faces at {args.faces} (see DEVELOPERS.md)")
        return 0
    config = load_config()
    vectors, people, names, skipped = embed_folder(args.faces)
    print(f"labelled set: {len(names)} people, {len(vectors)} photos with one face"
          + (f", skipped {len(skipped)}: {'; '.join(skipped)}" if skipped else ""))
    if len(names) < 2 or len(vectors) < 3:
        print("quality: skipped, need at least two people")
        return 0

    ident = identification(vectors, people, config)
    print(f"identification: {ident['probes']} probes over {ident['rotations']} rotations, gallery of "
          f"{ident['gallery_people']} people (one photo each): rank-1 {ident['rank1']:.1%}, "
          f"rank-5 {ident['rank5']:.1%}, HNSW top-1 = exact top-1 for {ident['hnsw_agrees']:.1%}")

    distances = impostor_distances(vectors, people)
    cal = calibration.fit(distances)
    print(calibration.describe(cal))
    reported = similarity(distances, cal.mean, cal.std)
    # Mid-rank (Hazen) positions: a probe counts half against itself, which
    # removes the 1/n offset a plain "share strictly worse" has on small sets.
    empirical = np.array([(np.sum(distances > d) + 0.5 * np.sum(distances == d)) / len(distances)
                          for d in distances])
    print(f"{'reported':>10} {'probes':>6} {'mean reported':>13} {'mean empirical':>14}")
    for label, n, rep, emp in calibration_table(reported, empirical):
        print(f"{label:>10} {n:6d} {rep:12.1f}% {emp:13.1f}%")
    gap = np.abs(reported - empirical) * 100
    print(f"calibration error: max {gap.max():.1f} points, mean {gap.mean():.1f} points over {len(distances)} probes")
    plot(args.plot, distances, cal, reported, empirical)
    print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
