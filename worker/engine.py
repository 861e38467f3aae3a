"""dlib face pipeline: detect on a small copy, describe at full resolution.

HOG cost grows with pixels (and 4x per upsample), while the landmark and
descriptor stages work on 150 px face chips whatever the photo size. So the
detector sees a copy whose longer side is at most ``detect_size`` and the
boxes are mapped back to the original for the two later stages. Faces too small for
that copy (a group photo) are looked for by a second, finer pass, planned by worker/detect.py
so that a selfie skips it.

The descriptor network runs on ONNX Runtime (``engine.descriptor: onnx``, 15
times faster than dlib-bin, which has no BLAS) or on dlib itself (``dlib``);
both give the same vectors. Jittered passes (jitters > 1) always use dlib,
whose random jitter the ONNX path does not reproduce.
"""
from __future__ import annotations

import functools
import io
import logging
import math
import time
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from settings import EngineConfig
from worker import card
from worker.annotate import draw_numbered_boxes
from worker.card import chip_bytes, chip_image
from worker.decode import ImageRejected, decode_image
from worker.detect import merge_passes, plan_second_pass, reading_order
from worker.models import DESCRIPTOR, LANDMARKS, model_path
from worker.onnx_descriptor import OnnxDescriptor, face_chips
from worker.outcome import EmbedResult, Face, Outcome

if TYPE_CHECKING:
    import dlib  # the asyncio front imports this module but never loads dlib

log = logging.getLogger(__name__)


