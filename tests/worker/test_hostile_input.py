"""Hostile and odd input through the face pipeline: never a crash, a hang or a leak."""
from __future__ import annotations

import io
import random

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from testkit.images import jpeg, png_header_only
from worker.outcome import Outcome
from worker.pool import FacePool

SAFE = {Outcome.OK, Outcome.NO_FACE, Outcome.NOT_AN_IMAGE, Outcome.TOO_LARGE}


@pytest.fixture(scope="module")
def seeds(photo) -> list[bytes]:
    """Small real images in every container we accept: the fuzzer mutates these."""
    face = Image.open(io.BytesIO(photo("obama2.jpg"))).convert("RGB")
    face.thumbnail((320, 320))
    out = [jpeg(face)]
    for fmt, mode in (("PNG", "RGBA"), ("WEBP", "RGB"), ("GIF", "P"), ("BMP", "RGB"), ("TIFF", "RGB")):
        buf = io.BytesIO()
        face.convert(mode).save(buf, fmt)
        out.append(buf.getvalue())
    return out


def mutate(data: bytes, rng: random.Random) -> bytes:
    """Truncate, flip bytes, splice junk or corrupt the header, as broken uploads do."""
    buf = bytearray(data)
    op = rng.randrange(4)
    if op == 0:
        return bytes(buf[: rng.randrange(len(buf))])
    if op == 1:
        for _ in range(rng.randint(1, 40)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        return bytes(buf)
    if op == 2:
        at = rng.randrange(len(buf))
        return bytes(buf[:at] + rng.randbytes(rng.randint(1, 2000)) + buf[at:])
    for i in range(rng.randint(1, 8)):  # the first 64 bytes hold sizes, modes, chunk lengths
        buf[rng.randrange(min(64, len(buf)))] = rng.randrange(256)
    return bytes(buf)


@settings(max_examples=250, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_fuzzed_bytes_never_crash_the_engine(engine, seeds, data):
    kind = data.draw(st.sampled_from(["random", "mutated"]))
    if kind == "random":
        blob = data.draw(st.binary(max_size=4096))
    else:
        seed = data.draw(st.sampled_from(seeds))
        blob = mutate(seed, random.Random(data.draw(st.integers(0, 2**32))))
    result = engine.embed(blob)
    assert result.outcome in SAFE, (result.outcome, result.detail)


def test_memory_stays_bounded_over_many_bad_photos(engine, seeds):
    rng = random.Random(7)
    process = psutil.Process()
    for i in range(60):  # warm up allocator pools first
        engine.embed(mutate(seeds[i % len(seeds)], rng))
    before = process.memory_info().rss
    for i in range(400):
        engine.embed(mutate(seeds[i % len(seeds)], rng))
    grown = process.memory_info().rss - before
    print(f"\nmemory: RSS {before / 2**20:.0f} MB -> {(before + grown) / 2**20:.0f} MB over 400 bad photos")
    assert grown < 60 * 1024 * 1024, f"RSS grew by {grown / 2**20:.0f} MB over 400 bad photos"


@pytest.mark.parametrize("make, outcome", [
    (lambda: png_header_only(30_000, 30_000), Outcome.TOO_LARGE),       # bomb
    (lambda: png_header_only(1, 2_000_000_000), Outcome.TOO_LARGE),     # absurd dimension
    (lambda: _png(Image.new("RGB", (1, 20_000), "white")), Outcome.NO_FACE),
    (lambda: _png(Image.new("RGB", (20_000, 1), "white")), Outcome.NO_FACE),
    (lambda: _png(Image.new("1", (64, 64), 1)), Outcome.NO_FACE),
    (lambda: _png(Image.new("I;16", (64, 64), 60_000)), Outcome.NO_FACE),
    (lambda: _png(Image.new("RGB", (1, 1), "red")), Outcome.NO_FACE),
    (lambda: b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(3000), Outcome.NOT_AN_IMAGE),
    (lambda: b"<svg xmlns='http://www.w3.org/2000/svg'/>", Outcome.NOT_AN_IMAGE),
    (lambda: b"PK\x03\x04" + bytes(1000), Outcome.NOT_AN_IMAGE),
])
def test_odd_images(engine, make, outcome):
    assert engine.embed(make()).outcome is outcome


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def test_animated_gif_with_a_face_uses_the_first_frame(engine, photo):
    face = Image.open(io.BytesIO(photo("obama.jpg"))).convert("RGB")
    face.thumbnail((500, 500))
    blank = Image.new("RGB", face.size, "white")
    buf = io.BytesIO()
    face.save(buf, "GIF", save_all=True, append_images=[blank, blank], duration=100, loop=0)
    result = engine.embed(buf.getvalue())
    assert result.outcome is Outcome.OK and len(result.faces) == 1


def test_worker_survives_a_stream_of_hostile_jobs(config, seeds):
    rng = random.Random(11)
    jobs = [mutate(seeds[i % len(seeds)], rng) for i in range(60)] + [rng.randbytes(2000) for _ in range(20)]
    strict = config.replace(pool={"job_timeout_s": 20})
    with FacePool(config.engine, strict.pool, workers=2) as pool:
        pool.warm_up()
        pids = set(pool.worker_pids())
        assert len(pids) == 2
        outcomes = [pool.result_of(pool.submit(j)).outcome for j in jobs]
        assert set(outcomes) <= SAFE
        assert set(pool.worker_pids()) == pids  # no worker died or was replaced
