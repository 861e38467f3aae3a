"""Distance to percentage.

``similarity(d) = 1 - Phi(z(d))`` where z is the standard score of the
distance under the gallery's calibration (search/calibration.py): the normal
of the nearest-stranger distance, or of its Box-Cox transform. Read it as: the
share of look-alike searches (by people not in the gallery) whose best match
is farther away than yours. 50% at the median, monotonically falling.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtr


def transform(distance: ArrayLike, lam: float | None) -> np.ndarray:
    """Box-Cox of the plain distance (identity for None); monotone, so ranks never change."""
    d = np.maximum(np.asarray(distance, dtype=np.float64), 1e-9)  # an identical photo is distance 0
    if lam is None:
        return d
    if abs(lam) < 1e-12:
        return np.log(d)
    return (d ** lam - 1.0) / lam


def similarity(distance: ArrayLike, mean: float, std: float, floor: float = 0.0,
               lam: float | None = None) -> np.ndarray | float:
    """Plain (not squared) L2 distance(s) to similarity in [floor, 1]; ``lam``: Box-Cox exponent."""
    if std <= 0:
        raise ValueError("std must be positive")
    d = transform(distance, lam)
    value = np.clip(1.0 - ndtr((d - mean) / std), floor, 1.0)
    return float(value) if value.ndim == 0 else value


def percent(value: float) -> int:
    """A similarity as a whole percent for people: never 100 unless identical."""
    return int(min(99.0, max(0.0, round(value * 100)))) if value < 1.0 else 100