class FaceEngine:
    """Holds the models; one per process (neither dlib's nor ONNX Runtime's can be pickled)."""

    def __init__(self, config: EngineConfig) -> None:
        import dlib  # imported here so the asyncio front never loads it

        self.config = config
        self._dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.landmarks = dlib.shape_predictor(str(model_path(LANDMARKS)))
        self._dlib_descriptor = None  # loaded on first use: the dlib backend, or jitters > 1
        self.onnx: OnnxDescriptor | None = None
        if config.descriptor == "onnx":
            from worker.resnet_onnx import model_bytes
            self.onnx = OnnxDescriptor(model_bytes())
        else:
            self.dlib_descriptor()

    def dlib_descriptor(self):
        if self._dlib_descriptor is None:
            self._dlib_descriptor = self._dlib.face_recognition_model_v1(str(model_path(DESCRIPTOR)))
        return self._dlib_descriptor

    def describe(self, pixels: np.ndarray, shapes, jitters: int) -> np.ndarray:
        """(faces, 128) float32 descriptors of the faces in ``shapes``, all in one batch."""
        if self.onnx is not None and jitters <= 1:  # dlib too treats 0 and 1 as one plain pass
            return self.onnx(face_chips(self._dlib, pixels, shapes))
        vectors = self.dlib_descriptor().compute_face_descriptor(pixels, shapes, jitters)
        return np.array(vectors, dtype=np.float32).reshape(len(shapes), -1)

    def embed(self, data: bytes, *, jitters: int | None = None,
              thumbnail_size: int | None = None, annotate: bool = False, chips: int = 0) -> EmbedResult:
        """Every face in ``data``, in reading order (rows top to bottom, then left to right); never
        raises, the outcome says what happened.

        ``annotate``: for a photo with several faces, also return it with numbered boxes.
        ``chips``: for a photo with at most this many faces, also return each aligned face
        (for the card), so the card needs neither the photo nor a second decode.
        """
        timings: dict[str, float] = {}
        start = time.perf_counter()
        try:
            image = decode_image(data, max_pixels=self.config.max_pixels, max_bytes=self.config.max_bytes)
        except ImageRejected as exc:
            return EmbedResult(exc.outcome, detail=exc.detail, timings={"decode": time.perf_counter() - start})
        timings["decode"] = time.perf_counter() - start
        try:
            faces, detected = self.faces_in(image, timings, self.config.jitters if jitters is None else jitters,
                                            chips)
            thumbnail = make_thumbnail(image, thumbnail_size) if thumbnail_size else None
            annotated = draw_numbered_boxes(image, [f.box for f in faces]) if annotate and len(faces) > 1 else None
        except MemoryError:
            return EmbedResult(Outcome.TOO_LARGE, detail="out of memory", timings=timings)
        except Exception as exc:  # a dlib bug must cost one photo, not the worker
            log.exception("face pipeline failed")
            return EmbedResult(Outcome.INTERNAL, detail=type(exc).__name__, timings=timings)
        outcome = Outcome.OK if faces else Outcome.NO_FACE
        return EmbedResult(outcome, faces=faces, detected=detected, width=image.width, height=image.height,
                           timings=timings, thumbnail=thumbnail, annotated=annotated)

    def faces_in(self, image: Image.Image, timings: dict[str, float], jitters: int,
                 chips: int = 0) -> tuple[list[Face], int]:
        dlib = self._dlib
        found = self.detect(image, timings)
        t0 = time.perf_counter()
        detected = len(found)
        found.sort(key=lambda item: item[0].area(), reverse=True)
        found = found[: self.config.max_faces]
        order = reading_order([corners(b) for b, _, _ in found])
        found = [found[i] for i in order]  # numbered (replies and boxes) in reading order
        pixels = np.asarray(image)
        shapes = dlib.full_object_detections()
        for box, _, _ in found:
            shapes.append(self.landmarks(pixels, box))
        timings["landmarks"] = time.perf_counter() - t0
        if not found:
            return [], 0

        t0 = time.perf_counter()
        vectors = self.describe(pixels, shapes, jitters)
        timings["descriptor"] = time.perf_counter() - t0

        faces = []
        with_chips = len(found) <= chips
        for (box, score, upsampled), shape, vector in zip(found, shapes, vectors):
            eye_distance, roll = eye_geometry(shape)
            chip = chip_bytes(self.chip(pixels, shape)) if with_chips else None
            faces.append(Face(
                box=(max(box.left(), 0), max(box.top(), 0),
                     min(box.right(), image.width - 1), min(box.bottom(), image.height - 1)),
                vector=vector,
                score=score, width=int(box.width()),
                eye_distance=eye_distance, roll=roll, upsampled=upsampled, chip=chip,
            ))
        return faces, detected

    def detect(self, image: Image.Image, timings: dict[str, float]) -> list[tuple[dlib.rectangle, float, bool]]:
        """(dlib rectangle in original pixels, score, found by pass 2 only) for every face.

        Pass 1: HOG on a grayscale copy of at most ``detect_size`` px. Pass 2 (worker/detect.py
        decides whether and at which scale): a finer copy for the faces pass 1 is too coarse to
        see; its boxes that overlap none of pass 1 are added (timings "second_pass"). With
        ``second_pass`` off, the old rule: one upsample of the same copy, only when pass 1 found
        nothing (timings "upsample").
        """
        t0 = time.perf_counter()
        # Grayscale for HOG: dlib otherwise takes gradients of all three channels
        # (about 25% of the detection time) for no better boxes on photos.
        gray = image.convert("L")  # kept whole for pass 2; thumbnail() works in place
        small = gray.copy() if max(gray.size) > self.config.detect_size else gray
        # reducing_gap 1: a photo over twice detect_size is first box-reduced by an integer factor,
        # 10% off decode + detect for such photos with the same boxes (bench/decode_detect.py).
        small.thumbnail((self.config.detect_size, self.config.detect_size), Image.Resampling.BILINEAR,
                        reducing_gap=1.0)
        small_pixels = np.asarray(small)
        first_scale = small.width / image.width
        rects, scores, _ = self.detector.run(small_pixels, 0, 0.0)
        boxes = [scaled(r, 1 / first_scale) for r in rects]
        found = [(b, float(s), False) for b, s in zip(boxes, scores)]
        timings["detect"] = time.perf_counter() - t0

        if not self.config.second_pass:
            if not rects:
                t0 = time.perf_counter()
                rects, scores, _ = self.detector.run(small_pixels, 1, 0.0)
                found = [(scaled(r, 1 / first_scale), float(s), True) for r, s in zip(rects, scores)]
                timings["upsample"] = time.perf_counter() - t0
        else:
            first = [corners(b) for b in boxes]
            plan = plan_second_pass(image.width, image.height, first_scale, first,
                                    small_face_px=self.config.small_face_px,
                                    max_pixels=self.config.second_pass_max_pixels,
                                    skip_share=self.config.second_pass_skip_share)
            if plan is not None:
                t0 = time.perf_counter()
                if plan.copy_scale == 1:
                    copy = gray  # for a photo within detect_size, pass 1's own copy: the old fallback
                else:
                    copy = gray.resize((max(1, round(image.width * plan.copy_scale)),
                                        max(1, round(image.height * plan.copy_scale))),
                                       Image.Resampling.BILINEAR, reducing_gap=1.0)
                rects2, scores2, _ = self.detector.run(np.asarray(copy), plan.upsample, 0.0)
                scale = image.width / copy.width
                second = [scaled(r, scale) for r in rects2]
                new = merge_passes(first, [corners(b) for b in second])
                found += [(second[i], float(scores2[i]), True) for i in new]
                timings["second_pass"] = time.perf_counter() - t0
        return [item for item in found if item[0].width() >= self.config.min_face_px]

    def chip(self, pixels: np.ndarray, shape) -> np.ndarray:
        """The face aligned upright by its landmarks, with room around it, for the card."""
        return self._dlib.get_face_chip(pixels, shape, size=card.PANEL, padding=card.CHIP_PADDING)

    def card(self, chip: bytes, celebrity: str, text: card.CardText) -> bytes | None:
        """The card from a chip this engine returned earlier and the celebrity's thumbnail file."""
        try:
            return card.render_card(chip_image(chip), self.celebrity_chip(celebrity), text)
        except Exception as exc:  # a missing thumbnail or a font problem costs the card, not the answer
            log.warning("card failed: %s", type(exc).__name__)
            return None

    @functools.lru_cache(maxsize=512)
    def celebrity_chip(self, path: str) -> Image.Image:
        """The celebrity's face aligned like the user's, so the two sit alike on the card.

        Cached per thumbnail in this worker: the gallery's faces recur, detection costs ~10 ms.
        A thumbnail whose face is not found again is shown whole, cropped to a square.
        """
        with Image.open(path) as thumb:
            image = thumb.convert("RGB")
        pixels = np.asarray(image)
        gray = np.asarray(image.convert("L"))
        rects = self.detector(gray, 0) or self.detector(gray, 1)
        if not rects:
            return image
        best = max(rects, key=lambda r: r.area())
        return Image.fromarray(self.chip(pixels, self.landmarks(pixels, best)))

    def card_from_photo(self, data: bytes, box: tuple[int, int, int, int], celebrity: str,
                        text: card.CardText) -> bytes | None:
        """The card for one face of a photo embedded earlier (its box), from the photo's bytes again."""
        try:
            image = decode_image(data, max_pixels=self.config.max_pixels, max_bytes=self.config.max_bytes)
            pixels = np.asarray(image)
            shape = self.landmarks(pixels, self._dlib.rectangle(*box))
            return self.card(chip_bytes(self.chip(pixels, shape)), celebrity, text)
        except Exception as exc:
            log.warning("card failed: %s", type(exc).__name__)
            return None


