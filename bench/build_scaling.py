"""Building and serving big galleries: build_index.py and bot start-up at 100k-1M faces,
and photos per second through --dask local:N against the local pool.

    python -m bench.build_scaling [--sizes 100000,300000,1000000] [--before DIR --before-sizes 100000,300000]
                                  [--photos 120] [--workers 2] [--out FILE.json]

Galleries: synthetic faces around real dlib descriptors (bench.index_scaling's
model, 4 faces a person), written with the checkout's own ``Gallery.save`` and
per-face metadata shaped like a scraped gallery's (file, hash, source, author,
licence). Each step runs in a fresh process whose peak resident memory is
read from the kernel (wait4's ru_maxrss):

- ``build_index.py`` as a user runs it: wall time and peak RSS;
- its recall self-check alone (``exact_knn``, 1000 queries against the gallery);
- bot start: ``FaceIndex.load`` (gallery + metadata + HNSW, what the bot loads
  before it answers) and one search, its RSS; then a reload as the bot does it
  (the new index loaded while the old one still serves) and the RSS after the swap.

``--before DIR`` runs the same steps with another checkout's code (e.g. ``git
archive main | tar -x -C DIR``), side by side in one run. Limits checked: build
peak <= index + 3 GB; start <= 10 s and RSS <= index + vectors + 1 GB.

Photos per second: the first ``--photos`` photos of ../shared/faces through the
local pool and through a LocalCluster of the same number of worker processes,
each warmed up first, alternated twice; per-photo CPU time for docs/scale.md.
"""
from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import yaml  # noqa: E402

from bench.common import RSS_SOURCE, SHARED_FACES  # noqa: E402
from bench.index_scaling import FACES_PER_PERSON, synthesize  # noqa: E402
from bench.pool_scaling import cpu_model  # noqa: E402
from gallery.demo import ROOT, test_images  # noqa: E402

GB = 2**30

WRITE = r"""
import sys
from pathlib import Path
import numpy as np
from gallery.store import Gallery
a = Path(sys.argv[1]); v = np.load(a / "_vectors.npy"); p = np.load(a / "_person_ids.npy")
faces = [{"file": f"Person {int(pid):07d}/{i:08d}.jpg", "hash": f"{i:064x}", "thumbnail": f"thumbs/{i:032x}.jpg",
          "source": f"https://commons.wikimedia.org/wiki/File:Face_{i:08d}.jpg", "author": f"Photographer {i % 997}",
          "license": "CC BY-SA 4.0"} for i, pid in enumerate(p)]
people = [{"name": f"Person {j:07d}", "folder": f"Person {j:07d}", "qid": f"Q{j + 1}",
           "wikipedia": f"https://en.wikipedia.org/wiki/Person_{j:07d}"} for j in range(int(p.max()) + 1)]
Gallery(v, p, faces, people, a).save(a)
"""

SELFCHECK = r"""
import json, sys, time
import numpy as np
from search.exact import exact_knn
v = np.load(sys.argv[1] + "/embeddings.npz")["vectors"]  # float32 as stored
rng = np.random.default_rng(0)
q = v[rng.choice(len(v), 1000, replace=False)] + rng.normal(0, 0.02, (1000, 128)).astype(np.float32)
t = time.perf_counter(); exact_knn(q, v, 1); print(json.dumps({"seconds": time.perf_counter() - t}))
"""

START = r"""
import gc, json, os, sys, time
import numpy as np
""" + RSS_SOURCE + r"""
t0 = time.perf_counter()
from settings import load_config
from search.index import FaceIndex
cfg = load_config(sys.argv[1])
t1 = time.perf_counter()
index = FaceIndex.load(cfg)
match = index.search(np.full((1, 128), 0.01, dtype=np.float32))[0][0]
credit = index.gallery.faces[match.face]["author"]
t2 = time.perf_counter()
started = rss()
new = FaceIndex.load(cfg)          # a reload: the old index serves until the swap
t3 = time.perf_counter()
both = rss()
index = new
gc.collect()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "rss": started, "reload_s": t3 - t2,
                  "rss_during_reload": both, "rss_after_swap": rss()}))
"""


# A process's peak RSS (ru_maxrss) starts at the RSS of the process that forked it, because the
# kernel keeps the pre-exec high-water mark: a big benchmark process would lend its own size to
# every child. So each measured command is started by this small launcher, and the launcher
# reports its child's peak and wall time.
LAUNCH = r"""
import os, resource, subprocess, sys, time
t = time.perf_counter(); code = subprocess.call(sys.argv[2:])
os.write(int(sys.argv[1]), f"{time.perf_counter() - t} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}".encode())
sys.exit(code)
"""


