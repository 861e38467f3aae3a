"""Fit and check the normal model behind the similarity percentage.

The % is meant to read "the share of look-alike searches whose best match is
worse than yours". The data are the gallery's leave-one-person-out searches:
each gallery face's distance to the nearest face of another person, which is
what a user who is not in the gallery meets. Those distances are minima over
many people, so they are skewed to the left and a plain normal misfits them
(KS about 0.07 on ../shared/faces). The normal CDF stays (the design fixes the
shape), but it is fitted to a Box-Cox transform of the distance, with the
exponent chosen by maximum likelihood; that removes the skew (bench/quality.py
measures the effect on people outside the gallery).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import stats

from search.similarity import transform

METHODS = ("normal", "boxcox")  # the plain normal first: the reference


@dataclass(frozen=True)
class Calibration:
    mean: float                  # of the transformed distance
    std: float
    n: int = 0                   # distances the fit used (0: prior from config)
    ks_statistic: float | None = None
    ks_pvalue: float | None = None
    histogram: dict = field(default_factory=dict)  # {"edges": [...], "counts": [...]} of plain distances
    source: str = "gallery"      # "gallery" or "prior"
    method: str = "normal"       # "normal": on the plain distance; "boxcox": on boxcox(distance, lam)
    lam: float | None = None     # Box-Cox exponent; set exactly when method is "boxcox"

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Calibration":
        return cls(**data)  # an index.json from before "method" reads as the plain normal


def fit(distances: np.ndarray, method: str = "boxcox", bins: int = 30) -> Calibration:
    """The normal (of the plain or the Box-Cox distance), its histogram and KS statistic."""
    if method not in METHODS:
        raise ValueError(f"calibration method: expected one of {METHODS}, got {method!r}")
    d = np.asarray(distances, dtype=np.float64)
    d = d[np.isfinite(d) & (d > 0)]
    if len(d) < 2 or float(d.std(ddof=1)) <= 0:
        raise ValueError("need at least two distinct finite distances to calibrate")
    lam = float(stats.boxcox_normmax(d, method="mle")) if method == "boxcox" else None
    t = transform(d, lam)
    mean, std = float(t.mean()), float(t.std(ddof=1))
    ks = stats.kstest(t, "norm", args=(mean, std))
    counts, edges = np.histogram(d, bins=bins)
    return Calibration(
        mean=mean, std=std, n=int(len(d)),
        ks_statistic=float(ks.statistic), ks_pvalue=float(ks.pvalue),
        histogram={"edges": [round(float(e), 5) for e in edges], "counts": counts.tolist()},
        method=method, lam=lam,
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
    shape = f"normal of boxcox(d, {cal.lam:.3f})" if cal.method == "boxcox" else "normal of d"
    return (f"calibration: {shape}, n={cal.n} mean={cal.mean:.4f} std={cal.std:.4f} KS={cal.ks_statistic:.4f} "
            f"(p={cal.ks_pvalue:.3g}: {verdict}; on the gallery's own searches the % is within "
            f"{cal.ks_statistic * 100:.1f} points of the empirical share)")
