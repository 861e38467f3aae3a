"""The descriptor stage of the ``onnx`` backend: dlib's face ResNet on ONNX Runtime.

dlib-bin keeps detection, landmarks and the aligned chip; only the network
moves. ``dlib.get_face_chips(image, shapes, 150, 0.25)`` gives exactly the chips
``compute_face_descriptor`` feeds the network, so both backends give the same
vectors (within 1e-5) and a gallery built with one serves the other.
"""
from __future__ import annotations

import numpy as np

CHIP_SIZE = 150
CHIP_PADDING = 0.25


def session_options():
    """One thread and no spinning: the pool already runs one process per core."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return options


class OnnxDescriptor:
    """An ONNX Runtime session of the converted ResNet; one per process (sessions cannot be pickled)."""

    def __init__(self, model: bytes) -> None:
        import onnxruntime as ort

        self.session = ort.InferenceSession(model, sess_options=session_options(),
                                            providers=["CPUExecutionProvider"])

    def __call__(self, chips: np.ndarray) -> np.ndarray:
        """(N, 150, 150, 3) uint8 RGB chips, all in one batch -> (N, 128) float32 descriptors."""
        if chips.ndim != 4 or chips.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3) or chips.dtype != np.uint8:
            raise ValueError(f"expected (N, {CHIP_SIZE}, {CHIP_SIZE}, 3) uint8 chips, got {chips.shape} {chips.dtype}")
        return self.session.run(["descriptors"], {"chips": np.ascontiguousarray(chips)})[0]


def face_chips(dlib, pixels: np.ndarray, shapes) -> np.ndarray:
    """The aligned chips of ``shapes`` (a dlib.full_object_detections) as one uint8 batch."""
    return np.stack(dlib.get_face_chips(pixels, shapes, size=CHIP_SIZE, padding=CHIP_PADDING))


def compare_with_dlib(model: bytes, photos: list[np.ndarray] | None = None) -> tuple[float, int]:
    """Largest absolute difference between ONNX and dlib over every face of ``photos``, and the face count.

    ``photos``: RGB arrays; by default the face_recognition test photos.
    """
    import dlib

    from worker.models import DESCRIPTOR, LANDMARKS, model_path

    if photos is None:
        from PIL import Image

        from gallery.demo import test_images
        photos = [np.asarray(Image.open(f).convert("RGB")) for f in sorted(test_images().glob("*.jpg"))]
    detector = dlib.get_frontal_face_detector()
    landmarks = dlib.shape_predictor(str(model_path(LANDMARKS)))
    reference = dlib.face_recognition_model_v1(str(model_path(DESCRIPTOR)))
    onnx = OnnxDescriptor(model)
    worst, faces = 0.0, 0
    for pixels in photos:
        shapes = dlib.full_object_detections()
        for rect in detector(pixels, 1):
            shapes.append(landmarks(pixels, rect))
        if not len(shapes):
            continue
        chips = face_chips(dlib, pixels, shapes)
        expected = np.array([reference.compute_face_descriptor(chip) for chip in chips])
        worst = max(worst, float(np.abs(onnx(chips) - expected).max()))
        faces += len(chips)
    if not faces:
        raise RuntimeError("no face found on the photos to compare")
    return worst, faces
