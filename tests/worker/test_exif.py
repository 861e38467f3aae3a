"""Bad metadata never costs a readable picture its answer; odd but valid JPEG bodies are read.

The EXIF blocks are built by hand (a TIFF header and one IFD in an APP1 segment of a real
face photo), because the broken ones cameras and editors write cannot be made with Pillow:
wrong types and counts, offsets past the end, sub-IFD pointers anywhere, IFDs that loop.
"""
from __future__ import annotations

import io
import struct

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from testkit.images import jpeg
from worker.decode import decode_image, orientation
from worker.outcome import Outcome

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow says "corrupt EXIF": that is the point
LIMITS = {"max_pixels": 40_000_000, "max_bytes": 20 * 1024 * 1024}
ORIENTATION, MAKE, DATETIME, EXIF_IFD, GPS_IFD = 0x0112, 0x010F, 0x0132, 0x8769, 0x8825
TAGS = st.sampled_from([ORIENTATION, ORIENTATION, MAKE, DATETIME, EXIF_IFD, GPS_IFD]) | st.integers(0, 65535)
COUNTS = st.sampled_from([0, 1, 2, 3, 12, 2**31, 2**32 - 1]) | st.integers(0, 100)
VALUES = st.sampled_from([0, 1, 2, 6, 8, 26, 99_999, 2**31, 2**32 - 1]) | st.integers(0, 2**32 - 1)
ENTRY = st.tuples(TAGS, st.integers(0, 14), COUNTS, VALUES)  # tag, type (0-14: valid and not), count, value


def tiff(entries: list[tuple[int, int, int, int]], next_ifd: int, tail: bytes) -> bytes:
    """A little-endian TIFF block with one IFD at offset 8 and ``next_ifd`` as its link (8: a loop)."""
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        ifd += struct.pack("<HHII", tag, kind, count, value)
    return b"II*\0" + struct.pack("<I", 8) + ifd + struct.pack("<I", next_ifd) + tail


def with_exif(picture: bytes, block: bytes) -> bytes:
    app1 = b"Exif\0\0" + block
    return picture[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + picture[2:]


@pytest.fixture(scope="module")
def face(photo) -> bytes:
    image = Image.open(io.BytesIO(photo("obama.jpg"))).convert("RGB")
    image.thumbnail((480, 480))
    return jpeg(image)


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(entries=st.lists(ENTRY, min_size=1, max_size=6), next_ifd=st.sampled_from([0, 8, 26, 99_999, 2**32 - 1]),
       tail=st.binary(max_size=24))
# Each of these failed the whole photo before: a GPS IFD pointer past 2^31, a Make tag of the
# wrong type that Pillow could not write back, a sub-IFD pointer into the middle of the block.
@example(entries=[(ORIENTATION, 8, 2, 6), (GPS_IFD, 9, 1, 2**31)], next_ifd=0, tail=b"")
@example(entries=[(MAKE, 10, 3, 8), (EXIF_IFD, 0, 1, 0), (DATETIME, 6, 2**31, 2**31), (ORIENTATION, 3, 2, 3)],
         next_ifd=99_999, tail=b"")
@example(entries=[(ORIENTATION, 6, 1, 3), (DATETIME, 12, 2, 6), (EXIF_IFD, 3, 12, 26), (EXIF_IFD, 7, 8, 2**31)],
         next_ifd=26, tail=b"")
@example(entries=[(ORIENTATION, 3, 1, 6)], next_ifd=8, tail=b"")  # a valid orientation in an IFD that loops
def test_any_exif_block_leaves_the_face_readable(engine, face, entries, next_ifd, tail):
    data = with_exif(face, tiff(entries, next_ifd, tail))
    result = engine.embed(data)
    image = Image.open(io.BytesIO(data))
    turned = orientation(image) in (3, 4, 5, 6, 7, 8)  # read as a real turn: the face may be on its side
    if turned:
        assert result.outcome in (Outcome.OK, Outcome.NO_FACE), (result.outcome, result.detail)
    else:
        assert result.outcome is Outcome.OK and len(result.faces) == 1, (result.outcome, result.detail)


@pytest.mark.parametrize("value, upright", [(1, True), (6, False), (8, False), (0, True), (9, True), (65535, True)])
def test_orientation_is_applied_only_when_it_reads_as_one_of_the_eight(face, value, upright):
    stored = Image.open(io.BytesIO(face)).size
    data = with_exif(face, tiff([(ORIENTATION, 3, 1, value)], 0, b""))
    size = decode_image(data, **LIMITS).size
    assert size == (stored if upright else stored[::-1])


@pytest.mark.parametrize("kind, value", [(2, 0x00636261), (5, 0), (11, 0x40C00000), (7, 6)])  # text, rational, float, bytes
def test_an_orientation_of_the_wrong_type_is_ignored_and_the_face_answered(engine, face, kind, value):
    result = engine.embed(with_exif(face, tiff([(ORIENTATION, kind, 1, value)], 0, b"")))
    assert result.outcome is Outcome.OK and len(result.faces) == 1


def test_progressive_and_optimised_jpegs_are_read(engine, photo):
    image = Image.open(io.BytesIO(photo("obama.jpg"))).convert("RGB")
    for options in ({"progressive": True}, {"optimize": True}, {"progressive": True, "subsampling": 0}):
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=85, **options)
        result = engine.embed(buf.getvalue())
        assert result.outcome is Outcome.OK and len(result.faces) == 1, options


@pytest.mark.parametrize("keep", [0.05, 0.3, 0.6, 0.95])
def test_a_cut_off_body_is_refused_clearly_not_as_an_error(engine, photo, keep):
    data = photo("obama.jpg")
    result = engine.embed(data[: int(len(data) * keep)])
    assert result.outcome is Outcome.NOT_AN_IMAGE, (result.outcome, result.detail)
