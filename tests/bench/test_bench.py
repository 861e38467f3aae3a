"""The benchmarks' own logic, on tiny inputs, so the published figures stay reproducible."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from bench import index_scaling, quality


def test_synthetic_gallery_has_face_like_distances(engine, photo):
    seeds = np.array([engine.embed(photo(n)).faces[0].vector for n in ("obama.jpg", "biden.jpg")])
    rng = np.random.default_rng(0)
    for dim in (0, 16):
        base, probes = index_scaling.synthesize(seeds, 2000, 50, rng, dim)
        assert base.shape == (2000, 128) and probes.shape == (50, 128)
        stats = index_scaling.realism(base, rng)
        assert 0.3 < stats["same_person_median"] < 0.4 < 0.45 < stats["nearest_other_median"] < 0.9


def test_index_benchmark_runs_end_to_end(capsys, tmp_path):
    index_scaling.main(["--sizes", "2000", "--queries", "50", "--ef", "10,80", "--out", str(tmp_path / "i.json"),
                        "--test-photos-only"])
    out = capsys.readouterr().out
    assert "2,000 vectors" in out and "recall@1" in out
    rows = __import__("json").loads((tmp_path / "i.json").read_text())
    ef = {e["efSearch"]: e for e in rows[0]["ef"]}
    assert ef[80]["recall1"] >= ef[10]["recall1"] and ef[80]["recall10"] <= 1.0
    assert rows[0]["exact_ms_p50"] > 0


def test_quality_benchmark_on_a_small_labelled_set(images, tmp_path, capsys, monkeypatch):
    from PIL import ImageOps

    from testkit.images import jpeg
    faces = tmp_path / "faces"
    # The names' stable hashes put Obama and Biden in the gallery and "Obama_Partial" outside it.
    for person, files in {"Barack_Obama": ["obama.jpg", "obama2.jpg", "obama3.jpg"], "Joe_Biden": ["biden.jpg"],
                          "Obama_Partial": ["obama_partial_face.jpg", "obama_partial_face2.jpg"]}.items():
        (faces / person).mkdir(parents=True)
        for f in files:
            shutil.copy(images / f, faces / person / f)
    (faces / "Joe_Biden" / "mirrored.jpg").write_bytes(jpeg(ImageOps.mirror(__import__("PIL.Image").Image.open(images / "biden.jpg"))))
    monkeypatch.setattr(quality, "WORK", tmp_path / "work")
    assert quality.main(["--faces", str(faces), "--plot", str(tmp_path / "c.png")]) == 0
    out = capsys.readouterr().out
    assert "2 celebrities" in out and "1 outsiders (2 photos)" in out
    assert "2 held-back photos: rank-1 100.0%, rank-5 100.0%" in out
    assert "calibration on 2 outsider searches" in out and (tmp_path / "c.png").stat().st_size > 0
    again = quality.main(["--faces", str(faces), "--plot", str(tmp_path / "c.png")])  # from the caches
    assert again == 0 and "0 to embed" in capsys.readouterr().out
    assert quality.main(["--faces", str(tmp_path / "absent")]) == 0
    assert "skipped" in capsys.readouterr().out


def test_quality_split_is_stable_and_the_share_of_worse_searches_is_exact(tmp_path):
    faces = tmp_path / "faces"
    for name in ("Ada_Lovelace", "Alan_Turing", "Grace_Hopper", "Marie_Curie", "Emmy_Noether", "Rosalind_Franklin"):
        (faces / name).mkdir(parents=True)
        for i in range(3):
            (faces / name / f"{i}.jpg").write_bytes(b"x")
    first, second = quality.split(faces), quality.split(faces)
    assert first == second and first.gallery and first.outsiders  # the hash, not the run, decides
    for person, probe in first.held_back.items():
        assert probe not in first.gallery[person] and len(first.gallery[person]) == 2
    assert not set(first.gallery) & set(first.outsiders)
    best = np.array([0.3, 0.5, 0.5, 0.7])
    # farther ones, ties counted half, over the other searches
    np.testing.assert_allclose(quality.empirical_share(best), [3 / 3, 1.5 / 3, 1.5 / 3, 0.0])
    gaps = quality.gaps(np.array([0.9, 0.5, 0.5, 0.1]), quality.empirical_share(best))
    assert gaps["max"] == 10.0 and gaps["mean"] == 5.0
    moved, planted = quality.plant({"A": [Path("a1"), Path("a2"), Path("a3")], "B": [Path("b1")]}, 1)
    assert planted == [(Path("a3"), "A", "B")] and moved["B"] == [Path("b1"), Path("a3")]


def test_build_scaling_benchmark_measures_a_small_gallery(tmp_path, capsys):
    from bench import build_scaling
    build_scaling.main(["--sizes", "3000", "--photos", "0", "--seed-photos", "0", "--work", str(tmp_path),
                        "--out", str(tmp_path / "b.json")])
    row = __import__("json").loads((tmp_path / "b.json").read_text())["galleries"][0]
    assert row["faces"] == 3000 and row["people"] == 750 and row["index_bytes"] > 3000 * 128 * 4
    assert 0 < row["rss"] <= row["rss_during_reload"] and row["build_peak"] > row["vectors_bytes"]
    assert set(row["files"]) == {"gallery.sqlite3", "embeddings.npz"}
    assert any("recall self-check" in line for line in row["build_log"])
    assert "3,000 faces (750 people)" in capsys.readouterr().out


def test_pipeline_benchmark_runs_both_backends_on_the_same_photos(engine, dlib_engine, photo, capsys):
    from bench import pipeline
    photos = [(n, photo(n)) for n in ("obama.jpg", "biden.jpg")]
    pipeline.report({"dlib": dlib_engine, "onnx": engine}, photos, 1, 1280)
    out = capsys.readouterr().out
    assert "2 single-face runs per backend" in out
    header = next(line for line in out.splitlines() if line.strip().startswith("stage"))
    assert header.split()[1:] == ["dlib", "onnx"] and "onnx total / dlib total" in out


def test_decode_detect_benchmark_compares_strategies_with_todays_faces(engine, config, images, capsys):
    from PIL import Image

    from bench import decode_detect
    from testkit.images import jpeg, side_by_side
    group = jpeg(side_by_side(*(Image.open(images / n) for n in ("obama.jpg", "biden.jpg"))))
    decode_detect.run(engine, config.engine, "two photos", [("obama", (images / "obama.jpg").read_bytes()),
                                                            ("group", group)], 1)
    rows = {line[:20].strip(): line[20:].split() for line in capsys.readouterr().out.splitlines()[3:]}
    assert set(rows) == {s.name for s in decode_detect.STRATEGIES}
    faces, lost, extra, drift = rows["current"][3:]
    assert (faces, lost, extra, drift) == ("3", "0", "0", "0.000")  # the reference against itself
    assert rows["box reduce"][3:] == ["3", "0", "0", "0.000"]  # what the engine does now: same boxes
    assert decode_detect.draft_request((4000, 3000), 800) == (800, 600)
    assert decode_detect.iou((0, 0, 10, 10), (5, 0, 15, 10)) == 1 / 3


def test_groups_benchmark_scores_composites_of_one_face_tiles(engine, images, tmp_path, capsys):
    from PIL import Image

    from bench import groups
    faces = tmp_path / "faces"
    for name in ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"):
        im = Image.open(images / name).convert("RGB")
        box = engine.detect(im, {})[0][0]
        half = 1.25 * box.width()
        tile = im.crop((round(box.center().x - half), round(box.center().y - half),
                        round(box.center().x + half), round(box.center().y + half))).resize((150, 150))
        (faces / name[:-4]).mkdir(parents=True)
        tile.save(faces / name[:-4] / "1.jpg")
    engs = groups.engines()
    tiles = groups.tile_faces(faces, engs["old"])
    assert len(tiles) == 4
    strip = groups.Layout("strip", (1600, 267), ((50, 70, 60, 55),))
    table = groups.groups(engs, tiles, 1, (strip,))
    assert table["strip"]["new"]["found"] == 4 > table["strip"]["old"]["found"]
    assert table["strip"]["new"]["order"] == 0
    groups.print_groups(table, (strip,))
    assert "| strip | 4 | " in capsys.readouterr().out
    assert groups.score([(0, 0, 10, 10), (50, 50, 60, 60)], [(1, 1, 11, 11)]) == (1, 1)
    assert groups.main(["--faces", str(tmp_path / "absent"), "--repeats", "0"]) == 0
    assert "skipped" in capsys.readouterr().out
