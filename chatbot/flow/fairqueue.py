"""Admission and round-robin scheduling of photos between users.

Without it, one user's album of 30 photos would sit in front of every other
user's single photo in the worker queue. Each user may have a few photos in
progress (more get "busy"), and worker slots are handed out one user at a
time, round robin, so a single photo waits for at most one job per user ahead.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, OrderedDict, deque
from collections.abc import AsyncIterator, Hashable


class FairQueue:
    def __init__(self, slots: int, per_user: int, max_total: int) -> None:
        self.slots = slots
        self.per_user = per_user
        self.max_total = max_total
        self._free = slots
        self._waiting: OrderedDict[Hashable, deque[asyncio.Future]] = OrderedDict()
        self._pending: Counter = Counter()

    @property
    def in_progress(self) -> int:
        """Admitted photos not yet answered (queue depth for metrics)."""
        return sum(self._pending.values())

    def admit(self, user: Hashable) -> str | None:
        """None if the photo may proceed, else why not: "busy" (this user) or "overloaded" (everyone)."""
        if self._pending[user] >= self.per_user:
            return "busy"
        if self.in_progress >= self.max_total:
            return "overloaded"
        self._pending[user] += 1
        return None

    def leave(self, user: Hashable) -> None:
        self._pending[user] -= 1
        if self._pending[user] <= 0:
            del self._pending[user]

    @contextlib.asynccontextmanager
    async def slot(self, user: Hashable) -> AsyncIterator[None]:
        """Hold one worker slot; waits for this user's turn in the rotation."""
        if self._free > 0 and not self._waiting:
            self._free -= 1
        else:
            future = asyncio.get_running_loop().create_future()
            self._waiting.setdefault(user, deque()).append(future)
            try:
                await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():
                    self._release()  # the slot was granted as we were cancelled
                else:
                    self._forget(user, future)
                raise
        try:
            yield
        finally:
            self._release()

    def _forget(self, user: Hashable, future: asyncio.Future) -> None:
        queue = self._waiting.get(user)
        if queue and future in queue:
            queue.remove(future)
            if not queue:
                del self._waiting[user]

    def _release(self) -> None:
        self._free += 1
        while self._free > 0 and self._waiting:
            user, queue = self._waiting.popitem(last=False)
            future = queue.popleft()
            if queue:
                self._waiting[user] = queue  # back of the rotation
            if not future.done():
                self._free -= 1
                future.set_result(None)