def measured(cmd: list[str], repo: Path) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (bytes, from the kernel) and stdout of one fresh process with ``repo``'s code."""
    env = {**os.environ, "PYTHONPATH": str(repo)}
    read, write = os.pipe()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-c", LAUNCH, str(write), *cmd], cwd=repo, env=env, stdout=out,
                                stderr=err, text=True, pass_fds=(write,))
        os.close(write)
        with os.fdopen(read) as report:
            seconds, peak_kb = report.read().split()
        code = proc.wait()
        out.seek(0)
        err.seek(0)
        if code != 0:
            raise RuntimeError(f"{' '.join(map(str, cmd[:3]))} failed ({code}): {err.read()[-3000:]}")
        return float(seconds), int(peak_kb) * 1024, out.read()


def seed_vectors(shared_photos: int) -> np.ndarray:
    """Real descriptors: the face_recognition test photos and the first photos of ../shared/faces."""
    from settings import load_config
    from worker.engine import FaceEngine
    engine = FaceEngine(load_config().engine)
    files = sorted(test_images().glob("*.jpg")) + (sorted(SHARED_FACES.glob("*/*.jpg"))[:shared_photos] if SHARED_FACES.is_dir() else [])
    out = [r.faces[0].vector for r in (engine.embed(f.read_bytes()) for f in files) if len(r.faces) == 1]
    return np.unique(np.round(np.array(out), 5), axis=0).astype(np.float32)


def make_gallery(assets: Path, vectors: np.ndarray, person_ids: np.ndarray, repo: Path) -> float:
    assets.mkdir(parents=True, exist_ok=True)
    np.save(assets / "_vectors.npy", vectors)
    np.save(assets / "_person_ids.npy", person_ids)
    seconds, _, _ = measured([sys.executable, "-c", WRITE, str(assets)], repo)
    (assets / "_vectors.npy").unlink()
    (assets / "_person_ids.npy").unlink()
    raw = yaml.safe_load((repo / "config.yaml").read_text())
    raw["paths"] = {"photos": str(assets / "photos"), "assets": str(assets)}
    (assets / "config.yaml").write_text(yaml.safe_dump(raw))
    return seconds


def bench_gallery(n: int, vectors: np.ndarray, person_ids: np.ndarray, repo: Path, work: Path) -> dict:
    assets = work / f"{repo.name}-{n}"
    write_s = make_gallery(assets, vectors, person_ids, repo)
    cfg = str(assets / "config.yaml")
    build_s, build_peak, build_out = measured([sys.executable, "build_index.py", "--config", cfg], repo)
    index_bytes = sum((assets / f).stat().st_size for f in ("index.bin", "index.bin.dat"))
    check_s, check_peak, check_out = measured([sys.executable, "-c", SELFCHECK, str(assets)], repo)
    _, start_peak, start_out = measured([sys.executable, "-c", START, cfg], repo)
    start = json.loads(start_out)
    meta_files = [f for f in ("people.json", "gallery.sqlite3", "embeddings.npz") if (assets / f).is_file()]
    row = {
        "code": str(repo), "faces": n, "people": int(person_ids.max()) + 1, "write_gallery_s": write_s,
        "build_s": build_s, "build_peak": build_peak, "index_bytes": index_bytes, "vectors_bytes": vectors.nbytes,
        "selfcheck_s": json.loads(check_out.strip().splitlines()[-1])["seconds"], "selfcheck_peak": check_peak,
        "start_s": start["import_s"] + start["load_s"], **start, "start_peak": start_peak,
        "files": {f: (assets / f).stat().st_size for f in meta_files},
        "build_log": build_out.strip().splitlines(),
    }
    row["build_limit"] = index_bytes + 3 * GB
    row["rss_limit"] = index_bytes + vectors.nbytes + GB
    for f in assets.iterdir():  # a 1M gallery is ~2 GB on disk: keep one at a time
        f.unlink() if f.is_file() else None
    return row


