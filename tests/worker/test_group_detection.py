"""Every face in a group photo: the two-pass plan, the merge, reading order, on real photos and models."""
from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

from settings import load_config
from testkit.images import jpeg
from worker.annotate import draw_numbered_boxes
from worker.detect import SecondPass, merge_passes, overlap, plan_second_pass, reading_order
from worker.outcome import Outcome

PLAN = dict(small_face_px=40, max_pixels=12_000_000, skip_share=0.04)


# --- planning -------------------------------------------------------------------------------

def test_a_small_photo_without_a_face_is_upsampled_once_as_before():
    assert plan_second_pass(150, 150, 1.0, [], **PLAN) == SecondPass(2.0, 1.0, 1)


def test_a_face_that_fills_the_photo_skips_the_second_pass():
    assert plan_second_pass(150, 150, 1.0, [(35, 35, 115, 115)], **PLAN) is None
    selfie = (400, 300, 720, 620)  # 320 px in a 1280x960 photo: 8% of it
    assert plan_second_pass(1280, 960, 0.625, [selfie], **PLAN) is None


def test_a_wide_group_strip_gets_twice_its_resolution():
    # The 1600x267 photo: pass 1 at 0.5 sees faces of 160 px and up, it found one.
    plan = plan_second_pass(1600, 267, 0.5, [(100, 60, 170, 130)], **PLAN)
    assert plan == SecondPass(2.0, 1.0, 1)


def test_a_big_photo_is_held_to_the_pixel_budget():
    plan = plan_second_pass(3000, 2000, 800 / 3000, [], **PLAN)
    assert plan.scale == pytest.approx(math.sqrt(2)) and plan.upsample == 1
    assert plan.copy_scale == pytest.approx(math.sqrt(2) / 2)
    small_budget = plan_second_pass(3000, 2000, 800 / 3000, [], **{**PLAN, "max_pixels": 4_000_000})
    assert small_budget.upsample == 0 and small_budget.copy_scale == small_budget.scale
    assert 3000 * 2000 * small_budget.scale ** 2 == pytest.approx(4_000_000)


def test_no_second_pass_when_it_could_not_see_more():
    # The budget allows less than a pyramid step over pass 1.
    assert plan_second_pass(7000, 5000, 800 / 7000, [], **{**PLAN, "max_pixels": 600_000}) is None
    # Pass 1 already sees faces down to small_face_px.
    assert plan_second_pass(800, 600, 1.0, [], **{**PLAN, "small_face_px": 80}) is None
    # Never finer than small_face_px needs: faces of 60 px need 80/60 of the photo.
    assert plan_second_pass(800, 600, 1.0, [], **{**PLAN, "small_face_px": 60}).scale == pytest.approx(4 / 3)


# --- merging and numbering ----------------------------------------------------------------

def test_a_face_both_passes_found_keeps_one_box():
    first = [(100, 100, 200, 200)]
    second = [(105, 98, 195, 205),    # the same face, another scale
              (130, 130, 170, 170),   # inside it
              (300, 100, 350, 150),   # a new, small face
              (190, 190, 240, 240)]   # touches the corner only: another face
    assert merge_passes(first, second) == [2, 3]
    assert overlap((0, 0, 10, 10), (2, 2, 8, 8)) == 1.0 and overlap((0, 0, 10, 10), (10, 0, 20, 10)) == 0.0


def test_reading_order_is_rows_top_to_bottom_then_left_to_right():
    grid = [(x, y, x + 50, y + 50) for y in (400, 100, 250) for x in (500, 100, 300)]
    order = reading_order(grid)
    assert [grid[i][:2] for i in order] == [(x, y) for y in (100, 250, 400) for x in (100, 300, 500)]


def test_heads_at_different_heights_stay_in_one_row():
    row = [(300, 120, 360, 180), (100, 100, 160, 160), (200, 135, 260, 195)]  # up to half a face apart
    assert reading_order(row) == [1, 2, 0]


def test_a_tall_and_a_short_person_side_by_side_are_one_row():
    # Obama beside a taller Biden photo: Obama's face is larger and lower, its centre just
    # below Biden's box; a reader still sees two faces side by side.
    boxes = [(1139, 117, 1298, 275), (357, 143, 630, 416)]
    assert reading_order(boxes) == [1, 0]


def test_a_large_face_does_not_pull_two_rows_of_small_faces_together():
    big = (0, 0, 300, 300)
    top = [(400, 40, 440, 80), (500, 40, 540, 80)]
    bottom = [(400, 220, 440, 260), (500, 220, 540, 260)]
    boxes = [bottom[1], big, top[1], bottom[0], top[0]]
    ordered = [boxes[i] for i in reading_order(boxes)]
    assert ordered.index(top[0]) < ordered.index(top[1]) < ordered.index(bottom[0]) < ordered.index(bottom[1])
    assert reading_order([]) == []


