"""`make gallery`: scrape -> build_embeddings -> build_index against the fake Wikimedia, with real face photos."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
import ujson

from collect.agent import CONTACT_ENV
from testkit.scripts import ROOT, write_config
from testkit.fake_wikimedia import FakePerson
from testkit.scraping import CONTACT


def test_make_target_passes_the_size() -> None:
    dry = subprocess.run(["make", "-n", "gallery", "GALLERY_SIZE=7"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert "make_gallery.py --size 7" in dry.stdout


async def make_gallery(cfg: Path, size: int) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if k != CONTACT_ENV}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "make_gallery.py", "--size", str(size), "--per-person", "3", "--config", str(cfg),
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 300)
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.mark.asyncio
async def test_make_gallery_end_to_end_and_resumable(wikimedia, tmp_path: Path, photo) -> None:
    people = [FakePerson(qid="Q76", name="Barack Obama", sitelinks=300, images=["Obama.jpg"],
                         category="Barack Obama", files=["Obama signature.png", "Obama 2.jpg", "Obama 3.jpg"]),
              FakePerson(qid="Q6279", name="Joe Biden", sitelinks=250, images=["Biden.jpg"]),
              FakePerson(qid="Q1", name="Not A Face", sitelinks=200, images=["Landscape.jpg"])]       # the fake's gradient
    fake = await wikimedia(people)
    fake.photos.update({"Obama.jpg": photo("obama.jpg"), "Obama 2.jpg": photo("obama2.jpg"),
                        "Obama 3.jpg": photo("obama3.jpg"), "Biden.jpg": photo("biden.jpg")})
    fake.metadata["Obama signature.png"] = {"LicenseShortName": None}
    cfg = write_config(tmp_path / "config.yaml",
                       paths={"photos": tmp_path / "photos", "assets": tmp_path / "assets"}, pool={"workers": 2},
                       scrape={"sparql_endpoint": fake.sparql_endpoint, "commons_api": fake.commons_api,
                               "contact": CONTACT, "thumb_width": 500, "backoff_s": 0.01})

    code, out, err = await make_gallery(cfg, 3)

    assert code == 0, err
    assert "asked for: 3 people" in out
    assert "collected: 3 people (3 this run), 0 failed, 5 photos downloaded" in out
    assert "in the gallery: 2 people, 4 photos" in out
    assert "skipped photos: 1 no licence; 1 no face found" in out
    meta = ujson.loads((tmp_path / "assets" / "index.json").read_text())
    assert meta["people"] == 2 and meta["faces"] == 4
    downloads = fake.hits["thumb"]

    # Interrupted or not, a second run costs one SPARQL query, downloads and embeds nothing.
    (tmp_path / "assets" / "index.json").unlink()
    code, out, err = await make_gallery(cfg, 3)

    assert code == 0, err
    assert "collected: 3 people (0 this run), 0 failed, 0 photos downloaded, 1 requests" in out
    assert "5 already embedded, 0 to embed" in out
    assert fake.hits["thumb"] == downloads
    assert ujson.loads((tmp_path / "assets" / "index.json").read_text())["faces"] == 4
