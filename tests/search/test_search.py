"""Similarity maths, calibration, exact search and the HNSW index."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from gallery.store import Gallery
from search import calibration
from search.exact import BYTES_PER_CELL, exact_knn, nearest_other_person, tile_shape
from search.index import HNSW_BYTES_PER_NEIGHBOUR, FaceIndex, fold_by_person, knn, load_hnsw, new_hnsw
from search.similarity import percent, similarity, transform
from settings import IndexConfig, load_config


def test_similarity_is_half_at_the_mean_and_falls_monotonically():
    assert similarity(0.6, 0.6, 0.05) == pytest.approx(0.5)
    d = np.linspace(0.0, 1.5, 301)
    s = similarity(d, 0.6, 0.05)
    assert np.all(np.diff(s) <= 0) and s[0] == pytest.approx(1.0) and s[-1] < 1e-6
    assert similarity(0.65, 0.6, 0.05) == pytest.approx(0.158655, abs=1e-5)  # one std: 1 - Phi(1)
    assert similarity(2.0, 0.6, 0.05, floor=0.01) == 0.01
    with pytest.raises(ValueError):
        similarity(0.5, 0.6, 0.0)


def test_percent_never_claims_a_perfect_match_unless_identical():
    assert percent(0.999) == 99 and percent(1.0) == 100 and percent(0.456) == 46 and percent(0.0) == 0


def test_calibration_fits_a_normal_and_flags_a_bad_fit():
    rng = np.random.default_rng(1)
    good = calibration.fit(rng.normal(0.7, 0.05, 5000), "normal")
    assert good.mean == pytest.approx(0.7, abs=0.005) and good.std == pytest.approx(0.05, abs=0.005)
    assert good.ks_statistic < 0.03 and sum(good.histogram["counts"]) == 5000
    bimodal = calibration.fit(np.concatenate([rng.normal(0.4, 0.02, 2500), rng.normal(0.9, 0.02, 2500)]), "normal")
    assert bimodal.ks_statistic > 0.1
    assert calibration.Calibration.from_json(good.to_json()) == good
    with pytest.raises(ValueError):
        calibration.fit(np.array([0.5]))


def skewed_minima(rng, n: int) -> np.ndarray:
    """Nearest-stranger-like distances: the minimum over 300 people, as the gallery's are."""
    return rng.normal(0.75, 0.08, (n, 300)).min(axis=1)


def test_boxcox_calibration_removes_the_skew_of_minima_where_a_plain_normal_cannot():
    rng = np.random.default_rng(3)
    fit_on, check_on = skewed_minima(rng, 3000), skewed_minima(rng, 3000)  # fitted on one sample, checked on another
    empirical = np.array([np.mean(check_on > d) for d in check_on])
    gaps = {}
    for method in calibration.METHODS:
        cal = calibration.fit(fit_on, method)
        reported = similarity(check_on, cal.mean, cal.std, lam=cal.lam)
        gaps[method] = float(np.max(np.abs(reported - empirical)))
    assert gaps["normal"] > 0.03          # the plain normal misfits the left-skewed minima ...
    assert gaps["boxcox"] < 0.03          # ... the transformed one does not
    assert gaps["boxcox"] < gaps["normal"] / 2
    cal = calibration.fit(fit_on, "boxcox")
    assert cal.method == "boxcox" and cal.lam > 1  # left skew: an exponent above 1 stretches the right tail
    assert calibration.Calibration.from_json(cal.to_json()) == cal


def test_boxcox_transform_is_monotone_and_reduces_to_log_and_identity():
    d = np.linspace(0.05, 1.5, 200)
    for lam in (-1.0, 0.0, 0.5, 3.0):
        assert np.all(np.diff(transform(d, lam)) > 0)
    np.testing.assert_allclose(transform(d, 0.0), np.log(d))
    np.testing.assert_allclose(transform(d, None), d)
    np.testing.assert_allclose(transform(d, 1.0), d - 1.0)
    # a normal fitted to boxcox(d) is a similarity that still falls with the distance, 50% at the median
    cal = calibration.fit(skewed_minima(np.random.default_rng(4), 2000), "boxcox")
    s = similarity(d, cal.mean, cal.std, lam=cal.lam)
    assert np.all(np.diff(s) <= 0)
    median = float(np.exp(np.log(cal.lam * cal.mean + 1) / cal.lam))  # inverse Box-Cox of the mean
    assert similarity(median, cal.mean, cal.std, lam=cal.lam) == pytest.approx(0.5, abs=1e-9)


