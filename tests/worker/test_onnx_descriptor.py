"""The onnx backend against dlib's own network: same vectors, same matches; the converter refuses what it does not know."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from PIL import Image

from gallery.store import Gallery
from search.index import FaceIndex
from settings import load_config
from testkit.scripts import run_script, write_config
from testkit.images import jpeg, side_by_side
from worker import resnet_onnx
from worker.dlib_dat import DatFormatError, parse_network
from worker.models import DESCRIPTOR, model_path
from worker.onnx_descriptor import OnnxDescriptor, compare_with_dlib, face_chips

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def dat() -> bytes:
    return model_path(DESCRIPTOR).read_bytes()


@pytest.fixture(scope="module")
def model() -> bytes:
    return resnet_onnx.model_bytes()


def test_every_test_face_gets_dlibs_descriptor(engine, dlib_engine, images):
    """Whole pipeline, both backends: same faces, same boxes, vectors within 1e-5."""
    assert engine.onnx is not None and dlib_engine.onnx is None
    worst, faces = 0.0, 0
    for path in sorted(images.iterdir()):
        data = path.read_bytes()
        ours, reference = engine.embed(data), dlib_engine.embed(data)
        assert ours.outcome is reference.outcome, path.name
        assert [f.box for f in ours.faces] == [f.box for f in reference.faces], path.name
        for a, b in zip(ours.faces, reference.faces):
            assert a.vector.dtype == np.float32 and a.vector.shape == (128,)
            worst = max(worst, float(np.abs(a.vector - b.vector).max()))
            faces += 1
    assert faces >= 7 and worst <= TOLERANCE


def test_several_faces_of_one_photo_go_in_one_batch_with_the_same_result(engine, dlib_engine, images):
    group = jpeg(side_by_side(*(Image.open(images / n) for n in ("obama.jpg", "biden.jpg", "obama2.jpg"))))
    ours, reference = engine.embed(group), dlib_engine.embed(group)
    assert len(ours.faces) == len(reference.faces) == 3
    for a, b in zip(ours.faces, reference.faces):
        assert np.abs(a.vector - b.vector).max() <= TOLERANCE
    # The batch of three gives what three batches of one give.
    import dlib
    pixels = np.asarray(Image.open(images / "obama.jpg").convert("RGB"))
    shapes = dlib.full_object_detections()
    for rect in engine.detector(pixels, 0):
        shapes.append(engine.landmarks(pixels, rect))
    chips = np.concatenate([face_chips(dlib, pixels, shapes)] * 3)
    batched = engine.onnx(chips)
    single = np.concatenate([engine.onnx(chips[i:i + 1]) for i in range(3)])
    assert batched.shape == (3, 128) and np.abs(batched - single).max() <= 1e-6


def test_distances_between_faces_are_unchanged(engine, dlib_engine, photo):
    names = ["obama.jpg", "obama2.jpg", "obama3.jpg", "obama_partial_face.jpg", "biden.jpg"]
    ours = {n: engine.embed(photo(n)).faces[0].vector for n in names}
    reference = {n: dlib_engine.embed(photo(n)).faces[0].vector for n in names}
    for a, b in itertools.combinations(names, 2):
        d_ours = np.linalg.norm(ours[a] - ours[b])
        d_ref = np.linalg.norm(reference[a] - reference[b])
        assert abs(d_ours - d_ref) <= TOLERANCE, (a, b)
        assert (d_ours < 0.6) == ("biden" not in a + b), (a, b)


@pytest.fixture(scope="module")
def dlib_gallery(tmp_path_factory, demo_config):
    """The demo gallery built again, by the real scripts, with the dlib backend."""
    root = tmp_path_factory.mktemp("dlib_gallery")
    onnx_config = load_config(demo_config)
    cfg = write_config(root / "config.yaml", paths={"photos": onnx_config.paths.photos, "assets": root / "assets"},
                       pool={"workers": 2}, engine={"descriptor": "dlib"})
    for script in ("build_embeddings.py", "build_index.py"):
        done = run_script(script, "--config", cfg)
        assert done.returncode == 0, done.stderr
    return cfg


def test_a_gallery_built_with_one_backend_serves_with_the_other(demo_config, dlib_gallery, engine, dlib_engine, photo):
    onnx_index, dlib_index = FaceIndex.load(load_config(demo_config)), FaceIndex.load(load_config(dlib_gallery))
    files = [f["file"] for f in onnx_index.gallery.faces]
    assert files == [f["file"] for f in dlib_index.gallery.faces] and len(files) == 3
    onnx_vectors, dlib_vectors = (Gallery.load(i.gallery.assets).vectors for i in (onnx_index, dlib_index))
    assert np.abs(onnx_vectors - dlib_vectors).max() <= TOLERANCE  # the bot's index does not load them
    probe = {"onnx": engine.embed(photo("obama2.jpg")).faces[0].vector,
             "dlib": dlib_engine.embed(photo("obama2.jpg")).faces[0].vector}
    answers = {(backend, built): index.search(vector)[0]
               for backend, vector in probe.items()
               for built, index in (("onnx", onnx_index), ("dlib", dlib_index))}
    reference = answers[("dlib", "dlib")]
    assert reference[0].name == "Barack Obama"
    for matches in answers.values():
        assert [m.name for m in matches] == [m.name for m in reference]
        assert [m.face for m in matches] == [m.face for m in reference]
        assert np.allclose([m.distance for m in matches], [m.distance for m in reference], atol=TOLERANCE)


def test_jitter_runs_on_dlib(config, photo):
    """gallery.jitters > 1: dlib's own random jitter, since the ONNX path would give other vectors."""
    from worker.engine import FaceEngine
    engine = FaceEngine(config.engine)  # a fresh one: the dlib model must not be loaded yet
    plain = engine.embed(photo("obama.jpg"), jitters=1).faces[0].vector
    assert engine._dlib_descriptor is None
    jittered = engine.embed(photo("obama.jpg"), jitters=3).faces[0].vector
    assert engine._dlib_descriptor is not None
    assert jittered.shape == (128,) and 0 < np.linalg.norm(jittered - plain) < 0.3  # same person: < 0.6


