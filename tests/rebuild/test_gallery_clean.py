"""Gallery cleaning (rebuild/clean.py): real faces through the real models, and build_embeddings end to end.

Joe Biden has one photo among the test images; his second is its mirror image (a real, different
photo to the model: 0.19 from the original, above gallery.near_duplicate), his resized copy is a
near-identical vector (0.07) as a re-encoded upload would be.
"""
from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image, ImageOps

from gallery.store import Gallery
from rebuild import clean as gc
from search.exact import nearest_other_faces
from settings import GalleryConfig
from testkit.scripts import run_script, write_config
from testkit.images import jpeg

OBAMA = ["obama.jpg", "obama2.jpg", "obama3.jpg", "obama_partial_face.jpg", "obama_partial_face2.jpg"]
CONFIG = GalleryConfig()


def variants(images) -> dict[str, bytes]:
    """Every photo the tests file, as bytes: the real test images plus two real variants of Biden's."""
    out = {name: (images / name).read_bytes() for name in OBAMA + ["biden.jpg"]}
    biden = Image.open(images / "biden.jpg")
    out["biden_mirror.jpg"] = jpeg(ImageOps.mirror(biden))
    out["biden_small.jpg"] = jpeg(biden.resize((biden.width // 2, biden.height // 2)))
    return out


@pytest.fixture(scope="module")
def faces(images, engine) -> dict[str, np.ndarray]:
    """Name -> the model's descriptor of that real photo."""
    out = {}
    for name, data in variants(images).items():
        result = engine.embed(data)
        assert len(result.faces) == 1, name
        out[name] = result.faces[0].vector
    return out


def gallery_of(faces: dict[str, np.ndarray], people: dict[str, list[str]]):
    """(vectors, person ids, hashes, [(person, photo)]) of a gallery filed as ``people`` says."""
    rows = [(person, name) for person, names in people.items() for name in names]
    ids = {person: i for i, person in enumerate(people)}
    vectors = np.array([faces[name] for _, name in rows])
    return vectors, np.array([ids[p] for p, _ in rows]), [name for _, name in rows], rows


def run(faces, people: dict[str, list[str]], config: GalleryConfig = CONFIG):
    vectors, person_ids, hashes, rows = gallery_of(faces, people)
    keep, flags = gc.clean(vectors, person_ids, hashes, config)
    dropped = {rows[f.face]: f.reason for f in flags if f.action == gc.DROPPED}
    flagged = {rows[f.face]: f for f in flags if f.action == gc.FLAGGED}
    assert {rows[i] for i in np.flatnonzero(~keep)} == set(dropped)
    return dropped, flagged, flags, rows


def test_a_correct_gallery_loses_nothing(faces):
    dropped, flagged, _, _ = run(faces, {"Barack Obama": OBAMA, "Joe Biden": ["biden.jpg", "biden_mirror.jpg"]})
    assert dropped == {} and flagged == {}


def test_a_biden_photo_filed_under_obama_is_dropped(faces):
    people = {"Barack Obama": ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden_mirror.jpg"], "Joe Biden": ["biden.jpg"]}
    dropped, _, flags, rows = run(faces, people)
    assert dropped == {("Barack Obama", "biden_mirror.jpg"): "mislabelled"}
    flag = next(f for f in flags if rows[f.face] == ("Barack Obama", "biden_mirror.jpg"))
    assert flag.own > 0.8 and flag.other_person == 1 and flag.other < 0.3  # nearest other person: Joe Biden


def test_a_photo_of_someone_not_in_the_gallery_is_dropped(faces):
    dropped, _, flags, _ = run(faces, {"Barack Obama": ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"]})
    assert dropped == {("Barack Obama", "biden.jpg"): "stranger"}
    assert flags[0].other_person == -1 and "nearest own photo 0.8" in flags[0].detail


def test_people_with_two_photos_are_not_judged(faces):
    dropped, _, _, _ = run(faces, {"Barack Obama": ["obama.jpg", "biden.jpg"], "Joe Biden": ["biden_mirror.jpg"]})
    assert dropped == {}


def test_the_same_file_under_two_people_stays_where_it_matches(faces):
    people = {"Barack Obama": ["obama.jpg", "obama2.jpg", "biden.jpg"], "Joe Biden": ["biden.jpg", "biden_mirror.jpg"]}
    dropped, flagged, flags, rows = run(faces, people)
    assert dropped == {("Barack Obama", "biden.jpg"): "duplicate"}
    assert flagged[("Joe Biden", "biden.jpg")].reason == "duplicate_kept"
    copy = next(f for f in flags if rows[f.face] == ("Barack Obama", "biden.jpg"))
    assert copy.other_person == 1 and copy.other < 0.25 < 0.8 < copy.own


def test_a_near_identical_copy_under_another_person_counts_as_the_same_photo(faces):
    people = {"Barack Obama": ["obama.jpg", "obama2.jpg", "biden_small.jpg"], "Joe Biden": ["biden.jpg", "biden_mirror.jpg"]}
    dropped, flagged, _, _ = run(faces, people)
    assert dropped == {("Barack Obama", "biden_small.jpg"): "duplicate"}
    assert flagged[("Joe Biden", "biden.jpg")].reason == "duplicate_kept"


def test_a_copy_that_matches_both_people_goes_from_both(faces):
    """One person filed twice: the shared photo matches both folders equally well."""
    people = {"Barack Obama": ["obama.jpg", "obama2.jpg", "obama3.jpg"],
              "Barack H. Obama": ["obama2.jpg", "obama_partial_face.jpg", "obama_partial_face2.jpg"]}
    dropped, _, _, _ = run(faces, people)
    assert dropped == {("Barack Obama", "obama2.jpg"): "duplicate_unclear",
                       ("Barack H. Obama", "obama2.jpg"): "duplicate_unclear"}


def test_a_copy_under_two_people_with_no_other_photos_goes_from_both(faces):
    dropped, _, _, _ = run(faces, {"Joe Biden": ["biden.jpg"], "Joseph Biden": ["biden.jpg"]})
    assert set(dropped.values()) == {"duplicate_unclear"} and len(dropped) == 2


def test_a_person_who_is_two_people_is_flagged_not_dropped(faces):
    people = {"Namesake": ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "biden_mirror.jpg"]}
    dropped, flagged, _, _ = run(faces, people)
    assert dropped == {}
    assert {k[1]: f.detail for k, f in flagged.items()} == {
        "obama.jpg": "group 1 of 2 (3 photos)", "obama2.jpg": "group 1 of 2 (3 photos)",
        "obama3.jpg": "group 1 of 2 (3 photos)", "biden.jpg": "group 2 of 2 (2 photos)",
        "biden_mirror.jpg": "group 2 of 2 (2 photos)"}
    assert all(f.reason == "split" for f in flagged.values())


def test_a_group_that_is_someone_else_in_the_gallery_goes(faces):
    """Three Obama photos filed with two of Biden's, while Barack Obama has a folder of his own."""
    people = {"Namesake": ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "biden_mirror.jpg"],
              "Barack Obama": ["obama_partial_face.jpg", "obama_partial_face2.jpg"]}
    dropped, flagged, _, _ = run(faces, people)
    assert dropped == {("Namesake", name): "mislabelled" for name in ("obama.jpg", "obama2.jpg", "obama3.jpg")}
    assert flagged == {}


def test_cleaning_thresholds_come_from_the_config(faces):
    """With the margin raised past any real distance, the planted Biden photo stays."""
    people = {"Barack Obama": ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden_mirror.jpg"], "Joe Biden": ["biden.jpg"]}
    loose = GalleryConfig(mislabel_margin=1.0, stranger_distance=1.0)
    dropped, _, _, _ = run(faces, people, loose)
    assert dropped == {}


# --- the pure functions on small synthetic vectors ---------------------------------------------

def people_around(centres: np.ndarray, counts: list[int], spread: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Photos scattered around each centre, same-person distances about ``spread``."""
    vectors = [c + rng.normal(0, spread / np.sqrt(2 * centres.shape[1]), (n, centres.shape[1]))
               for c, n in zip(centres, counts)]
    return np.concatenate(vectors), np.repeat(np.arange(len(counts)), counts)


def test_a_close_stranger_does_not_outvote_close_own_photos():
    """dlib puts different East Asian people at 0.45-0.5: a photo whose own photos are as close stays."""
    rng = np.random.default_rng(1)
    centres = rng.normal(0, 1, (2, 128))
    centres[1] = centres[0] + (centres[1] - centres[0]) * 0.3 / np.linalg.norm(centres[1] - centres[0])
    vectors, person_ids = people_around(centres, [5, 5], 0.45, rng)
    nearest = gc.nearest_people(vectors, person_ids, gc.neighbours(vectors, person_ids)[0])
    assert np.median(nearest.median) < 0.55  # the other person is as close as one's own
    keep, flags = gc.clean(vectors, person_ids, [str(i) for i in range(len(vectors))], CONFIG)
    assert keep.all() and flags == []


def test_one_wrong_photo_among_three_does_not_take_a_right_one_with_it():
    """With three photos the wrong one is half of each right one's comparisons: it goes first, and
    the right ones are judged again without it (here one of them has a lookalike person nearby)."""
    rng = np.random.default_rng(2)
    axes = np.linalg.qr(rng.normal(size=(128, 2)))[0].T
    centres = np.array([np.zeros(128), 0.8 * axes[0], 0.3 * axes[1]])  # 1 is far from 0; 2 looks like 0
    vectors, person_ids = people_around(centres, [3, 4, 4], 0.45, rng)
    vectors[2] = centres[1] + rng.normal(0, 0.45 / 16, 128)           # a photo of 1 filed under 0
    naive = np.median(np.linalg.norm(vectors[[1, 2]] - vectors[0], axis=1))
    lookalike = np.median(np.linalg.norm(vectors[person_ids == 2] - vectors[0], axis=1))
    assert naive > CONFIG.same_person and naive > lookalike + CONFIG.mislabel_margin  # one pass would drop row 0
    keep, flags = gc.clean(vectors, person_ids, [str(i) for i in range(len(vectors))], CONFIG)
    assert [(f.face, f.reason) for f in flags] == [(2, "mislabelled")] and keep.sum() == len(vectors) - 1


def test_two_groups_in_one_person_neither_elsewhere_are_flagged_not_dropped():
    """Two photos of someone not in the gallery filed with two of the person's own: half of every
    photo's comparisons are with the other pair, so the person's medians cannot say which pair is
    wrong; both pairs stay and the person is flagged."""
    rng = np.random.default_rng(4)
    axes = np.linalg.qr(rng.normal(size=(128, 3)))[0].T
    centres = np.array([np.zeros(128), 0.8 * axes[0], 0.5 * axes[1], 0.8 * axes[0] + 0.5 * axes[2]])
    vectors, person_ids = people_around(centres, [2, 2, 3, 3], 0.4, rng)
    person_ids[person_ids == 1] = 0  # the absent person's pair, filed under person 0
    rows = np.flatnonzero(person_ids == 0)
    d = np.linalg.norm(vectors[rows][:, None] - vectors[rows][None], axis=-1)
    own = np.array([np.median(np.delete(r, i)) for i, r in enumerate(d)])
    nearest = gc.nearest_people(vectors, person_ids, gc.neighbours(vectors, person_ids)[0])
    assert np.all(own > np.maximum(CONFIG.same_person, nearest.median[rows] + CONFIG.mislabel_margin))  # medians alone would drop
    keep, flags = gc.clean(vectors, person_ids, [str(i) for i in range(len(vectors))], CONFIG)
    assert keep.all()
    assert [(f.face, f.reason, f.action) for f in flags] == [(int(r), "split", gc.FLAGGED) for r in rows]


def test_other_people_neighbours_are_the_brute_force_answer(monkeypatch):
    rng = np.random.default_rng(3)
    vectors = rng.normal(0, 0.1, (300, 128)).astype(np.float32)
    person_ids = rng.integers(0, 40, 300)
    d = np.linalg.norm(vectors[:, None].astype(np.float64) - vectors[None], axis=-1)
    d[person_ids[:, None] == person_ids[None, :]] = np.inf
    ids, dists = nearest_other_faces(vectors, person_ids, 5, budget=50_000)
    assert np.allclose(dists, np.sort(d, axis=1)[:, :5])
    assert np.all(person_ids[ids] != person_ids[:, None])
    monkeypatch.setattr(gc, "EXACT_LIMIT", 0)  # the HNSW path of large galleries, on the same data
    hnsw_ids, hnsw_dists = gc.other_neighbours(vectors, person_ids, 5)
    assert np.all(person_ids[hnsw_ids] != person_ids[:, None])
    same = hnsw_ids[:, 0] == ids[:, 0]
    assert same.mean() > 0.95 and np.allclose(hnsw_dists[same, 0], dists[same, 0], atol=1e-4)


def test_duplicate_groups_join_copies_across_several_people():
    vectors = np.array([[0.0, 0.0], [0.05, 0.0], [1.0, 1.0], [0.0, 0.06], [1.0, 1.0]])
    person_ids = np.array([0, 1, 1, 2, 1])
    ids, dists = gc.neighbours(vectors, person_ids)
    groups = gc.duplicate_groups(person_ids, ["a", "b", "c", "d", "c"], ids, dists, near=0.12)
    assert groups == [[0, 1, 3]]  # the same file twice in one person (rows 2, 4) is select.py's to drop


# --- build_embeddings.py end to end ---------------------------------------------------------------

@pytest.fixture(scope="module")
def planted(tmp_path_factory, images):
    root = tmp_path_factory.mktemp("clean")
    photos = root / "photos"
    data = variants(images)
    for person, names in {"Barack Obama": ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden_mirror.jpg"],
                          "Joe Biden": ["biden.jpg"]}.items():
        (photos / person).mkdir(parents=True)
        for name in names:
            (photos / person / name).write_bytes(data[name])
    cfg = write_config(root / "config.yaml", paths={"photos": photos, "assets": root / "assets"}, pool={"workers": 2})
    done = run_script("build_embeddings.py", "--config", cfg)
    assert done.returncode == 0, done.stderr
    return root, cfg, done.stdout


def test_build_drops_the_planted_photo_and_lists_it_for_review(planted):
    root, _, out = planted
    assert "cleaning: 1 photo dropped, 0 photos flagged for review" in out
    assert "dropped Barack Obama/biden_mirror.jpg: mislabelled?" in out and "; Joe Biden 0.1" in out
    assert "kept 4 photos of 2 people" in out
    assert "skipped     1  mislabelled? closer to another person's photos than to its own" in out
    with open(root / "assets" / "gallery_review.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1
    row = rows[0]
    assert (row["person"], row["file"], row["nearest_other_person"], row["action"]) == \
        ("Barack Obama", "Barack Obama/biden_mirror.jpg", "Joe Biden", "dropped")
    assert float(row["own_distance"]) > 0.8 and float(row["distance"]) < 0.3
    gallery = Gallery.load(root / "assets")
    files = [gallery.faces[i]["file"] for i in range(len(gallery))]
    assert "Barack Obama/biden_mirror.jpg" not in files and len(files) == 4


def test_a_rerun_embeds_nothing_and_cleaning_can_be_switched_off(planted, tmp_path):
    root, cfg, _ = planted
    again = run_script("build_embeddings.py", "--config", cfg)
    assert again.returncode == 0 and "0 to embed" in again.stdout and "1 photo dropped" in again.stdout
    off = write_config(tmp_path / "off.yaml", paths={"photos": root / "photos", "assets": root / "assets"},
                       pool={"workers": 2}, gallery={"clean": False})
    done = run_script("build_embeddings.py", "--config", off)
    assert done.returncode == 0 and "0 to embed" in done.stdout and "cleaning" not in done.stdout
    assert "kept 5 photos" in done.stdout and not (root / "assets" / "gallery_review.csv").exists()
    assert run_script("build_embeddings.py", "--config", cfg).returncode == 0


def test_the_cleaning_benchmark_runs_on_a_small_labelled_set(images, tmp_path, capsys):
    from bench import gallery_clean
    faces = tmp_path / "faces"
    data = variants(images)
    for person, names in {"Barack_Obama": ["obama.jpg", "obama2.jpg", "obama3.jpg", "obama_partial_face.jpg"],
                          "Joe_Biden": ["biden.jpg", "biden_mirror.jpg"]}.items():
        (faces / person).mkdir(parents=True)
        for name in names:
            (faces / person / name).write_bytes(data[name])
    assert gallery_clean.main(["--faces", str(faces), "--work", str(tmp_path / "work"), "--trials", "1",
                               "--plants", "1"]) == 0
    out = capsys.readouterr().out
    assert "clean set: 6 photos of 2 people kept" in out
    moved = next(line for line in out.splitlines() if line.startswith("| moved |"))
    assert moved.startswith("| moved | 1 | 1 (100%) | 1 mislabelled | 0 | 0 |")
    copied = next(line for line in out.splitlines() if line.startswith("| copied |"))
    assert copied.startswith("| copied | 1 | 1 (100%) | 1 duplicate | 0 | 0 |")
    assert gallery_clean.main(["--faces", str(tmp_path / "absent")]) == 0
    assert "gallery_clean: skipped" in capsys.readouterr().out
