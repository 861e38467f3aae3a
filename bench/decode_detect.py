"""Decode + detect: what JPEG draft decoding and resizing strategies save, and whether faces are lost.

    python -m bench.decode_detect [--repeats 3]

With the descriptor at ~4-8 ms on ONNX Runtime, decoding and HOG are most of a
photo's time. Each strategy makes the two images the pipeline needs (the RGB
picture the landmarks and chips are taken from, the grayscale detection copy of
at most ``engine.detect_size`` px) and runs HOG; time is decode + detect, the
median over repeats. A face of the current pipeline is kept when the strategy
finds a box overlapping it by IoU >= 0.5. A strategy that moves a box or
changes the RGB picture also moves the descriptors (the landmarks start from
the box): the largest drift (L2) from today's vectors is printed.

Photo sets: the pipeline benchmark's photos at 1280 px, the ones whose
original is at least 1600 px at full size, and group photos (four faces
side by side) at 1280 and 2560 px wide.
"""
from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from bench.common import iou
from bench.pipeline import benchmark_files, photos_at
from settings import EngineConfig, load_config
from worker.decode import decode_image

Images = tuple[Image.Image, Image.Image]  # (RGB picture for landmarks, grayscale detection copy)


@dataclass(frozen=True)
class Strategy:
    name: str
    make: Callable[[bytes, EngineConfig], Images]


def _decode(data: bytes, cfg: EngineConfig) -> Image.Image:
    return decode_image(data, max_pixels=cfg.max_pixels, max_bytes=cfg.max_bytes)


def _shrink(gray: Image.Image, size: int, reducing_gap: float | None = 2.0,
            resample: Image.Resampling = Image.Resampling.BILINEAR) -> Image.Image:
    gray.thumbnail((size, size), resample, reducing_gap=reducing_gap)
    return gray


def current(data: bytes, cfg: EngineConfig) -> Images:
    """The engine before this benchmark: full RGB decode, grayscale, bilinear thumbnail (reducing_gap 2)."""
    image = _decode(data, cfg)
    return image, _shrink(image.convert("L"), cfg.detect_size)


def draft_request(size: tuple[int, int], longer: int) -> tuple[int, int]:
    """The box to pass to Image.draft so the decoded longer side stays >= ``longer``."""
    scale = longer / max(size)
    return max(1, int(size[0] * scale)), max(1, int(size[1] * scale))


def _draft_open(data: bytes, mode: str, longer: int) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    if image.format == "JPEG":
        image.draft(mode, draft_request(image.size, longer))
    image.load()
    return ImageOps.exif_transpose(image)


def gray_draft(data: bytes, cfg: EngineConfig) -> Images:
    """Full RGB for landmarks as today; the detection copy from a second, luma-only DCT-scaled decode."""
    image = _decode(data, cfg)
    return image, _shrink(_draft_open(data, "L", cfg.detect_size).convert("L"), cfg.detect_size)


def rgb_draft(longer: int) -> Callable[[bytes, EngineConfig], Images]:
    def make(data: bytes, cfg: EngineConfig) -> Images:
        image = _draft_open(data, "RGB", longer).convert("RGB")
        return image, _shrink(image.convert("L"), cfg.detect_size)
    make.__doc__ = f"One DCT-scaled RGB decode keeping >= {longer} px; landmarks on it too."
    return make


def box_reduce(data: bytes, cfg: EngineConfig) -> Images:
    """The engine now: the thumbnail box-reduces by the largest integer factor first (reducing_gap 1)."""
    image = _decode(data, cfg)
    return image, _shrink(image.convert("L"), cfg.detect_size, reducing_gap=1.0)


def resample_with(resample: Image.Resampling) -> Callable[[bytes, EngineConfig], Images]:
    def make(data: bytes, cfg: EngineConfig) -> Images:
        image = _decode(data, cfg)
        return image, _shrink(image.convert("L"), cfg.detect_size, resample=resample)
    return make


def smaller_detect(size: int) -> Callable[[bytes, EngineConfig], Images]:
    def make(data: bytes, cfg: EngineConfig) -> Images:
        image = _decode(data, cfg)
        return image, _shrink(image.convert("L"), size)
    return make


STRATEGIES = [
    Strategy("current", current),
    Strategy("gray draft", gray_draft),
    Strategy("box reduce", box_reduce),
    Strategy("box filter", resample_with(Image.Resampling.BOX)),
    Strategy("nearest", resample_with(Image.Resampling.NEAREST)),
    Strategy("rgb draft >=1280", rgb_draft(1280)),
    Strategy("rgb draft >=800", rgb_draft(800)),
    Strategy("detect_size 640", smaller_detect(640)),
]


def boxes_of(engine, images: Images, original_width: int) -> list[tuple[float, float, float, float]]:
    """HOG boxes (no upsample, as the first pass) in the coordinates of the original photo."""
    image, gray = images
    rects, _, _ = engine.detector.run(np.asarray(gray), 0, 0.0)
    s = original_width / gray.width
    return [(r.left() * s, r.top() * s, r.right() * s, r.bottom() * s) for r in rects]


