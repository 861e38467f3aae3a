"""Distance to percentage.

``similarity(d) = 1 - Phi((d - mean) / std)`` where mean and std describe the
distance from each gallery face to the nearest face of a *different* person.
Read it as: the share of celebrities whose closest stranger is farther away
than you are from your match. 50% at the mean, monotonically falling.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtr


def similarity(distance: ArrayLike, mean: float, std: float, floor: float = 0.0) -> np.ndarray | float:
    """Plain (not squared) L2 distance(s) to similarity in [floor, 1]."""
    if std <= 0:
        raise ValueError("std must be positive")
    d = np.asarray(distance, dtype=np.float64)
    value = np.clip(1.0 - ndtr((d - mean) / std), floor, 1.0)
    return float(value) if value.ndim == 0 else value


def percent(value: float) -> int:
    """A similarity as a whole percent for people: never 100 unless identical."""
    return int(min(99.0, max(0.0, round(value * 100)))) if value < 1.0 else 100
