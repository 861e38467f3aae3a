"""Faces found in composite group photos, and the selfie's time, with and without the second pass.

    python -m bench.groups [--variants 4] [--repeats 5] [--gallery 0]

Group photos are built from the 150-px photos of ../shared/faces (one face each): each tile is
resized so its face is as wide as the layout asks, and pasted on a grey canvas. Ground truth is
the tile's own face box (detected in the tile alone, with one upsample, as the set's README
promises), scaled and moved with it. A found box matches a true face at IoU >= 0.3; the others are
extra boxes (those inspected were real partial faces of people next to the subject in the
LFW photo, which the tile's ground truth does not list). ``engine.max_faces`` is raised to 100 so
detection, not the cut, is measured. Each photo goes through the old rule (``engine.second_pass: false``) and the new one
in turn, so both see the same load. The selfie time uses bench/pipeline.py's 1280-px photos.
``--gallery N`` also counts how many of N shared photos (0: none, -1: all) change face count.
"""
from __future__ import annotations

import argparse
import io
import random
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from bench.common import SHARED_FACES, iou
from bench.pipeline import photos_at
from settings import load_config
from worker.detect import Box, reading_order
from worker.engine import FaceEngine

TILE_SIDE = 150          # the LFW photos of the shared set
MATCH_IOU = 0.3
MAX_TILES = 200         # people to draw faces from, spread over the set
SELFIES = ("obama.jpg", "obama2.jpg", "biden.jpg", "obama_partial_face.jpg", "obama_partial_face2.jpg")


@dataclass(frozen=True)
class Layout:
    name: str
    size: tuple[int, int]
    rows: tuple[tuple[int, ...], ...]  # face widths (px), row by row
    group: bool = True                 # counted in the group-photo total


LAYOUTS = (
    Layout("one row of 4, faces 40/50/70/55", (1280, 300), ((40, 50, 70, 55),)),
    Layout("wide strip 1600x267, faces 50-70", (1600, 267), ((50, 70, 60, 55),)),
    Layout("2 rows of 6, faces 40-60", (1280, 720), ((40, 45, 50, 55, 60, 45), (60, 55, 50, 45, 40, 50))),
    Layout("3 rows of 5, faces 45-65", (1280, 960), ((45, 50, 55, 60, 65), (65, 60, 55, 50, 45), (50, 55, 60, 65, 45))),
    Layout("one 160-px face + 8 small (40-60)", (1280, 853), ((40, 160, 50, 45), (60, 45, 55, 40, 50))),
    Layout("big photo 3000x2000, 2 rows of 8 at 60 px", (3000, 2000), ((60,) * 8, (60,) * 8)),
    Layout("selfie: one 300-px face + 3 at 50 px", (1280, 960), ((300, 50), (50, 50)), group=False),
)