def test_converter_checks_itself_against_dlib(tmp_path, capsys):
    """What `make install` runs: convert, verify the SHA-256, compare with dlib on the test photos."""
    out = tmp_path / "m" / "resnet.onnx"
    assert resnet_onnx.main(["--out", str(out)]) == 0
    assert resnet_onnx.sha256(out.read_bytes()) == resnet_onnx.ONNX_SHA256
    printed = capsys.readouterr().out
    assert "verified" in printed and "max abs difference" in printed


def test_compare_with_dlib_measures_the_difference(model, images):
    photos = [np.asarray(Image.open(images / n).convert("RGB")) for n in ("obama.jpg", "biden.jpg")]
    worst, faces = compare_with_dlib(model, photos)
    assert faces == 2 and 0 < worst <= TOLERANCE  # float32 rounding differs, never by more


def test_model_file_is_rebuilt_when_damaged_and_served_from_memory_when_unwritable(tmp_path, model):
    path = tmp_path / "models" / "resnet.onnx"
    assert resnet_onnx.model_bytes(path) == model and path.read_bytes() == model
    damaged = bytearray(model)
    damaged[len(damaged) // 2] ^= 0xFF
    path.write_bytes(bytes(damaged))
    assert resnet_onnx.model_bytes(path) == model and path.read_bytes() == model
    not_a_folder = tmp_path / "file"
    not_a_folder.write_bytes(b"")
    assert resnet_onnx.model_bytes(not_a_folder / "resnet.onnx") == model  # converted in memory


def test_weights_parse_to_dlibs_architecture(dat):
    net = parse_network(dat)
    assert net.input.size == (150, 150)
    assert net.input.mean == pytest.approx((122.782, 117.001, 104.298), abs=1e-4)
    convs = [layer for layer in net.layers if type(layer).__name__ == "Conv"]
    assert len(convs) == 29 and convs[0].weights.shape == (32, 3, 7, 7) and convs[0].padding == (0, 0)
    assert net.layers[-1].weights.shape == (256, 128) and net.layers[-1].bias is None
    assert net.versions == resnet_onnx.expected_versions()


def refused(data: bytes) -> str:
    with pytest.raises(DatFormatError) as info:
        resnet_onnx.verified(resnet_onnx.convert(data), data)
    return str(info.value)


def test_a_truncated_file_is_refused(dat):
    assert "truncated" in refused(dat[: len(dat) // 2])
    assert "truncated" in refused(dat[:-1])
    assert "truncated" in refused(dat[:200])


def test_bytes_left_over_are_refused(dat):
    assert "left over" in refused(dat + b"\x00")


def test_an_unknown_layer_version_is_refused(dat):
    first = dat.index(b"con_4")
    assert "unknown layer 'con_5'" in refused(dat[:first] + b"con_5" + dat[first + 5:])
    loss = dat.index(b"loss_metric_2")
    assert "loss_metric_2" in refused(dat[:loss] + b"loss_metric_3" + dat[loss + 13:])


def test_a_changed_structure_is_refused(dat):
    net = parse_network(dat)
    del net.layers[6]  # the relu after the first unit's first convolution
    with pytest.raises(DatFormatError, match="expected Relu"):
        resnet_onnx.build_model(net)
    stride = dat.index(bytes.fromhex("0120010701070102010201000100"))  # the stem: 32 7x7 filters, stride 2, no pad
    altered = bytearray(dat)
    altered[stride + 9] = 1  # stride 1
    assert "stride" in refused(bytes(altered))


def test_altered_weights_fail_the_checksum(dat):
    altered = bytearray(dat)
    altered[len(altered) // 2] ^= 0x01  # inside a convolution's float32 weights
    assert "sha256" in refused(bytes(altered)) and "not the expected one" in refused(bytes(altered))


def test_the_backend_setting_is_checked(tmp_path):
    assert load_config().engine.descriptor == "onnx"
    with pytest.raises(ValueError, match="engine.descriptor"):
        load_config(write_config(tmp_path / "c.yaml", engine={"descriptor": "tensorflow"}))


def test_chips_of_the_wrong_shape_are_refused(model):
    with pytest.raises(ValueError, match="uint8 chips"):
        OnnxDescriptor(model)(np.zeros((1, 150, 150, 3), dtype=np.float32))