def scaled(rect: dlib.rectangle, factor: float) -> dlib.rectangle:
    """A dlib rectangle of a detection copy in the original photo's pixels."""
    return type(rect)(round(rect.left() * factor), round(rect.top() * factor),
                          round(rect.right() * factor), round(rect.bottom() * factor))


def corners(rect: dlib.rectangle) -> tuple[int, int, int, int]:
    return rect.left(), rect.top(), rect.right(), rect.bottom()


def eye_geometry(shape) -> tuple[float, float]:
    """Eye-centre distance (px) and roll (degrees) from dlib's 5-point landmarks.

    Points 0-1 and 2-3 are the corners of the two eyes; 4 is under the nose.
    """
    p = [(shape.part(i).x, shape.part(i).y) for i in range(4)]
    a = ((p[0][0] + p[1][0]) / 2, (p[0][1] + p[1][1]) / 2)
    b = ((p[2][0] + p[3][0]) / 2, (p[2][1] + p[3][1]) / 2)
    dx, dy = b[0] - a[0], b[1] - a[1]
    roll = math.degrees(math.atan2(dy, dx))
    if roll > 90:
        roll -= 180
    elif roll < -90:
        roll += 180
    return math.hypot(dx, dy), roll


def make_thumbnail(image: Image.Image, size: int) -> bytes:
    """A small JPEG the bot can send instead of the raw gallery photo."""
    thumb = image.copy()
    thumb.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=3.0)
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    return out.getvalue()