def test_an_index_json_from_before_the_method_field_reads_as_a_plain_normal():
    old = {"mean": 0.6, "std": 0.05, "n": 10, "ks_statistic": 0.1, "ks_pvalue": 0.5, "histogram": {}, "source": "gallery"}
    cal = calibration.Calibration.from_json(old)
    assert cal.method == "normal" and cal.lam is None
    assert similarity(0.65, cal.mean, cal.std) == pytest.approx(0.158655, abs=1e-5)
    with pytest.raises(ValueError):
        calibration.fit(np.linspace(0.4, 0.8, 50), "gamma")


def test_pull_to_person_moves_each_face_toward_its_persons_mean_only():
    from search.pull import pull_to_person
    vectors = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0], [5.0, 5.0]], dtype=np.float32)
    people = np.array([0, 0, 0, 1])
    pulled = pull_to_person(vectors, people, 0.5)
    mean = vectors[:3].mean(axis=0)
    np.testing.assert_allclose(pulled[:3], 0.5 * vectors[:3] + 0.5 * mean, rtol=1e-6)
    np.testing.assert_allclose(pulled[3], vectors[3])            # one photo: its own mean
    np.testing.assert_allclose(pull_to_person(vectors, people, 0.0), vectors)
    np.testing.assert_allclose(pull_to_person(vectors, people, 1.0)[:3], np.repeat(mean[None], 3, axis=0), rtol=1e-6)
    with pytest.raises(ValueError):
        pull_to_person(vectors, people, 1.5)


def test_nearest_other_person_against_the_indexed_vectors(real_vectors):
    from search.pull import pull_to_person
    vectors, person_ids = gallery_like(real_vectors, 400)
    base = pull_to_person(vectors, person_ids, 0.7)
    d = np.linalg.norm(vectors[:, None, :].astype(np.float64) - base[None, :, :], axis=2)
    d[person_ids[:, None] == person_ids[None, :]] = np.inf
    np.testing.assert_allclose(nearest_other_person(vectors, person_ids, base=base), d.min(axis=1), rtol=1e-9)


def test_exact_search_matches_brute_force_and_returns_plain_l2():
    rng = np.random.default_rng(2)
    base, queries = rng.normal(size=(500, 128)), rng.normal(size=(20, 128))
    ids, dists = exact_knn(queries, base, 5)
    for q, row_ids, row_d in zip(queries, ids, dists):
        brute = np.linalg.norm(base - q, axis=1)
        assert list(row_ids) == list(np.argsort(brute)[:5])
        np.testing.assert_allclose(row_d, np.sort(brute)[:5], rtol=1e-9)


