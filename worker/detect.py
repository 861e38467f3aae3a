"""Where to look for faces, and what to keep: pure planning and merging for the two HOG passes.

dlib's HOG window is 80 px, so a pass on a copy at scale ``s`` of the photo finds faces of
about 80 / s original px and up (one dlib upsample halves that). Pass 1 runs on a small copy
(``engine.detect_size``), cheap enough for every photo. A group photo holds faces pass 1
cannot see, so a second, finer pass runs when the photo has room for them, within a pixel
budget, unless pass 1 already found a face that fills a good share of the photo (a selfie or a
portrait: it must not pay for a pass that finds nothing). Nothing here touches dlib or pixels,
so the rules are tested without models.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

Box = tuple[float, float, float, float]  # left, top, right, bottom in original pixels

HOG_WINDOW_PX = 80    # dlib's frontal detector: the smallest face it reports is about this wide
NEXT_SCALE_GAIN = 1.2  # a pass 2 less than one pyramid step (6/5) finer than pass 1 sees nothing new
ROW_SLACK = 0.25       # reading order: a face's height, grown by this share each way, spans its row
MAX_SCALE = 2.0        # one dlib upsample of a copy at half the pass-2 scale, no further


@dataclass(frozen=True)
class SecondPass:
    """Pass 2 at ``scale`` of the original: a copy at ``copy_scale`` with ``upsample`` dlib upsamples."""
    scale: float
    copy_scale: float
    upsample: int


def plan_second_pass(width: int, height: int, first_scale: float, first_boxes: list[Box], *,
                     small_face_px: float, max_pixels: float, skip_share: float) -> SecondPass | None:
    """The second pass a ``width`` x ``height`` photo needs after pass 1 at ``first_scale``, or None.

    None when pass 1 already saw faces down to ``small_face_px``, when the largest box of pass 1
    covers at least ``skip_share`` of the photo (selfie, portrait), or when the ``max_pixels``
    budget allows no scale at least a pyramid step finer than pass 1. The scale is the one that
    sees ``small_face_px`` faces, capped by the budget and by MAX_SCALE.
    """
    area = width * height
    if area <= 0 or HOG_WINDOW_PX / first_scale <= small_face_px:
        return None
    if first_boxes and max(box_area(b) for b in first_boxes) >= skip_share * area:
        return None
    scale = min(MAX_SCALE, HOG_WINDOW_PX / small_face_px, math.sqrt(max_pixels / area))
    if scale < first_scale * NEXT_SCALE_GAIN:
        return None
    if scale > 1:
        return SecondPass(scale, scale / 2, 1)
    return SecondPass(scale, scale, 0)


def box_area(box: Box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def overlap(a: Box, b: Box) -> float:
    """Intersection over the smaller box: 1 when one box holds the other (the same face seen at
    two scales gives boxes of different sizes, whose IoU can be low)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min(box_area(a), box_area(b))
    return w * h / smaller if smaller > 0 else 0.0


def merge_passes(first: list[Box], second: list[Box], min_overlap: float = 0.5) -> list[int]:
    """Indices into ``second`` of the boxes that are new faces (none of ``first`` overlaps them).

    Pass 1's box is kept for a face both passes found, so a face's box (and vector) does not
    depend on whether pass 2 ran.
    """
    return [i for i, b in enumerate(second) if all(overlap(a, b) < min_overlap for a in first)]


def reading_order(boxes: list[Box]) -> list[int]:
    """Indices of ``boxes`` in reading order: rows top to bottom, left to right within a row.

    A face joins a row when its vertical centre lies within the height of a face of that row and
    that face's centre within its own, each height grown by a quarter on both sides: heads at
    different heights along a row stay together (a tall and a short person side by side too),
    while two rows of small faces beside a large face do not merge through it.
    """
    def centre_y(i: int) -> float:
        return (boxes[i][1] + boxes[i][3]) / 2

    def within(i: int, j: int) -> bool:  # i's centre inside j's height, grown by ROW_SLACK on each side
        slack = ROW_SLACK * (boxes[j][3] - boxes[j][1])
        return boxes[j][1] - slack <= centre_y(i) <= boxes[j][3] + slack

    def same_row(i: int, j: int) -> bool:
        return within(i, j) and within(j, i)

    rows: list[list[int]] = []
    for i in sorted(range(len(boxes)), key=centre_y):
        row = next((r for r in rows if any(same_row(i, j) for j in r)), None)
        if row is None:
            rows.append([i])
        else:
            row.append(i)
    return [i for row in rows for i in sorted(row, key=lambda k: (boxes[k][0] + boxes[k][2]) / 2)]
