"""build_embeddings.py --dask: a real LocalCluster of worker processes, against the local pool."""
from __future__ import annotations

import collections
import os
import signal

import numpy as np
import pytest

from testkit.scripts import photo_folder, run_script, write_config
from worker.dask_pool import DaskPool, parse_target
from worker.pool import FacePool

PHOTOS = 14


@pytest.fixture(scope="module")
def paths(tmp_path_factory, images):
    return photo_folder(tmp_path_factory.mktemp("dask") / "photos", images, PHOTOS)


@pytest.fixture(scope="module")
def local_results(paths, config):
    with FacePool(config.engine, config.pool, workers=2) as pool:
        return dict(pool.map_files(paths, jitters=1, thumbnail_size=512))


@pytest.fixture(scope="module")
def cluster(config):
    with DaskPool("local:2", config.engine, in_flight_per_thread=4) as pool:
        yield pool


def assert_same(dask_result, local_result):
    assert dask_result.outcome is local_result.outcome
    assert len(dask_result.faces) == len(local_result.faces)
    for a, b in zip(dask_result.faces, local_result.faces):
        assert a.box == b.box
        np.testing.assert_allclose(a.vector, b.vector, atol=1e-6)
    assert dask_result.thumbnail == local_result.thumbnail


def test_parse_target():
    assert parse_target("local:3") == ("local", 3)
    assert parse_target("tcp://10.0.0.5:8786") == ("tcp://10.0.0.5:8786", None)
    with pytest.raises(ValueError):
        parse_target("local:0")


def test_dask_gives_every_photo_the_local_pools_outcome(cluster, paths, local_results):
    got = list(cluster.map_files(paths, jitters=1, thumbnail_size=512))
    assert sorted(p for p, _ in got) == sorted(paths)
    outcomes = collections.Counter(r.outcome.value for _, r in got)
    assert outcomes["ok"] == PHOTOS and outcomes["no_face"] == 1 and outcomes["not_an_image"] == 1
    for path, result in got:
        assert_same(result, local_results[path])


def test_a_killed_dask_worker_loses_nothing_and_counts_nothing_twice(cluster, paths, local_results):
    got = []
    victim = None
    for path, result in cluster.map_files(paths, jitters=1, thumbnail_size=512):
        got.append((path, result))
        if victim is None:
            # Kill a worker that holds tasks right now (running or queued on it).
            busy = [w for w, keys in cluster.client.processing().items() if keys]
            victim = busy[0]
            os.kill(cluster.worker_pids()[victim], signal.SIGKILL)
    assert victim is not None
    assert collections.Counter(p for p, _ in got) == collections.Counter(paths)  # each photo exactly once
    for path, result in got:
        assert_same(result, local_results[path])  # rerun elsewhere, not WORKER_DIED


def test_build_embeddings_over_dask_builds_the_same_gallery(tmp_path, paths):
    photos = paths[0].parent.parent
    galleries = {}
    for how in ("local", "dask"):
        cfg = write_config(tmp_path / f"{how}.yaml", paths={"photos": photos, "assets": tmp_path / how},
                           pool={"workers": 2}, build={"batch_size": 4})
        extra = ["--dask", "local:2"] if how == "dask" else []
        done = run_script("build_embeddings.py", "--config", cfg, *extra)
        assert done.returncode == 0, done.stderr
        assert f"{PHOTOS + 2} to embed" in done.stdout and "embedding" in done.stderr  # tqdm's bar
        # kept / skipped / cleaning lines (the first names the run), the assets folder named alike
        galleries[how] = done.stdout.replace(str(tmp_path / how), "ASSETS").splitlines()[1:]
        again = run_script("build_embeddings.py", "--config", cfg, *extra)
        assert f"{PHOTOS + 2} already embedded, 0 to embed" in again.stdout
    strip = [line.split(" in ")[0] if line.startswith("kept") else line for line in galleries["local"]]
    assert strip == [line.split(" in ")[0] if line.startswith("kept") else line for line in galleries["dask"]]
    local = np.load(tmp_path / "local" / "embeddings.npz")
    dask = np.load(tmp_path / "dask" / "embeddings.npz")
    np.testing.assert_array_equal(local["hashes"], dask["hashes"])
    np.testing.assert_allclose(local["vectors"], dask["vectors"], atol=1e-6)
