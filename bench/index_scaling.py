"""HNSW against exact search at 10k, 100k and 1M face vectors, side by side.

    python -m bench.index_scaling [--sizes 10000,100000] [--queries 1000] [--ef 10,20,40,80,160,320]
                                  [--M 16] [--efc 200] [--out FILE.json] [--plot docs/index_bench.png]

Vectors: real dlib descriptors (the face_recognition test photos and, when
present, ../shared/faces) are the seeds. A synthetic person is a seed plus a
between-person offset (see person_offsets: by default most of its variance in
a 16-dimensional subspace, as measured for face embeddings; --intrinsic-dim 0
for the isotropic worst case); a face of that person adds N(0, sigma_within). The sigmas are chosen so that photos of one person are about
0.35 apart and different people about 0.75, the scales dlib gives for real
faces (printed, so the realism can be checked). Queries are new faces of
existing people, never stored vectors.

Query latency is one query at a time on one thread for both methods (BLAS is
pinned to one thread), as the bot searches.
"""
from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from bench.common import SHARED_FACES, pyplot  # noqa: E402
from bench.pool_scaling import cpu_model  # noqa: E402
from gallery.demo import test_images  # noqa: E402
from search.exact import exact_knn, squared_l2  # noqa: E402
from search.index import knn, new_hnsw  # noqa: E402
from settings import IndexConfig, load_config  # noqa: E402

SIGMA_BETWEEN = 0.75 / np.sqrt(2 * 128)  # two people ~0.75 apart
SIGMA_WITHIN = 0.35 / np.sqrt(2 * 128)   # two photos of one person ~0.35 apart
FACES_PER_PERSON = 4


def seed_vectors(shared: bool = True) -> np.ndarray:
    """Real descriptors the synthetic people are drawn around: the test photos, and the shared
    labelled faces when the machine has them (``shared``)."""
    from worker.engine import FaceEngine
    engine = FaceEngine(load_config().engine)
    files = sorted(test_images().glob("*.jpg"))
    if shared and SHARED_FACES.is_dir():
        files += sorted(SHARED_FACES.glob("*/*.jpg"))
    out = [r.faces[0].vector for r in (engine.embed(f.read_bytes()) for f in files) if len(r.faces) == 1]
    return np.unique(np.round(np.array(out), 5), axis=0).astype(np.float32)


def person_offsets(people: int, intrinsic_dim: int, rng: np.random.Generator) -> np.ndarray:
    """Between-person offsets with the same total variance as isotropic N(0, SIGMA_BETWEEN).

    intrinsic_dim 0: isotropic in all 128 dimensions, the worst case for any
    graph index. d > 0: 80% of the variance in a random d-dimensional subspace,
    20% isotropic, following measurements that face embeddings have an
    intrinsic dimension of about 10-20 (Gong, Boddeti and Jain, "On the
    intrinsic dimensionality of image representations", CVPR 2019).
    """
    if intrinsic_dim <= 0:
        return rng.normal(0, SIGMA_BETWEEN, (people, 128))
    basis, _ = np.linalg.qr(rng.normal(size=(128, intrinsic_dim)))
    total = SIGMA_BETWEEN ** 2 * 128
    low = rng.normal(0, np.sqrt(0.8 * total / intrinsic_dim), (people, intrinsic_dim)) @ basis.T
    return low + rng.normal(0, np.sqrt(0.2 * total / 128), (people, 128))


