"""Paths of the dlib model weights shipped by the face-recognition-models package.

Located without importing the package: its __init__ pulls in pkg_resources,
which newer environments lack, and we only need three file names.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

DETECTOR = "dlib HOG frontal_face_detector"
LANDMARKS = "shape_predictor_5_face_landmarks.dat"
DESCRIPTOR = "dlib_face_recognition_resnet_model_v1.dat"


def model_path(name: str) -> Path:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("face-recognition-models is not installed (run `make install`)")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / name
    if not path.is_file():
        raise RuntimeError(f"model file missing: {path}")
    return path