def plain_knn(queries: np.ndarray, base: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The plain computation: every distance in float64, a stable sort (ties: lower id)."""
    d = np.linalg.norm(base.astype(np.float64)[None] - queries.astype(np.float64)[:, None], axis=2)
    ids = np.argsort(d, axis=1, kind="stable")[:, :k]
    return ids, np.take_along_axis(d, ids, axis=1)


@pytest.mark.parametrize("budget", [2_000, 200_000, 2**28])  # one cell per tile .. the whole matrix at once
def test_exact_search_in_tiles_equals_the_plain_computation(real_vectors, budget):
    base, _ = gallery_like(real_vectors, 1203)  # not a multiple of any tile: partial tiles too
    rng = np.random.default_rng(7)
    queries = base[rng.choice(len(base), 37, replace=False)] + rng.normal(0, 0.02, (37, 128)).astype(np.float32)
    ids, dists = exact_knn(queries, base, 10, budget=budget)
    want_ids, want_d = plain_knn(queries, base, 10)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_allclose(dists, want_d, rtol=1e-12)  # float64 both: only the summation order differs
    assert tile_shape(37, 1203, budget)[0] * tile_shape(37, 1203, budget)[1] * BYTES_PER_CELL <= max(budget, BYTES_PER_CELL)


def test_exact_search_breaks_ties_by_the_lower_id():
    base = np.array([[1.0, 0], [0, 1.0], [-1.0, 0], [2.0, 0]], dtype=np.float32)
    ids, dists = exact_knn(np.zeros((1, 2), np.float32), base, 4, budget=40)
    assert ids.tolist() == [[0, 1, 2, 3]] and dists.tolist() == [[1.0, 1.0, 1.0, 2.0]]


def test_exact_search_memory_stays_within_its_budget():
    rng = np.random.default_rng(8)
    base = rng.normal(size=(60_000, 128)).astype(np.float32)
    queries = rng.normal(size=(500, 128)).astype(np.float32)
    budget = 8 * 2**20  # the plain matrix would be 500 x 60k x 8 bytes = 229 MB
    tracemalloc.start()
    try:
        exact_knn(queries, base, 5, budget=budget)
        nearest_other_person(base[:20_000], np.arange(20_000) // 4, budget=budget)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    inputs = base.nbytes // 128 * 4  # the gallery's norms: one float32 per row
    assert peak <= budget + inputs + 2 * 2**20  # + candidates and re-ranking, a few hundred KB here


def test_nearest_other_person_in_tiles_equals_the_plain_computation(real_vectors):
    vectors, person_ids = gallery_like(real_vectors, 803)
    d = np.linalg.norm(vectors.astype(np.float64)[None] - vectors.astype(np.float64)[:, None], axis=2)
    d[person_ids[:, None] == person_ids[None, :]] = np.inf
    for budget in (3_000, 2**28):
        np.testing.assert_allclose(nearest_other_person(vectors, person_ids, budget=budget), d.min(axis=1), rtol=1e-12)


def test_nearest_other_person_ignores_the_same_person():
    vectors = np.array([[0.0, 0], [0.1, 0], [1.0, 0], [3.0, 0]])
    people = np.array([0, 0, 1, 2])
    np.testing.assert_allclose(nearest_other_person(vectors, people), [1.0, 0.9, 0.9, 2.0])


def gallery_like(real: np.ndarray, n: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic faces drawn around real descriptors: each person is a real
    face plus noise of the size seen between photos of one person."""
    rng = np.random.default_rng(seed)
    people = n // 4
    centres = real[rng.integers(0, len(real), people)] + rng.normal(0, 0.06, (people, real.shape[1]))
    person_ids = np.repeat(np.arange(people), 4)
    vectors = centres[person_ids] + rng.normal(0, 0.03, (len(person_ids), real.shape[1]))
    return vectors.astype(np.float32), person_ids.astype(np.int32)


@pytest.fixture(scope="module")
def real_vectors(engine, photo) -> np.ndarray:
    names = ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "obama_partial_face.jpg"]
    return np.array([engine.embed(photo(n)).faces[0].vector for n in names])


def test_hnsw_top1_equals_exact_and_distances_are_plain_l2(real_vectors):
    vectors, _ = gallery_like(real_vectors, 4000)
    index = new_hnsw(vectors, IndexConfig(M=16, efConstruction=200, efSearch=100))
    rng = np.random.default_rng(4)
    queries = vectors[rng.choice(len(vectors), 300, replace=False)] + rng.normal(0, 0.02, (300, 128)).astype(np.float32)
    h_ids, h_d = knn(index, queries, 1)
    e_ids, e_d = exact_knn(queries, vectors, 1)
    assert np.mean(h_ids[:, 0] == e_ids[:, 0]) >= 0.99
    same = h_ids[:, 0] == e_ids[:, 0]
    np.testing.assert_allclose(h_d[same, 0], e_d[same, 0], rtol=1e-4)  # sqrt taken: not squared
    direct = np.linalg.norm(vectors[h_ids[:, 0]] - queries, axis=1)
    np.testing.assert_allclose(h_d[:, 0], direct, rtol=1e-4)


def test_reloaded_index_keeps_ef_search(tmp_path):
    # Random 128-d data and a weak graph: recall visibly depends on efSearch.
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(3000, 128)).astype(np.float32)
    queries = rng.normal(size=(200, 128)).astype(np.float32)
    exact = exact_knn(queries, vectors, 1)[0][:, 0]
    params = IndexConfig(M=4, efConstruction=16, efSearch=300)
    built = new_hnsw(vectors, params)
    built.saveIndex(str(tmp_path / "i.bin"), save_data=True)

    def recall(index) -> float:
        return float(np.mean(knn(index, queries, 1)[0][:, 0] == exact))

    loaded = load_hnsw(tmp_path / "i.bin", params.efSearch)
    low = load_hnsw(tmp_path / "i.bin", 1)
    assert recall(loaded) == recall(built) >= 0.8
    assert recall(low) < recall(loaded) - 0.2
    # The bot's way: without nmslib's data copy, the graph's own vectors answer the same.
    search_only = load_hnsw(tmp_path / "i.bin", params.efSearch, load_data=False)
    for got, want in zip(knn(search_only, queries, 10), knn(loaded, queries, 10)):
        np.testing.assert_array_equal(got, want)


