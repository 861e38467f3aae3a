"""Time per pipeline stage on 1280-px photos, in one process, medians of repeats.

    python -m bench.pipeline [--repeats N] [--size 1280]

Uses the face_recognition test photos and, when present, ../shared/faces/.
"""
from __future__ import annotations

import argparse
import io
import statistics
import time

from PIL import Image

from gallery.demo import ROOT, test_images
from settings import load_config
from worker.engine import FaceEngine

SHARED_FACES = ROOT.parent / "shared" / "faces"
STAGES = ("decode", "detect", "upsample", "landmarks", "descriptor")


def photos_at(size: int, limit: int | None = None) -> list[tuple[str, bytes]]:
    """Real face photos resized so the longer side is ``size`` px, as JPEG bytes."""
    files = sorted(test_images().glob("obama*.jpg")) + [test_images() / "biden.jpg"]
    if SHARED_FACES.is_dir():
        files += sorted(SHARED_FACES.glob("*/*.jpg"))
    files = files[:limit]
    out = []
    for f in files:
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
    args = parser.parse_args(argv)
    config = load_config()
    photos = photos_at(args.size)
    report(FaceEngine(config.engine), photos, args)
    for size in [int(s) for s in args.detect_sizes.split(",") if s]:
        print(f"\nwith engine.detect_size = {size}:")
        report(FaceEngine(config.replace(engine={"detect_size": size}).engine), photos, args)


def report(engine: FaceEngine, photos: list[tuple[str, bytes]], args: argparse.Namespace) -> None:
    per_stage: dict[str, list[float]] = {s: [] for s in STAGES}
    totals, ratios = [], []
    for _ in range(args.repeats):
        for _, data in photos:
            started = time.perf_counter()
            result = engine.embed(data)
            total = time.perf_counter() - started  # wall time of the whole call, overheads included
            if len(result.faces) != 1:
                continue
            t = result.timings
            for s in STAGES:
                per_stage[s].append(t.get(s, 0.0))
            totals.append(total)
            ratios.append(total / t["descriptor"])
    n = len(totals)
    print(f"{len(photos)} photos at {args.size} px, {args.repeats} repeats, {n} single-face runs (medians)")
    for s in STAGES:
        print(f"  {s:11s} {statistics.median(per_stage[s]) * 1000:7.1f} ms")
    print(f"  {'total':11s} {statistics.median(totals) * 1000:7.1f} ms (wall time of embed())")
    print(f"  total / descriptor = {statistics.median(ratios):.2f} (median of per-photo ratios)")


if __name__ == "__main__":
    main()