# --- the real pipeline ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def old_engine():
    """``engine.second_pass: false``: the rule before issue 11."""
    from worker.engine import FaceEngine
    return FaceEngine(load_config().replace(engine={"second_pass": False}).engine)


def face_tile(engine, image: Image.Image, face: int) -> Image.Image:
    """The square around the photo's face, 2.5 faces wide, scaled so the face is ``face`` px wide."""
    found = engine.detect(image, {})
    assert len(found) == 1
    box = found[0][0]
    cx, cy, half = box.center().x, box.center().y, 1.25 * box.width()
    crop = image.crop((round(cx - half), round(cy - half), round(cx + half), round(cy + half)))
    side = round(crop.width * face / box.width())
    return crop.resize((side, side), Image.Resampling.LANCZOS)


def group_photo(engine, images) -> tuple[bytes, list[tuple[int, int, int, int]]]:
    """1280x853: a row of a 160-px face between two small ones, then a row of three small faces.

    Returns the JPEG and where each photo was pasted (left, top, right, bottom), in reading order.
    """
    canvas = Image.new("RGB", (1280, 853), (128, 128, 128))
    rows = [[("obama2.jpg", 45), ("obama.jpg", 160), ("biden.jpg", 55)],
            [("obama3.jpg", 60), ("biden.jpg", 42), ("obama2.jpg", 50)]]
    corners = []
    y = 20
    for row in rows:
        tiles = [face_tile(engine, Image.open(images / name).convert("RGB"), face) for name, face in row]
        height = max(im.height for im in tiles)
        x = 40
        for im in tiles:  # centred in the row, as people stand
            top = y + (height - im.height) // 2
            canvas.paste(im, (x, top))
            corners.append((x, top, x + im.width, top + im.height))
            x += im.width + 80
        y += height + 20
    assert y <= canvas.height
    return jpeg(canvas), corners


def test_a_large_face_and_small_ones_are_all_found(engine, old_engine, images):
    data, corners = group_photo(engine, images)
    new = engine.embed(data)
    assert new.outcome is Outcome.OK and len(new.faces) == 6 and "second_pass" in new.timings
    # In reading order: the i-th face lies in the i-th photo pasted.
    for face, (left, top, right, bottom) in zip(new.faces, corners):
        cx, cy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
        assert left < cx < right and top < cy < bottom
    assert [f.upsampled for f in new.faces].count(False) == 1  # pass 1 saw the large face only

    old = old_engine.embed(data)
    assert len(old.faces) < 4  # the old rule misses the small faces next to a large one
    big = max(new.faces, key=lambda f: f.width)
    same = [f for f in old.faces if f.box == big.box]
    assert same and np.array_equal(same[0].vector, big.vector)  # pass 1's box is kept, vector and all


def test_a_selfie_does_not_run_the_second_pass(engine, images):
    im = Image.open(images / "obama.jpg").convert("RGB")
    im = im.resize((1024, 1280))  # portrait, as a phone sends it
    result = engine.embed(jpeg(im))
    assert len(result.faces) == 1 and not result.faces[0].upsampled
    assert "second_pass" not in result.timings and "upsample" not in result.timings


def test_a_lone_small_face_is_found_by_both_rules(engine, old_engine, images):
    original = Image.open(images / "obama.jpg")
    small = original.resize((original.width // 8, original.height // 8), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (620, 460), "white")  # within detect_size (640): no downscaled copy
    canvas.paste(small, (250, 150))
    new, old = engine.embed(jpeg(canvas)), old_engine.embed(jpeg(canvas))
    assert new.faces[0].upsampled and "second_pass" in new.timings
    assert old.faces[0].upsampled and "upsample" in old.timings
    assert new.faces[0].box == old.faces[0].box  # within detect_size both are one upsample of the photo


def test_the_numbered_picture_follows_the_reply_order(engine, images):
    data, _ = group_photo(engine, images)
    result = engine.embed(data, annotate=True)
    boxes = [f.box for f in result.faces]
    image = Image.open(io.BytesIO(data)).convert("RGB")
    assert result.annotated == draw_numbered_boxes(image, boxes)  # the same faces, in the same order
    assert boxes == [boxes[i] for i in reading_order(boxes)]


def test_the_second_pass_settings_are_read_and_checked(tmp_path):
    from testkit.scripts import write_config
    engine = load_config().engine
    assert engine.second_pass and engine.small_face_px == 40 and engine.second_pass_skip_share == 0.04
    off = load_config(write_config(tmp_path / "off.yaml", engine={"second_pass": False})).engine
    assert not off.second_pass
    with pytest.raises(ValueError, match="small_face_px"):
        load_config(write_config(tmp_path / "zero.yaml", engine={"small_face_px": 0}))
    with pytest.raises(ValueError, match="upsample_fallback"):  # replaced by second_pass
        load_config(write_config(tmp_path / "old.yaml", engine={"upsample_fallback": True}))
