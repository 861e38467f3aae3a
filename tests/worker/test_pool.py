"""The worker pool: same answers as in-process, and a dead worker costs one job."""
from __future__ import annotations

import asyncio
import io
import os
import signal
import time

import numpy as np
import pytest
from PIL import Image

from testkit.images import jpeg
from worker.outcome import Outcome
from worker.pool import FacePool


@pytest.fixture(scope="module")
def pool(config):
    with FacePool(config.engine, config.pool, workers=2) as pool:
        pool.warm_up()
        yield pool


def tiled(photo, n: int = 3) -> bytes:
    """n x n copies of a real photo: n^2 faces (with jitters=2, on dlib, a job of a second or more)."""
    im = Image.open(io.BytesIO(photo("obama.jpg")))
    canvas = Image.new("RGB", (im.width * n, im.height * n))
    for i in range(n):
        for j in range(n):
            canvas.paste(im, (i * im.width, j * im.height))
    return jpeg(canvas)


def test_pool_gives_the_same_result_as_in_process(pool, engine, photo):
    for name in ("obama.jpg", "biden.jpg"):
        here = engine.embed(photo(name))
        there = pool.embed_sync(photo(name))
        assert there.outcome is here.outcome is Outcome.OK
        assert [f.box for f in there.faces] == [f.box for f in here.faces]
        np.testing.assert_allclose(there.faces[0].vector, here.faces[0].vector, atol=1e-6)
    assert pool.embed_sync(b"junk").outcome is Outcome.NOT_AN_IMAGE


async def test_async_embed_runs_jobs_concurrently_without_blocking(pool, photo):
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    started = time.perf_counter()
    results = await asyncio.gather(*(pool.embed(photo(n)) for n in ("obama.jpg", "obama2.jpg", "biden.jpg", "obama3.jpg")))
    elapsed = time.perf_counter() - started
    task.cancel()
    assert [r.outcome for r in results] == [Outcome.OK] * 4
    assert ticks >= elapsed / 0.01 * 0.5  # the event loop kept running while dlib worked
    assert pool.pending == 0


def test_killed_worker_fails_only_its_job(config, photo):
    with FacePool(config.engine, config.pool, workers=2) as pool:
        pool.warm_up()
        data = tiled(photo)
        jobs = [pool.submit(data, jitters=2), pool.submit(data, jitters=2)]
        deadline = time.monotonic() + 30
        while not all(j.running() for j in jobs) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert all(j.running() for j in jobs)  # each worker has taken one job
        time.sleep(0.1)
        victim = pool.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        outcomes = sorted(pool.result_of(j).outcome.value for j in jobs)
        assert outcomes == [Outcome.OK.value, Outcome.WORKER_DIED.value]
        after = pool.embed_sync(photo("obama.jpg"))
        assert after.outcome is Outcome.OK
        assert victim not in pool.worker_pids()


def test_a_worker_dying_while_the_pool_is_idle_costs_nothing(config, photo):
    """pebble declares the whole pool broken then; the next job gets a fresh one."""
    with FacePool(config.engine, config.pool, workers=2) as pool:
        pool.warm_up()
        victim = pool.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        time.sleep(0.5)  # pebble's manager notices within its 0.1 s tick
        assert pool.embed_sync(photo("obama.jpg")).outcome is Outcome.OK
        pids = pool.worker_pids()
        assert victim not in pids and len(pids) == 2 and pool.restarts == 1


def test_job_over_the_time_limit_is_killed(config, photo):
    strict = config.replace(pool={"job_timeout_s": 1.0}).pool
    with FacePool(config.engine, strict, workers=1) as pool:
        pool.warm_up()
        slow = pool.result_of(pool.submit(tiled(photo), jitters=10))
        assert slow.outcome is Outcome.TIMEOUT
        quick = pool.embed_sync(jpeg(Image.new("RGB", (64, 64), "white")))
        assert quick.outcome is Outcome.NO_FACE


def test_map_files_reads_paths_in_the_worker(pool, images, tmp_path):
    missing = tmp_path / "missing.jpg"
    results = dict(pool.map_files([images / "obama.jpg", missing, images / "biden.jpg"]))
    assert results[images / "obama.jpg"].outcome is Outcome.OK
    assert results[images / "biden.jpg"].outcome is Outcome.OK
    assert results[missing].outcome is Outcome.NOT_AN_IMAGE
