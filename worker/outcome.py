"""Typed, picklable results of the face pipeline.

Every job ends in one ``EmbedResult``; callers branch on ``outcome`` instead of
catching exceptions that may not survive a trip between processes.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np


class Outcome(str, enum.Enum):
    OK = "ok"                      # at least one face
    NO_FACE = "no_face"            # a valid image without a usable face
    NOT_AN_IMAGE = "not_an_image"  # empty, corrupt, truncated or not a picture at all
    TOO_LARGE = "too_large"        # too many bytes or pixels (decompression bombs land here)
    TIMEOUT = "timeout"            # the job ran past the per-job time limit and was killed
    WORKER_DIED = "worker_died"    # the worker process crashed; only this job is lost
    INTERNAL = "internal"          # a bug: logged with the exception type, never the image


@dataclass(frozen=True)
class Face:
    box: tuple[int, int, int, int]  # left, top, right, bottom in original pixels
    vector: np.ndarray              # 128 float32, the dlib ResNet descriptor
    score: float                    # HOG detection score (higher is surer)
    width: int                      # box width in original pixels
    eye_distance: float             # px between eye centres, from the 5-point landmarks
    roll: float                     # degrees the eye line is tilted from horizontal
    upsampled: bool = False         # found only by the finer second pass (or the old upsample fallback)
    chip: bytes | None = None       # the aligned face for the card (raw RGB, worker.card), only when asked for


LOST_WITH_POOL = "lost with its pool"  # the detail of a job failed by its pool, not by its own worker


@dataclass
class EmbedResult:
    outcome: Outcome
    faces: list[Face] = field(default_factory=list)
    detail: str = ""                # short, safe text for logs (never image content)
    detected: int = 0               # faces detected, before the max_faces cut
    width: int = 0                  # decoded image size (after EXIF rotation)
    height: int = 0
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds
    thumbnail: bytes | None = None  # JPEG, only when the caller asked for one
    annotated: bytes | None = None  # JPEG with numbered boxes, several faces and asked for

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    @property
    def lost_with_pool(self) -> bool:
        """The job never ran to its end because its whole pool broke or was replaced: not the photo's doing."""
        return self.outcome is Outcome.WORKER_DIED and self.detail.startswith(LOST_WITH_POOL)
