"""Work in progress that a graceful shutdown waits for.

One tracker for the three kinds of it: the poller's and the webhook
dispatch's handler tasks, and the photo answers (counted as sections, since
one photo's answer spans a handler and no task of its own).
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Iterator
from typing import Any


class InFlight:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()
        self._sections = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def __len__(self) -> int:
        return len(self._tasks) + self._sections

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        self._idle.clear()
        task.add_done_callback(self._task_done)
        return task

    @contextlib.contextmanager
    def section(self) -> Iterator[None]:
        self._sections += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._sections -= 1
            self._check_idle()

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        self._check_idle()

    def _check_idle(self) -> None:
        if not len(self):
            self._idle.set()

    async def drain(self, timeout: float, cancel: bool = False) -> bool:
        """Wait until nothing is in progress; False on time-out, and with ``cancel`` the tasks left are cancelled."""
        if not len(self):
            return True  # also with no grace at all (wait_for with 0 would not even look)
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            if cancel:
                left = set(self._tasks)
                for task in left:
                    task.cancel()
                await asyncio.gather(*left, return_exceptions=True)
            return False
