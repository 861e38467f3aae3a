"""An interrupted build_embeddings.py loses at most one batch, and the next run embeds only the rest."""
from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from rebuild.cache import CACHE_DB, EmbedCache, Entry
from testkit.scripts import ROOT, photo_folder, run_script, write_config

PHOTOS = 40
BATCH = 2


def cached_rows(db: Path) -> int:
    """Rows another process committed to the cache (0 before it exists)."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def test_cache_commits_whole_batches_and_reopens_with_them(tmp_path):
    vector = np.arange(128, dtype=np.float32) / 128
    cache = EmbedCache.open(tmp_path, jitters=1, batch_size=3)
    for i in range(7):
        cache.add(f"{i:064x}", Entry("ok", 1, vector + i, 30.0 + i, -2.0))
    assert cached_rows(tmp_path / CACHE_DB) == 6  # two batches committed, one result pending
    cache.close()  # the last, partial batch is committed on close
    again = EmbedCache.open(tmp_path, jitters=1)
    assert len(again.entries) == 7
    entry = again.entries[f"{6:064x}"]
    np.testing.assert_array_equal(entry.vector, vector + 6)
    assert (entry.outcome, entry.faces, entry.eye_distance, entry.roll) == ("ok", 1, 36.0, -2.0)
    assert EmbedCache.open(tmp_path, jitters=2).entries == {}  # another setting, other entries


def test_kill_9_mid_build_loses_at_most_one_batch_and_the_rerun_embeds_only_the_rest(tmp_path, images):
    photo_folder(tmp_path / "photos", images, PHOTOS - 2)
    assets = tmp_path / "assets"
    cfg = write_config(tmp_path / "config.yaml", paths={"photos": tmp_path / "photos", "assets": assets},
                       pool={"workers": 1}, build={"batch_size": BATCH})
    build = subprocess.Popen([sys.executable, "build_embeddings.py", "--config", str(cfg)], cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while cached_rows(assets / CACHE_DB) < 2 * BATCH:  # wait for committed work, not for a time
            assert build.poll() is None, "the build ended before it could be killed"
            time.sleep(0.02)
        os.kill(build.pid, signal.SIGKILL)
        build.wait()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(build.pid, signal.SIGKILL)  # its pool workers, orphaned by the kill
    committed = cached_rows(assets / CACHE_DB)
    assert committed % BATCH == 0 and 2 * BATCH <= committed < PHOTOS

    rerun = run_script("build_embeddings.py", "--config", cfg)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{committed} already embedded, {PHOTOS - committed} to embed" in rerun.stdout
    assert cached_rows(assets / CACHE_DB) == PHOTOS
    third = run_script("build_embeddings.py", "--config", cfg)
    assert f"{PHOTOS} already embedded, 0 to embed" in third.stdout

