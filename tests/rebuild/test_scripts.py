"""build_embeddings.py, build_index.py and match.py end to end, as a user runs them."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import ujson
from PIL import Image

from gallery.store import Gallery
from testkit.scripts import run_script, write_config
from testkit.images import jpeg, side_by_side


@pytest.fixture(scope="module")
def gallery_dir(tmp_path_factory, images):
    root = tmp_path_factory.mktemp("gallery")
    photos = root / "photos"
    obama, biden = photos / "Barack_Obama", photos / "Joe Biden"
    for folder in (obama, biden, photos / "Nobody", photos / "Group"):
        folder.mkdir(parents=True)
    for name in ("obama.jpg", "obama3.jpg", "obama_partial_face.jpg"):
        shutil.copy(images / name, obama / name)
    shutil.copy(images / "obama.jpg", obama / "exact-copy.jpg")
    reencoded = Image.open(images / "obama.jpg")
    (obama / "reencoded.jpg").write_bytes(jpeg(reencoded))  # same photo, other bytes
    shutil.copy(images / "biden.jpg", biden / "biden.jpg")
    (biden / "info.json").write_text(ujson.dumps({
        "name": "Joe Biden", "qid": "Q6279", "wikipedia": "https://en.wikipedia.org/wiki/Joe_Biden",
        "files": {"biden.jpg": {"source": "https://commons.wikimedia.org/wiki/File:Biden.jpg",
                                "author": "Someone", "license": "CC BY 2.0"}},
    }))
    (photos / "Nobody" / "wall.jpg").write_bytes(jpeg(Image.new("RGB", (400, 300), "beige")))
    (photos / "Nobody" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (photos / "Nobody" / "notes.txt").write_text("ignored: not an image extension")
    pair = side_by_side(Image.open(images / "obama.jpg"), Image.open(images / "biden.jpg").resize((500, 1137)))
    (photos / "Group" / "two.jpg").write_bytes(jpeg(pair))
    cfg = write_config(root / "config.yaml", paths={"photos": photos, "assets": root / "assets"},
                       pool={"workers": 2})
    return root, cfg


@pytest.fixture(scope="module")
def built(gallery_dir):
    root, cfg = gallery_dir
    first = run_script("build_embeddings.py", "--config", cfg)
    assert first.returncode == 0, first.stderr
    index = run_script("build_index.py", "--config", cfg)
    assert index.returncode == 0, index.stderr
    return root, cfg, first.stdout, index.stdout


def test_build_embeddings_keeps_clear_single_faces_and_reports_skips(built):
    root, _, out, _ = built
    assert "4 people, 9 photos (8 distinct), 0 already embedded, 8 to embed" in out
    assert "kept 4 photos of 2 people" in out
    for count, reason in [(1, "same file twice"), (1, "near-duplicate"), (1, "no face found"),
                          (1, "not a readable image"), (1, "more than one face")]:
        assert f"skipped {count:5d}  {reason}" in out
    assert "2 people had no usable photo" in out

    gallery = Gallery.load(root / "assets")
    assert [p["name"] for p in gallery.people] == ["Barack Obama", "Joe Biden"]
    assert gallery.vectors.shape == (4, 128) and gallery.vectors.dtype == np.float32
    assert gallery.person_ids.tolist() == [0, 0, 0, 1]
    biden = gallery.faces[3]
    assert biden["file"] == "Joe Biden/biden.jpg" and biden["license"] == "CC BY 2.0"
    assert gallery.people[1]["qid"] == "Q6279"
    for face in range(4):
        thumb = Image.open(gallery.thumbnail(face))
        assert thumb.format == "JPEG" and max(thumb.size) <= 512


def test_rerun_embeds_only_new_photos(built, images):
    root, cfg, _, _ = built
    again = run_script("build_embeddings.py", "--config", cfg)
    assert again.returncode == 0 and "0 to embed" in again.stdout
    (root / "photos" / "Joe Biden" / "another.jpg").write_bytes(
        jpeg(Image.open(images / "biden.jpg").resize((485, 1102))))
    more = run_script("build_embeddings.py", "--config", cfg, "--workers", "1")
    assert more.returncode == 0 and "1 to embed" in more.stdout


def test_a_photo_that_failed_for_a_passing_reason_is_embedded_again(built):
    """A worker that died or timed out on a busy machine says nothing about the photo: retry it."""
    import sqlite3
    root, cfg, _, _ = built
    db = sqlite3.connect(root / "assets" / "embed_cache.sqlite3")
    with db:
        (h,) = db.execute("SELECT hash FROM entries WHERE outcome = 'ok' LIMIT 1").fetchone()
        db.execute("UPDATE entries SET outcome = 'worker_died', faces = 0, vector = NULL WHERE hash = ?", (h,))
        db.execute("UPDATE entries SET outcome = 'no_face' WHERE outcome = 'no_face'")  # final: never retried
    db.close()
    again = run_script("build_embeddings.py", "--config", cfg)
    assert again.returncode == 0 and "1 to embed" in again.stdout, again.stdout
    db = sqlite3.connect(root / "assets" / "embed_cache.sqlite3")
    assert db.execute("SELECT outcome FROM entries WHERE hash = ?", (h,)).fetchone() == ("ok",)
    db.close()
    assert "0 to embed" in run_script("build_embeddings.py", "--config", cfg).stdout


def test_build_index_reports_calibration_and_recall(built):
    root, _, _, out = built
    meta = ujson.loads((root / "assets" / "index.json").read_text())
    assert meta["faces"] == 4 and meta["people"] == 2
    assert meta["parameters"]["M"] == 16 and meta["models"]["descriptor"].endswith(".dat")
    assert meta["calibration"]["source"] == "prior"  # 2 people: too few to fit
    assert meta["recall_at_1"] == 1.0
    assert "recall self-check" in out and "calibration" in out


def test_match_json_names_obama_first(built, images):
    _, cfg, _, _ = built
    done = run_script("match.py", images / "obama2.jpg", images / "biden.jpg", "--json", "--top", "2",
                      "--config", cfg)
    assert done.returncode == 0, done.stderr
    report = ujson.loads(done.stdout)
    obama = report[0]
    assert obama["error"] is None and len(obama["faces"]) == 1
    first, second = obama["faces"][0]["matches"]
    assert first["name"] == "Barack Obama" and first["similarity"] > second["similarity"]
    assert 0 < first["distance"] < 0.6 and second["name"] == "Joe Biden"
    assert report[1]["faces"][0]["matches"][0]["name"] == "Joe Biden"
    assert len(obama["faces"][0]["box"]) == 4


def test_match_reports_bad_photos_without_failing(built, tmp_path):
    _, cfg, _, _ = built
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"nope")
    done = run_script("match.py", junk, "--json", "--config", cfg)
    assert done.returncode == 0
    assert ujson.loads(done.stdout) == [{"photo": str(junk), "error": "not_an_image", "faces": []}]
    text = run_script("match.py", junk, "--config", cfg)
    assert "not a readable image" in text.stdout


def test_missing_photo_folder_is_a_clear_error(tmp_path):
    cfg = write_config(tmp_path / "c.yaml", paths={"photos": tmp_path / "none", "assets": tmp_path / "a"})
    done = run_script("build_embeddings.py", "--config", cfg)
    assert done.returncode == 2 and "photo folder not found" in done.stderr
    done = run_script("build_index.py", "--config", cfg)
    assert done.returncode == 2 and "run build_embeddings.py first" in done.stderr
