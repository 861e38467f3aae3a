"""Photos per second of the worker pool with 1, 2, ... N workers.

    python -m bench.pool_scaling [--workers 1,2] [--photos-per-worker 24] [--repeats 3] [--descriptors dlib,onnx]

Efficiency(n) = rate(n) / (n * rate(1)), with rates measured side by side in one
run on the same photos (1280-px JPEGs of real faces, sent as bytes, as the
bot sends them). Each worker count has its own warmed-up pool; every repeat
times each count in turn, and the reported rate is the median over repeats.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import os
import platform
import statistics
import time

from bench.common import pyplot
from bench.pipeline import photos_at
from settings import Config, EngineConfig, load_config
from worker.outcome import Outcome
from worker.pool import FacePool


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def rate(pool: FacePool, photos: list[bytes], jobs: int) -> float:
    batch = [photos[i % len(photos)] for i in range(jobs)]
    started = time.perf_counter()
    futures = [pool.submit(data) for data in batch]
    concurrent.futures.wait(futures)
    elapsed = time.perf_counter() - started
    bad = [f for f in futures if pool.result_of(f).outcome is not Outcome.OK]
    assert not bad, f"{len(bad)} jobs failed"
    return jobs / elapsed


def _independent(config: EngineConfig, photos: list[bytes], jobs: int, barrier, out) -> None:
    """One bare process running the engine in a loop: no pool, no IPC."""
    from worker.engine import FaceEngine
    engine = FaceEngine(config)
    engine.embed(photos[0])
    barrier.wait()
    started = time.perf_counter()
    for i in range(jobs):
        engine.embed(photos[i % len(photos)])
    out.put(time.perf_counter() - started)


def hardware_rate(config: EngineConfig, photos: list[bytes], n: int, jobs: int) -> float:
    """Photos/s of n independent processes: what the cores give with zero pool overhead."""
    import multiprocessing
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_independent, args=(config, photos, jobs, barrier, out)) for _ in range(n)]
    for p in procs:
        p.start()
    elapsed = max(out.get() for _ in procs)
    for p in procs:
        p.join()
    return n * jobs / elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default=f"1,{os.cpu_count()}")
    parser.add_argument("--photos-per-worker", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--plot", type=str, default="", help="write a PNG of rate and efficiency here")
    parser.add_argument("--baseline", action="store_true",
                        help="also run n independent bare processes (the hardware's own scaling)")
    parser.add_argument("--descriptors", default="onnx", help="engine.descriptor backends to run in turn, e.g. dlib,onnx")
    parser.add_argument("--second-pass", default="", choices=("", "on", "off"),
                        help="override engine.second_pass (off: issue 14's pipeline, without the group-photo pass)")
    args = parser.parse_args(argv)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    counts = [int(w) for w in args.workers.split(",")]
    photos = [data for _, data in photos_at(1280)]
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}; {len(photos)} distinct 1280-px photos")
    for backend in args.descriptors.split(","):
        engine = {"descriptor": backend, **({"second_pass": args.second_pass == "on"} if args.second_pass else {})}
        config = load_config().replace(engine=engine)
        print(f"\nengine.descriptor = {backend}, second_pass = {config.engine.second_pass}:")
        rows = scaling(config, photos, counts, args)
        if args.plot:
            plot(args.plot.replace(".png", f"_{backend}.png") if "," in args.descriptors else args.plot, rows)


def scaling(config: Config, photos: list[bytes], counts: list[int], args: argparse.Namespace) -> list[tuple[int, float, float | None]]:
    """One line per worker count: pool rate, efficiency and (with --baseline) the bare processes' rate.

    Every pool stays open and each repeat times every worker count in turn, so a load that comes
    and goes on a shared machine falls on all of them alike and the efficiencies compare.
    """
    print(f"{'workers':>7} {'photos/s':>9} {'per worker':>10} {'efficiency':>10}"
          + (f" {'bare procs/s':>12} {'bare eff.':>9} {'pool/bare':>9}" if args.baseline else ""))
    pools = {n: FacePool(config.engine, config.pool, workers=n) for n in counts}
    rates: dict[int, list[float]] = {n: [] for n in counts}
    bares: dict[int, list[float]] = {n: [] for n in counts}
    try:
        for n, pool in pools.items():
            pool.warm_up()
            rate(pool, photos, n * 2)  # first jobs warm caches
        for _ in range(args.repeats):
            for n, pool in pools.items():
                rates[n].append(rate(pool, photos, n * args.photos_per_worker))
                if args.baseline:
                    bares[n].append(hardware_rate(config.engine, photos, n, args.photos_per_worker))
    finally:
        for pool in pools.values():
            pool.close()
    rows: list[tuple[int, float, float | None]] = []
    base = statistics.median(rates[counts[0]]) / counts[0]
    bare_base = statistics.median(bares[counts[0]]) / counts[0] if args.baseline else None
    for n in counts:
        r = statistics.median(rates[n])
        line = f"{n:7d} {r:9.2f} {r / n:10.2f} {r / (n * base):10.2f}"
        bare = statistics.median(bares[n]) if args.baseline else None
        if bare is not None:
            line += f" {bare:12.2f} {bare / (n * bare_base):9.2f} {r / bare:9.2f}"
        rows.append((n, r, bare))
        print(line, flush=True)
    return rows


def plot(path: str, rows: list[tuple[int, float, float | None]]) -> None:
    plt = pyplot()
    n = [r[0] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.plot(n, [r[1] for r in rows], "o-", label="pool")
    a.plot(n, [k * rows[0][1] for k in n], "k--", lw=1, label="ideal (n x one worker)")
    if rows[0][2]:
        a.plot(n, [r[2] for r in rows], "s:", label="n bare processes")
    a.set_xlabel("workers")
    a.set_ylabel("photos / s")
    a.legend()
    b.plot(n, [r[1] / (k * rows[0][1]) for k, r in zip(n, rows)], "o-", label="pool")
    if rows[0][2]:
        b.plot(n, [r[2] / (k * rows[0][2]) for k, r in zip(n, rows)], "s:", label="bare processes")
    b.axhline(0.85, color="g", lw=1, ls="--", label="goal at 16 (0.85)")
    b.set_ylim(0, 1.1)
    b.set_xlabel("workers")
    b.set_ylabel("efficiency")
    b.legend()
    fig.suptitle(f"Worker pool scaling ({os.cpu_count()} cores)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