def print_row(row: dict) -> None:
    g = lambda b: f"{b / GB:.2f} GB"  # noqa: E731
    print(f"\n{row['faces']:,} faces ({row['people']:,} people), code: {row['code']}", flush=True)
    print(f"  build_index.py  {row['build_s']:7.1f} s  peak {g(row['build_peak'])}  (limit index + 3 GB = "
          f"{g(row['build_limit'])}; index {g(row['index_bytes'])})")
    print(f"  exact self-check {row['selfcheck_s']:6.1f} s  peak {g(row['selfcheck_peak'])}")
    print(f"  bot start       {row['start_s']:7.2f} s  RSS {g(row['rss'])}  (limit index + vectors + 1 GB = "
          f"{g(row['rss_limit'])}); reload {row['reload_s']:.2f} s, RSS during reload {g(row['rss_during_reload'])}, "
          f"after the swap {g(row['rss_after_swap'])}, process peak {g(row['start_peak'])}")
    print("  files: " + ", ".join(f"{k} {v / 2**20:.0f} MB" for k, v in row["files"].items()))


def photo_rates(count: int, workers: int, repeats: int) -> dict:
    """Photos/s of FacePool and DaskPool(local:workers) on the same files, alternated."""
    from settings import load_config
    from worker.dask_pool import DaskPool
    from worker.pool import FacePool
    config = load_config()
    files = sorted(SHARED_FACES.glob("*/*.jpg"))[:count] if SHARED_FACES.is_dir() else sorted(test_images().glob("*.jpg"))
    t0 = time.perf_counter()
    local = FacePool(config.engine, config.pool, workers=workers)
    local.warm_up()
    local_start = time.perf_counter() - t0
    t0 = time.perf_counter()
    dask = DaskPool(f"local:{workers}", config.engine, config.build.dask_in_flight)
    list(dask.map_files(files[: 2 * workers], jitters=1, thumbnail_size=512))  # models loaded, tasks flowing
    dask_start = time.perf_counter() - t0
    rates: dict[str, list[float]] = {"local": [], "dask": []}
    outcomes: dict[str, dict] = {}
    try:
        for _ in range(repeats):
            for name, pool in (("local", local), ("dask", dask)):
                started = time.perf_counter()
                got = list(pool.map_files(files, jitters=1, thumbnail_size=512))
                rates[name].append(len(got) / (time.perf_counter() - started))
                outcomes[name] = {str(p): r.outcome.value for p, r in got}
    finally:
        local.close()
        dask.close()
    local_rate, dask_rate = statistics.median(rates["local"]), statistics.median(rates["dask"])
    return {"photos": len(files), "workers": workers, "local_rates": rates["local"], "dask_rates": rates["dask"],
            "local": local_rate, "dask": dask_rate, "local_start_s": local_start, "dask_start_s": dask_start,
            "same_outcomes": outcomes["local"] == outcomes["dask"],
            "cpu_s_per_photo": workers / max(local_rate, dask_rate)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,300000,1000000")
    parser.add_argument("--before", type=Path, help="another checkout to measure side by side (the old code)")
    parser.add_argument("--before-sizes", default="100000,300000")
    parser.add_argument("--seed-photos", type=int, default=60, help="photos of ../shared/faces used as seeds")
    parser.add_argument("--photos", type=int, default=120, help="photos for the pool vs Dask rate (0: skip)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}, {os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / GB:.0f} GB; "
          f"load average at start {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}", flush=True)
    report: dict = {"load_at_start": load, "galleries": []}
    if args.photos:
        r = photo_rates(args.photos, args.workers, args.repeats)
        report["rates"] = r
        print(f"\n{r['photos']} photos of ../shared/faces, {r['workers']} workers: local pool {r['local']:.2f} photos/s "
              f"{[round(x, 2) for x in r['local_rates']]}, --dask local:{r['workers']} {r['dask']:.2f} photos/s "
              f"{[round(x, 2) for x in r['dask_rates']]}; start-up {r['local_start_s']:.1f} s / {r['dask_start_s']:.1f} s; "
              f"same outcome for every photo: {r['same_outcomes']}; {r['cpu_s_per_photo']:.3f} core-s per photo",
              flush=True)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    before_sizes = {int(s) for s in args.before_sizes.split(",") if s} if args.before else set()
    seeds = seed_vectors(args.seed_photos) if sizes else None
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        for n in sizes:
            rng = np.random.default_rng(n)
            vectors, _ = synthesize(seeds, n, 0, rng, intrinsic_dim=16)
            person_ids = (np.arange(n) // FACES_PER_PERSON).astype(np.int32)
            repos = ([args.before.resolve()] if n in before_sizes else []) + [ROOT]
            for repo in repos:
                row = bench_gallery(n, vectors, person_ids, repo, Path(tmp))
                report["galleries"].append(row)
                print_row(row)
                if args.out:
                    args.out.write_text(json.dumps(report, indent=1))
    report["load_at_end"] = os.getloadavg()
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