def synthesize(seeds: np.ndarray, n: int, queries: int, rng: np.random.Generator,
               intrinsic_dim: int = 0) -> tuple[np.ndarray, np.ndarray]:
    people = max(1, n // FACES_PER_PERSON)
    centres = seeds[rng.integers(0, len(seeds), people)] + person_offsets(people, intrinsic_dim, rng)
    owner = np.repeat(np.arange(people), FACES_PER_PERSON)[:n]
    base = (centres[owner] + rng.normal(0, SIGMA_WITHIN, (n, 128))).astype(np.float32)
    asked = rng.integers(0, people, queries)
    probes = (centres[asked] + rng.normal(0, SIGMA_WITHIN, (queries, 128))).astype(np.float32)
    return base, probes


def realism(base: np.ndarray, rng: np.random.Generator) -> dict:
    """Median same-person and nearest-other-person distances in a sample."""
    rows = rng.choice(len(base) // FACES_PER_PERSON, size=min(300, len(base) // FACES_PER_PERSON), replace=False)
    same = [float(np.linalg.norm(base[r * 4] - base[r * 4 + 1])) for r in rows]
    d = np.sqrt(squared_l2(base[rows * 4], base))
    for i, r in enumerate(rows):
        d[i, r * 4: r * 4 + 4] = np.inf
    return {"same_person_median": statistics.median(same), "nearest_other_median": float(np.median(d.min(axis=1)))}


def timed(fn, items) -> list[float]:
    out = []
    for item in items:
        t0 = time.perf_counter()
        fn(item)
        out.append(time.perf_counter() - t0)
    return out


def exact_latencies(base: np.ndarray, queries: np.ndarray) -> list[float]:
    """Exact search one query at a time, with the base converted and normed once, as a real exact index would."""
    base64 = base.astype(np.float64)
    norms = np.einsum("ij,ij->i", base64, base64)
    return timed(lambda q: np.argmin(squared_l2(q[None], base64, norms)), queries)


def bench_size(n: int, seeds: np.ndarray, args, rng: np.random.Generator) -> dict:
    base, probes = synthesize(seeds, n, args.queries, rng, args.intrinsic_dim)
    truth, _ = exact_knn(probes, base, 10)
    exact_q = probes[: max(20, min(args.queries, int(2e8 // n)))]  # bound exact timing at 1M
    exact_lat = exact_latencies(base, exact_q)
    params = IndexConfig(M=args.M, efConstruction=args.efc, efSearch=10)
    t0 = time.perf_counter()
    index = new_hnsw(base, params, threads=os.cpu_count() or 1)
    build = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        index.saveIndex(f"{tmp}/i.bin", save_data=True)
        size_mb = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 2**20
    row = {"n": n, "build_s": build, "index_mb": size_mb, "exact_ms_p50": statistics.median(exact_lat) * 1e3,
           "realism": realism(base, rng), "ef": []}
    for ef in args.ef:
        index.setQueryTimeParams({"efSearch": ef})
        lat = timed(lambda q: index.knnQuery(q, k=10), probes)
        ids, _ = knn(index, probes, 10)
        r1 = float(np.mean(ids[:, 0] == truth[:, 0]))
        r10 = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, truth)]))
        p50 = statistics.median(lat) * 1e3
        row["ef"].append({"efSearch": ef, "recall1": r1, "recall10": r10, "ms_p50": p50,
                          "ms_p95": float(np.percentile(lat, 95)) * 1e3, "speedup": row["exact_ms_p50"] / p50})
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--ef", default="10,20,40,80,160,320")
    parser.add_argument("--M", type=int, default=16)
    parser.add_argument("--efc", type=int, default=200)
    parser.add_argument("--intrinsic-dim", type=int, default=16,
                        help="dimensions holding 80%% of the between-person variance; 0: isotropic worst case")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--plot", type=Path)
    parser.add_argument("--test-photos-only", action="store_true",
                        help="seed from the face_recognition test photos only, not ../shared/faces")
    args = parser.parse_args(argv)
    args.ef = [int(e) for e in args.ef.split(",")]
    rng = np.random.default_rng(0)
    seeds = seed_vectors(shared=not args.test_photos_only)
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}; {len(seeds)} real seed descriptors; "
          f"HNSW M={args.M} efConstruction={args.efc}, built with {os.cpu_count()} threads; "
          f"people drawn with intrinsic dimension {args.intrinsic_dim or 'full (isotropic)'}; "
          f"queries: {args.queries}, one at a time, one thread")
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        row = bench_size(n, seeds, args, rng)
        rows.append(row)
        real = row["realism"]
        print(f"\n{n:,} vectors: build {row['build_s']:.1f} s, index {row['index_mb']:.0f} MB, exact search "
              f"{row['exact_ms_p50']:.2f} ms/query; same person median {real['same_person_median']:.3f}, "
              f"nearest other person median {real['nearest_other_median']:.3f}")
        print(f"  {'efSearch':>8} {'recall@1':>8} {'recall@10':>9} {'ms p50':>7} {'ms p95':>7} {'speedup':>8}")
        for e in row["ef"]:
            print(f"  {e['efSearch']:8d} {e['recall1']:8.3f} {e['recall10']:9.3f} {e['ms_p50']:7.3f} "
                  f"{e['ms_p95']:7.3f} {e['speedup']:7.0f}x", flush=True)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    if args.plot:
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
        for row in rows:
            ax.plot([e["ms_p50"] for e in row["ef"]], [e["recall1"] for e in row["ef"]], "o-",
                    label=f"{row['n']:,} vectors")
            for e in row["ef"]:
                ax.annotate(str(e["efSearch"]), (e["ms_p50"], e["recall1"]), fontsize=7)
        ax.axhline(0.99, color="g", ls="--", lw=1, label="recall@1 = 0.99")
        ax.set_xscale("log")
        ax.set_xlabel("median query latency, ms (labels: efSearch)")
        ax.set_ylabel("recall@1 vs exact search")
        ax.set_title(f"HNSW M={args.M}, efConstruction={args.efc}, intrinsic dim {args.intrinsic_dim or 128}")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)


if __name__ == "__main__":
    main()
