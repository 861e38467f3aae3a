"""Time per pipeline stage on 1280-px photos, both descriptor backends side by side, medians of repeats.

    python -m bench.pipeline [--repeats N] [--size 1280] [--detect-sizes 640,560]

Uses the face_recognition test photos and, when present, the full-size web
photos of ../shared/faces/ (its 150-px LFW crops would only be upscaled).
Each photo goes through every backend in turn, so both see the same load.
"""
from __future__ import annotations

import argparse
import io
import statistics
import time
from pathlib import Path

from PIL import Image

from bench.common import SHARED_FACES
from gallery.demo import test_images
from settings import DESCRIPTOR_BACKENDS, load_config
from worker.engine import FaceEngine

MIN_SHARED_SIDE = 600  # px: photos smaller than this are not photos a user sends at 1280 px
MAX_SHARED = 40
STAGES = ("decode", "detect", "upsample", "second_pass", "landmarks", "descriptor")


def benchmark_files() -> list[Path]:
    """The test photos of one face each, and up to MAX_SHARED full-size shared photos."""
    files = sorted(test_images().glob("obama*.jpg")) + [test_images() / "biden.jpg"]
    if SHARED_FACES.is_dir():
        big = [f for f in sorted(SHARED_FACES.glob("*/*.jpg")) if max(Image.open(f).size) >= MIN_SHARED_SIDE]
        files += big[:: max(1, len(big) // MAX_SHARED)][:MAX_SHARED]
    return files


def photos_at(size: int) -> list[tuple[str, bytes]]:
    """Real face photos resized so the longer side is ``size`` px, as JPEG bytes."""
    out = []
    for f in benchmark_files():
        im = Image.open(f).convert("RGB")
        scale = size / max(im.size)
        im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=90)
        out.append((f"{f.parent.name}/{f.name}", buf.getvalue()))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--size", type=int, default=1280)
    parser.add_argument("--detect-sizes", default="", help="also compare these engine.detect_size values, e.g. 640,560")
    parser.add_argument("--second-pass", default="", choices=("", "on", "off"),
                        help="override engine.second_pass (off: the issue-14 pipeline, without the group-photo pass)")
    args = parser.parse_args(argv)
    config = load_config()
    photos = photos_at(args.size)
    for size in [config.engine.detect_size] + [int(s) for s in args.detect_sizes.split(",") if s]:
        print(f"\nengine.detect_size = {size}:")
        extra = {"second_pass": args.second_pass == "on"} if args.second_pass else {}
        engines = {b: FaceEngine(config.replace(engine={"detect_size": size, "descriptor": b, **extra}).engine)
                   for b in DESCRIPTOR_BACKENDS}
        print(f"engine.second_pass = {engines[DESCRIPTOR_BACKENDS[0]].config.second_pass}")
        report(engines, photos, args.repeats, args.size)


def report(engines: dict[str, FaceEngine], photos: list[tuple[str, bytes]], repeats: int, size: int) -> None:
    names = list(engines)
    per_stage = {b: {s: [] for s in STAGES} for b in names}
    totals: dict[str, list[float]] = {b: [] for b in names}
    ratios: dict[str, list[float]] = {b: [] for b in names}
    for _ in range(repeats):
        for _, data in photos:
            runs = {}
            for b in names:
                started = time.perf_counter()
                result = engines[b].embed(data)
                runs[b] = (time.perf_counter() - started, result)  # wall time of the whole call
            if any(len(result.faces) != 1 for _, result in runs.values()):
                continue
            for b, (total, result) in runs.items():
                for s in STAGES:
                    per_stage[b][s].append(result.timings.get(s, 0.0))
                totals[b].append(total)
                ratios[b].append(total / result.timings["descriptor"])
    n = len(totals[names[0]])
    print(f"{len(photos)} photos at {size} px, {repeats} repeats, {n} single-face runs per backend (medians, ms)")
    print(f"  {'stage':22s}" + "".join(f"{b:>9s}" for b in names))
    med = {b: {s: statistics.median(v) * 1000 for s, v in per_stage[b].items()} for b in names}
    for s in STAGES:
        print(f"  {s:22s}" + "".join(f"{med[b][s]:9.1f}" for b in names))
    total = {b: statistics.median(totals[b]) * 1000 for b in names}
    print(f"  {'total (embed() wall)':22s}" + "".join(f"{total[b]:9.1f}" for b in names))
    print(f"  {'mean total':22s}" + "".join(f"{statistics.mean(totals[b]) * 1000:9.1f}" for b in names))
    second = sum(1 for t in per_stage[names[0]]["second_pass"] if t > 0)
    print(f"  runs with a second pass: {second} of {n}")
    print(f"  {'total / descriptor':22s}" + "".join(f"{statistics.median(ratios[b]):9.2f}" for b in names))
    if {"dlib", "onnx"} <= set(names):
        print(f"  onnx total / dlib total = {total['onnx'] / total['dlib']:.2f}")


if __name__ == "__main__":
    main()
