"""Counting events in a sliding time window, as Telegram's flood limits do."""
from __future__ import annotations


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The most of ``times`` (seconds) that fall within any ``window`` seconds (t - window, t]."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best