def test_fold_by_person_returns_distinct_people():
    ids = np.array([5, 6, 7, 1, 2, -1])
    dists = np.array([0.1, 0.2, 0.3, 0.4, 0.5, np.inf])
    person = np.array([0, 1, 2, 2, 2, 9, 9, 9])
    assert fold_by_person(ids, dists, person, 3) == [(9, 5, 0.1), (1, 1, 0.4), (2, 2, 0.5)]
    assert fold_by_person(ids, dists, person, 1) == [(9, 5, 0.1)]


def test_search_folds_people_even_when_one_owns_all_neighbours(tmp_path, real_vectors, config):
    # Person 0 has 60 near-identical faces around the query; person 1 is far.
    rng = np.random.default_rng(6)
    crowd = real_vectors[0] + rng.normal(0, 0.01, (60, 128))
    vectors = np.vstack([crowd, real_vectors[3:4]]).astype(np.float32)
    person_ids = np.array([0] * 60 + [1], dtype=np.int32)
    faces = [{"file": f"f{i}.jpg", "hash": f"{i:064d}", "thumbnail": f"thumbs/{i}.jpg"} for i in range(61)]
    Gallery(vectors, person_ids, faces, [{"name": "Crowd"}, {"name": "Loner"}], tmp_path).save(tmp_path)
    cfg = config.replace(paths={"assets": tmp_path}, search={"top_k": 2, "fold_factor": 2})
    index = new_hnsw(vectors, cfg.index)
    index.saveIndex(str(tmp_path / "index.bin"), save_data=True)
    meta = {"faces": 61, "calibration": calibration.prior(0.7, 0.07).to_json()}
    (tmp_path / "index.json").write_text(__import__("ujson").dumps(meta))
    found = FaceIndex.load(cfg).search(real_vectors[0])[0]
    assert [m.name for m in found] == ["Crowd", "Loner"]
    assert found[1].distance == pytest.approx(float(np.linalg.norm(real_vectors[3] - real_vectors[0])), rel=1e-4)
    assert found[0].similarity > found[1].similarity


def test_demo_gallery_index_names_obama_for_an_unseen_obama(demo_config, engine, photo):
    index = FaceIndex.load(load_config(demo_config))
    assert index.meta["parameters"]["efSearch"] == index.ef_search
    matches = index.search(engine.embed(photo("obama2.jpg")).faces[0].vector)[0]
    assert matches[0].name == "Barack Obama" and matches[0].distance < 0.6
    assert matches[1].name == "Joe Biden" and matches[1].distance > 0.6
    assert index.gallery.thumbnail(matches[0].face).is_file()


def test_nearest_strangers_from_hnsw_in_blocks_equal_one_block_and_exact(real_vectors, monkeypatch):
    import rebuild.index
    vectors, person_ids = gallery_like(real_vectors, 3000)
    faces = [{"hash": f"{i:064x}"} for i in range(len(vectors))]
    gallery = Gallery(vectors, person_ids, faces, [{"name": str(p)} for p in range(person_ids.max() + 1)])
    index = new_hnsw(vectors, IndexConfig(M=16, efConstruction=200, efSearch=100))
    monkeypatch.setattr(rebuild.index, "EXACT_CALIBRATION_LIMIT", 0)  # the large-gallery path
    rows_per_block = 97
    blocked = rebuild.index.nearest_strangers(
        gallery, index, budget=rows_per_block * rebuild.index.STRANGER_K * HNSW_BYTES_PER_NEIGHBOUR)
    whole = rebuild.index.nearest_strangers(gallery, index, budget=2**30)
    np.testing.assert_array_equal(blocked, whole)
    exact = nearest_other_person(vectors, person_ids)
    assert np.mean(np.isclose(blocked, exact, rtol=1e-5)) >= 0.99
