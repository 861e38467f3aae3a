"""The sliding-window limiter on its own, with random delays between release and arrival."""
from __future__ import annotations

import asyncio
import random
import time

from chatbot.delivery.ratelimit import SlidingWindow
from chatbot.flow.fairqueue import FairQueue
from testkit.rates import max_in_window


async def test_window_holds_at_arrival_despite_jitter():
    window = SlidingWindow(10, 0.5)
    rng = random.Random(1)
    arrivals: list[float] = []

    async def request() -> None:
        async with window.hold():
            await asyncio.sleep(rng.uniform(0, 0.08))   # on the way to Telegram
            arrivals.append(time.monotonic())            # Telegram counts it here
            await asyncio.sleep(rng.uniform(0, 0.08))   # the answer on its way back

    started = time.monotonic()
    await asyncio.gather(*(request() for _ in range(60)))
    elapsed = time.monotonic() - started
    assert max_in_window(arrivals, 0.5) <= 10
    assert elapsed < 60 / 10 * 0.5 * 2  # and it is not needlessly slow


async def test_try_acquire_never_waits():
    window = SlidingWindow(2, 10.0)
    assert window.try_acquire() and window.try_acquire()
    assert not window.try_acquire()
    window.release()
    assert not window.try_acquire()  # still inside the 10 s window


async def test_fair_queue_round_robins_users_and_limits_each():
    queue = FairQueue(slots=1, per_user=3, max_total=5)
    order: list[str] = []
    assert [queue.admit("a") for _ in range(4)] == [None, None, None, "busy"]
    assert queue.admit("b") is None and queue.admit("c") is None
    assert queue.admit("d") == "overloaded"

    async def job(user: str) -> None:
        async with queue.slot(user):
            order.append(user)
            await asyncio.sleep(0.01)
        queue.leave(user)

    await asyncio.gather(job("a"), job("a"), job("a"), job("b"), job("c"))
    # a's first photo takes the free slot; then turns rotate a, b, c, a: b and c
    # wait for one photo of a's album, not for all of it.
    assert order == ["a", "a", "b", "c", "a"]
    assert queue.in_progress == 0