def tile_faces(folder: Path, engine: FaceEngine) -> list[tuple[Image.Image, Box]]:
    """(photo, its face box): the first 150-px one-face photo of up to MAX_TILES people of ``folder``."""
    tiles = []
    people = sorted(p for p in folder.iterdir() if p.is_dir())
    for person in people[:: max(1, len(people) // MAX_TILES)]:
        f = min(person.glob("*.jpg"), default=None)
        if f is None:
            continue
        with Image.open(f) as im:
            if im.size != (TILE_SIDE, TILE_SIDE):
                continue
            image = im.convert("RGB")
        rects = engine.detector(np.asarray(image.convert("L")), 1)
        if len(rects) == 1:
            r = rects[0]
            tiles.append((image, (r.left(), r.top(), r.right(), r.bottom())))
    return tiles


def compose(layout: Layout, tiles: list[tuple[Image.Image, Box]], rng: random.Random) -> tuple[bytes, list[Box]]:
    """A JPEG group photo and its true face boxes."""
    width, height = layout.size
    canvas = Image.new("RGB", layout.size, (128, 128, 128))
    truth = []
    placed = []
    for row in layout.rows:
        row_tiles = []
        for face in row:
            image, box = rng.choice(tiles)
            f = face / (box[2] - box[0])
            side = round(TILE_SIDE * f)
            row_tiles.append((image.resize((side, side), Image.Resampling.LANCZOS), [v * f for v in box]))
        placed.append(row_tiles)
    row_heights = [max(t.height for t, _ in row) for row in placed]
    gap_y = (height - sum(row_heights)) / (len(placed) + 1)
    if gap_y < 0:
        raise ValueError(f"{layout.name}: rows do not fit")
    y = gap_y
    for row, row_height in zip(placed, row_heights):
        gap_x = (width - sum(t.width for t, _ in row)) / (len(row) + 1)
        if gap_x < 0:
            raise ValueError(f"{layout.name}: a row does not fit")
        x = gap_x
        for tile, box in row:
            top = y + (row_height - tile.height) / 2
            canvas.paste(tile, (round(x), round(top)))
            truth.append((round(x) + box[0], round(top) + box[1], round(x) + box[2], round(top) + box[3]))
            x += tile.width + gap_x
        y += row_height + gap_y
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=90)
    return out.getvalue(), truth


def score(found: list[Box], truth: list[Box]) -> tuple[int, int]:
    """(true faces found, false boxes), matching each true face to at most one box."""
    free = list(found)
    hits = 0
    for t in truth:
        best = max(free, key=lambda b: iou(b, t), default=None)
        if best is not None and iou(best, t) >= MATCH_IOU:
            free.remove(best)
            hits += 1
    return hits, len(free)


def engines(max_faces: int = 100) -> dict[str, FaceEngine]:
    """The old rule and the new, from config.yaml; ``max_faces`` raised so every face found counts."""
    config = load_config()
    rules = {"old": False, "new": True}
    return {name: FaceEngine(config.replace(engine={"second_pass": on, "max_faces": max_faces}).engine)
            for name, on in rules.items()}


def groups(engs: dict[str, FaceEngine], tiles: list[tuple[Image.Image, Box]], variants: int,
           layouts: tuple[Layout, ...] = LAYOUTS, seed: int = 11) -> dict[str, dict[str, dict[str, float]]]:
    """Per layout and rule: faces, found, false boxes, median ms per photo, reading-order violations."""
    rng = random.Random(seed)
    table: dict[str, dict[str, dict[str, float]]] = {}
    for layout in layouts:
        rows = {name: {"faces": 0, "found": 0, "false": 0, "ms": [], "order": 0} for name in engs}
        for _ in range(variants):
            data, truth = compose(layout, tiles, rng)
            for name, engine in engs.items():
                started = time.perf_counter()
                result = engine.embed(data)
                elapsed = time.perf_counter() - started
                boxes = [f.box for f in result.faces]
                hits, false = score(boxes, truth)
                r = rows[name]
                r["faces"] += len(truth)
                r["found"] += hits
                r["false"] += false
                r["ms"].append(elapsed * 1000)
                r["order"] += boxes != [boxes[i] for i in reading_order(boxes)]
        table[layout.name] = {n: {**r, "ms": statistics.median(r["ms"])} for n, r in rows.items()}
    return table


def print_groups(table: dict[str, dict[str, dict[str, float]]], layouts: tuple[Layout, ...] = LAYOUTS) -> None:
    names = list(next(iter(table.values())))
    print("| layout | faces | " + " | ".join(f"{n}: found | {n}: extra | {n}: ms/photo" for n in names) + " |")
    print("|---|---|" + "---|---|---|" * len(names))
    totals = {part: {n: [0, 0, 0] for n in names} for part in ("group photos", "all layouts")}
    for layout in layouts:
        row = table[layout.name]
        faces = row[names[0]]["faces"]
        cells = []
        for n in names:
            r = row[n]
            cells.append(f"{r['found']}/{faces} ({100 * r['found'] / faces:.0f}%) | {r['false']} | {r['ms']:.0f}")
            for part in ("group photos", "all layouts") if layout.group else ("all layouts",):
                t = totals[part][n]
                t[0] += r["found"]
                t[1] += faces
                t[2] += r["false"]
        print(f"| {layout.name} | {faces} | " + " | ".join(cells) + " |")
    for part, by_name in totals.items():
        cells = [f"**{100 * f / t:.1f}%** ({f}/{t}) | {false} | " for n, (f, t, false) in by_name.items()]
        print(f"| **{part}** | {by_name[names[0]][1]} | " + " | ".join(cells) + " |")
    unordered = {n: sum(table[lay.name][n]["order"] for lay in layouts) for n in names}
    print("photos whose faces are not in reading order: "
          + ", ".join(f"{n} {count}" for n, count in unordered.items()))


def selfies(engs: dict[str, FaceEngine], repeats: int) -> None:
    """Median embed() time of 1280-px one-face photos under each rule, alternating per photo."""
    photos = photos_at(1280)
    sets = {"selfies and portraits (face_recognition test photos)": [p for p in photos if p[0].split("/")[-1] in SELFIES],
            f"all {len(photos)} bench.pipeline photos": photos}
    times: dict[str, dict[str, list[float]]] = {s: {n: [] for n in engs} for s in sets}
    passes = {s: 0 for s in sets}
    for _ in range(repeats):
        for label, data in photos:
            runs = {}
            for name, engine in engs.items():
                started = time.perf_counter()
                result = engine.embed(data)
                runs[name] = (time.perf_counter() - started, result)
            for s, members in sets.items():
                if any(label == m[0] for m in members):
                    passes[s] += "second_pass" in runs["new"][1].timings
                    for name, (elapsed, _) in runs.items():
                        times[s][name].append(elapsed * 1000)
    print("\n| 1280-px one-face photos | runs | " + " | ".join(f"{n}: ms (median)" for n in engs)
          + " | new / old | runs with a second pass |")
    print("|---|---|" + "---|" * len(engs) + "---|---|")
    for s, by_name in times.items():
        med = {n: statistics.median(v) for n, v in by_name.items()}
        n_runs = len(by_name["old"])
        print(f"| {s} | {n_runs} | " + " | ".join(f"{med[n]:.1f}" for n in engs)
              + f" | {med['new'] / med['old']:.3f} | {passes[s]}/{n_runs} |")


def gallery_counts(engs: dict[str, FaceEngine], limit: int) -> None:
    """How many shared photos get another face count from the new rule (the gallery keeps one-face photos)."""
    files = sorted(SHARED_FACES.glob("*/*.jpg"))
    if limit > 0:
        files = files[:: max(1, len(files) // limit)][:limit]
    changed = []
    for f in files:
        with Image.open(f) as im:
            image = im.convert("RGB")
        counts = {n: len(e.detect(image, {})) for n, e in engs.items()}
        if counts["old"] != counts["new"]:
            changed.append((f"{f.parent.name}/{f.name}", counts["old"], counts["new"]))
    print(f"\n../shared/faces: {len(changed)} of {len(files)} photos change face count with the second pass")
    for name, old, new in changed[:20]:
        print(f"  {name}: {old} -> {new}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", type=int, default=4, help="photos per layout (other people each time)")
    parser.add_argument("--repeats", type=int, default=5, help="passes over the selfie photos")
    parser.add_argument("--gallery", type=int, default=0, help="shared photos to recount (-1: all)")
    parser.add_argument("--faces", type=Path, default=SHARED_FACES)
    args = parser.parse_args(argv)
    engs = engines()
    if args.faces.is_dir():
        tiles = tile_faces(args.faces, engs["old"])
        print(f"{len(tiles)} one-face {TILE_SIDE}-px photos from {args.faces}; {args.variants} photos per layout")
        print_groups(groups(engs, tiles, args.variants))
    else:
        print(f"group photos skipped: {args.faces} is missing (the shared face set, see its README)")
    if args.repeats:
        selfies(engs, args.repeats)
    if args.gallery and SHARED_FACES.is_dir():
        gallery_counts(engs, args.gallery)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
