"""Fit and check the normal model behind the similarity percentage.

The percentage assumes that the distance from a gallery face to its nearest
stranger is roughly normal; the KS statistic stored with the index says how
true that is for the gallery at hand instead of taking it on faith.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Calibration:
    mean: float
    std: float
    n: int = 0                   # distances the fit used (0: prior from config)
    ks_statistic: float | None = None
    ks_pvalue: float | None = None
    histogram: dict = field(default_factory=dict)  # {"edges": [...], "counts": [...]}
    source: str = "gallery"      # "gallery" or "prior"

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Calibration":
        return cls(**data)


def fit(distances: np.ndarray, bins: int = 30) -> Calibration:
    """Mean, std, histogram and KS fit of nearest-stranger distances."""
    d = np.asarray(distances, dtype=np.float64)
    d = d[np.isfinite(d)]
    if len(d) < 2 or float(d.std(ddof=1)) <= 0:
        raise ValueError("need at least two distinct finite distances to calibrate")
    mean, std = float(d.mean()), float(d.std(ddof=1))
    ks = stats.kstest(d, "norm", args=(mean, std))
    counts, edges = np.histogram(d, bins=bins)
    return Calibration(
        mean=mean, std=std, n=int(len(d)),
        ks_statistic=float(ks.statistic), ks_pvalue=float(ks.pvalue),
        histogram={"edges": [round(float(e), 5) for e in edges], "counts": counts.tolist()},
    )


def prior(mean: float, std: float) -> Calibration:
    """Used when the gallery is too small to say anything (e.g. the 2-person demo)."""
    return Calibration(mean=mean, std=std, source="prior")


def describe(cal: Calibration) -> str:
    if cal.source == "prior":
        return f"calibration: prior mean={cal.mean:.4f} std={cal.std:.4f} (gallery too small to fit)"
    # KS is the largest gap between the fitted and the empirical CDF: on this
    # gallery, the % is off by at most that many points (times 100).
    verdict = "no evidence against a normal" if cal.ks_pvalue >= 0.05 else "departs from a normal"
    return (f"calibration: n={cal.n} mean={cal.mean:.4f} std={cal.std:.4f} KS={cal.ks_statistic:.4f} "
            f"(p={cal.ks_pvalue:.3g}: {verdict}; the % is within {cal.ks_statistic * 100:.1f} points "
            f"of the empirical share)")