def descriptors(engine, images: Images, boxes, original_width: int) -> np.ndarray:
    """The onnx descriptors of ``boxes`` taken from the strategy's RGB picture."""
    import dlib

    from worker.onnx_descriptor import face_chips
    image = images[0]
    s = image.width / original_width
    pixels = np.asarray(image)
    shapes = dlib.full_object_detections()
    for b in boxes:
        shapes.append(engine.landmarks(pixels, dlib.rectangle(*(round(v * s) for v in b))))
    return engine.onnx(face_chips(dlib, pixels, shapes)) if boxes else np.zeros((0, 128), np.float32)


def group_photos(width: int) -> list[tuple[str, bytes]]:
    """Four one-face photos side by side, the canvas scaled to ``width`` px: small faces next to each other."""
    files = benchmark_files()
    out = []
    for i in range(0, len(files) - 3, 4):
        ims = [Image.open(f).convert("RGB") for f in files[i:i + 4]]
        h = min(im.height for im in ims)
        ims = [im.resize((round(im.width * h / im.height), h)) for im in ims]
        canvas = Image.new("RGB", (sum(im.width for im in ims), h), "white")
        x = 0
        for im in ims:
            canvas.paste(im, (x, 0))
            x += im.width
        canvas = canvas.resize((width, round(canvas.height * width / canvas.width)), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        canvas.save(buf, "JPEG", quality=90)
        out.append((f"group{i // 4}", buf.getvalue()))
    return out


def originals(min_side: int) -> list[tuple[str, bytes]]:
    return [(f.name, f.read_bytes()) for f in benchmark_files() if max(Image.open(f).size) >= min_side]


def run(engine, cfg: EngineConfig, label: str, photos: list[tuple[str, bytes]], repeats: int) -> None:
    """Every strategy on every photo in turn (so all see the same machine load), then one line each."""
    times: dict[str, list[float]] = {st.name: [] for st in STRATEGIES}
    found = dict.fromkeys(times, 0)
    lost, extra, drift = dict(found), dict(found), dict.fromkeys(times, 0.0)
    for _, data in photos:
        width = Image.open(io.BytesIO(data)).size[0]  # the JPEGs here carry no EXIF rotation
        samples: dict[str, list[float]] = {st.name: [] for st in STRATEGIES}
        results = {}
        for _ in range(repeats):
            for st in STRATEGIES:
                started = time.perf_counter()
                images = st.make(data, cfg)
                boxes = boxes_of(engine, images, width)
                samples[st.name].append(time.perf_counter() - started)
                results[st.name] = (images, boxes)
        ref_images, ref_boxes = results[STRATEGIES[0].name]
        ref_vectors = descriptors(engine, ref_images, ref_boxes, width)
        for st in STRATEGIES:
            images, boxes = results[st.name]
            times[st.name].append(statistics.median(samples[st.name]))
            kept = [any(iou(r, b) >= 0.5 for b in boxes) for r in ref_boxes]
            found[st.name] += len(boxes)
            lost[st.name] += kept.count(False)
            extra[st.name] += sum(not any(iou(r, b) >= 0.5 for r in ref_boxes) for b in boxes)
            if any(kept):
                matched = [max(boxes, key=lambda b: iou(r, b)) for r, k in zip(ref_boxes, kept) if k]
                moved = np.linalg.norm(descriptors(engine, images, matched, width) - ref_vectors[np.array(kept)], axis=1)
                drift[st.name] = max(drift[st.name], float(moved.max()))
    print(f"\n{label}: {len(photos)} photos")
    print(f"  {'strategy':18s} {'decode+detect':>17s} {'faces':>6s} {'lost':>5s} {'extra':>6s} {'drift':>7s}")
    base = statistics.median(times[STRATEGIES[0].name])
    for name, t in times.items():
        ms = statistics.median(t)
        print(f"  {name:18s} {ms * 1000:7.1f} ms {ms / base:5.2f}x {found[name]:6d} {lost[name]:5d} {extra[name]:6d} "
              f"{drift[name]:7.3f}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    from worker.engine import FaceEngine
    cfg = load_config().engine
    engine = FaceEngine(cfg)
    print(f"engine.detect_size {cfg.detect_size}; medians of per-photo medians over {args.repeats} repeats")
    run(engine, cfg, "benchmark photos at 1280 px", photos_at(1280), args.repeats)
    run(engine, cfg, "originals >= 1600 px, full size", originals(1600), args.repeats)
    run(engine, cfg, "group photos, 1280 px wide", group_photos(1280), args.repeats)
    run(engine, cfg, "group photos, 2560 px wide", group_photos(2560), args.repeats)


if __name__ == "__main__":
    main()
