"""What several benchmarks share: where the shared labelled faces live, box overlap, the RSS
probe of the measured child processes, and matplotlib set up for files."""
from __future__ import annotations

from pathlib import Path

#: Labelled face photos (one folder per person) that a machine may hold next to the checkout.
SHARED_FACES = Path(__file__).resolve().parent.parent.parent / "shared" / "faces"

#: ``rss()``, the resident memory of the process, as source: the measured child processes
#: (bench.build_scaling, bench.metadata_formats) run code given with ``python -c``, possibly
#: against another checkout's code (``--before``), so they are given the function, not an import.
RSS_SOURCE = '''
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
'''


def iou(a, b) -> float:
    """Intersection over union of two (left, top, right, bottom) boxes."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def pyplot():
    """matplotlib.pyplot drawing to files (no display), imported only by a benchmark that plots."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt
