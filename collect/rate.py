"""A byte-rate cap for downloads: the robot policy's 25 Mbps for upload.wikimedia.org.

Pacing, not a bucket with a burst: every chunk read pushes a shared "free at"
clock forward by its transfer time at the cap and the reader sleeps until
then, so N bytes can never take less than N / rate seconds, whatever the
concurrency.
"""
from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable


class ByteRate:
    def __init__(self, mbps: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        if mbps <= 0:
            raise ValueError("download_mbps must be positive")
        self.bytes_per_s = mbps * 1_000_000 / 8
        self._clock, self._sleep = clock, sleep
        self._free_at = 0.0

    def delay(self, size: int) -> float:
        """Book ``size`` bytes; seconds to wait before reading on."""
        now = self._clock()
        self._free_at = max(self._free_at, now) + size / self.bytes_per_s
        return self._free_at - now

    async def take(self, size: int) -> None:
        wait = self.delay(size)
        if wait > 0:
            await self._sleep(wait)
