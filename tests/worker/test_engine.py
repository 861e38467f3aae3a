"""The real dlib pipeline on real photos."""
from __future__ import annotations

import io
import itertools

import numpy as np
import pytest
from PIL import Image

from testkit.images import jpeg, side_by_side
from worker.outcome import Outcome

OBAMA = ["obama.jpg", "obama2.jpg", "obama3.jpg", "obama_partial_face.jpg"]


def one_face(engine, data: bytes):
    result = engine.embed(data)
    assert result.outcome is Outcome.OK, result.detail
    assert len(result.faces) == 1
    return result.faces[0]


def dist(a, b) -> float:
    return float(np.linalg.norm(a.vector - b.vector))


def test_same_person_is_close_and_different_people_are_far(engine, photo):
    obamas = [one_face(engine, photo(name)) for name in OBAMA]
    biden = one_face(engine, photo("biden.jpg"))
    for a, b in itertools.combinations(obamas, 2):
        assert dist(a, b) < 0.6
    for a in obamas:
        assert dist(a, biden) > 0.6


def test_face_fields_are_sane(engine, photo):
    result = engine.embed(photo("obama.jpg"))
    face = result.faces[0]
    assert (result.width, result.height) == (910, 1137)
    left, top, right, bottom = face.box
    assert 0 <= left < right <= 910 and 0 <= top < bottom <= 1137
    assert face.vector.dtype == np.float32 and face.vector.shape == (128,)
    assert 0.3 * face.width < face.eye_distance < 0.6 * face.width
    assert abs(face.roll) < 10 and face.score > 0
    assert set(result.timings) >= {"decode", "detect", "landmarks", "descriptor"}


def test_exif_rotated_copy_gives_the_same_face(engine, photo):
    upright = one_face(engine, photo("obama.jpg"))
    original = Image.open(io.BytesIO(photo("obama.jpg")))
    exif = Image.Exif()
    exif[0x0112] = 8  # stored rotated; viewers (and we) turn it back
    out = io.BytesIO()  # lossless, so only the orientation differs
    original.transpose(Image.Transpose.ROTATE_270).save(out, "PNG", exif=exif)
    rotated = one_face(engine, out.getvalue())
    assert dist(upright, rotated) < 0.01
    assert np.abs(np.array(upright.box) - np.array(rotated.box)).max() <= 4


def test_tilted_head_reports_roll(engine, photo):
    original = Image.open(io.BytesIO(photo("obama.jpg")))
    tilted = one_face(engine, jpeg(original.rotate(15, resample=Image.Resampling.BICUBIC, fillcolor="white")))
    assert 8 < abs(tilted.roll) < 22


def test_photo_without_a_face(engine, photo):
    # The lower part of a real photo: a suit and a background, no face.
    original = Image.open(io.BytesIO(photo("obama3.jpg")))
    body = original.crop((0, original.height * 2 // 3, original.width, original.height))
    assert engine.embed(jpeg(body)).outcome is Outcome.NO_FACE
    assert engine.embed(jpeg(Image.new("RGB", (640, 480), "gray"))).outcome is Outcome.NO_FACE


@pytest.mark.parametrize("data, outcome", [
    (b"", Outcome.NOT_AN_IMAGE),
    (b"GIF89a" + bytes(50), Outcome.NOT_AN_IMAGE),
    (b"%PDF-1.7\n" + bytes(500), Outcome.NOT_AN_IMAGE),
])
def test_bad_bytes_have_typed_outcomes(engine, data, outcome):
    assert engine.embed(data).outcome is outcome


def test_truncated_and_bomb(engine, photo):
    from testkit.images import png_header_only
    assert engine.embed(photo("biden.jpg")[:10_000]).outcome is Outcome.NOT_AN_IMAGE
    assert engine.embed(png_header_only(60_000, 60_000)).outcome is Outcome.TOO_LARGE


def test_every_colour_mode_finds_the_face(engine, photo):
    original = Image.open(io.BytesIO(photo("obama.jpg"))).convert("RGB")
    reference = one_face(engine, jpeg(original))

    def as_png(image: Image.Image) -> bytes:
        out = io.BytesIO()
        image.save(out, "PNG")
        return out.getvalue()

    cmyk = one_face(engine, jpeg(original.convert("CMYK")))
    rgba = one_face(engine, photo("32bit.png"))  # a real RGBA PNG from the test set
    gray = one_face(engine, as_png(original.convert("L")))
    sixteen = np.asarray(original.convert("L"), dtype=np.uint16) * 257
    deep = one_face(engine, as_png(Image.fromarray(sixteen.astype("<u2"))))
    assert Image.open(io.BytesIO(photo("32bit.png"))).mode == "RGBA"
    assert dist(reference, cmyk) < 0.1
    assert dist(gray, deep) < 0.05  # 16-bit is rescaled, not clipped to white
    assert dist(reference, gray) < 0.3
    obama2 = one_face(engine, photo("obama2.jpg"))
    assert dist(rgba, obama2) < 0.1  # 32bit.png is obama2 with an alpha channel


def test_two_people_give_two_faces(engine, photo):
    left = Image.open(io.BytesIO(photo("obama.jpg")))
    right = Image.open(io.BytesIO(photo("biden.jpg")))
    right = right.resize((right.width * left.height // right.height, left.height))
    result = engine.embed(jpeg(side_by_side(left, right)))
    assert result.outcome is Outcome.OK and len(result.faces) == 2
    obama, biden = one_face(engine, photo("obama.jpg")), one_face(engine, photo("biden.jpg"))
    by_x = sorted(result.faces, key=lambda f: f.box[0])
    assert dist(by_x[0], obama) < 0.2 and dist(by_x[1], biden) < 0.2
    assert by_x[1].box[0] >= left.width - 5  # boxes are in the group photo's pixels


def test_small_face_needs_the_second_pass(engine, photo):
    original = Image.open(io.BytesIO(photo("obama.jpg")))
    small = original.resize((original.width // 8, original.height // 8), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (800, 600), "white")
    canvas.paste(small, (300, 200))
    result = engine.embed(jpeg(canvas))
    assert result.outcome is Outcome.OK
    assert result.faces[0].upsampled and "second_pass" in result.timings
    assert not one_face(engine, photo("obama.jpg")).upsampled
