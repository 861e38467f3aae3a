"""chatbot/delivery/inflight.py: the work a graceful shutdown waits for (handler tasks and photo answers)."""
from __future__ import annotations

import asyncio

import pytest

from chatbot.delivery.inflight import InFlight


async def test_nothing_in_flight_drains_at_once():
    tracker = InFlight()
    assert len(tracker) == 0
    assert await tracker.drain(5) is True


async def test_nothing_in_flight_drains_even_with_no_grace():
    assert await InFlight().drain(0) is True


async def test_spawned_tasks_are_counted_until_they_end():
    tracker = InFlight()
    gate = asyncio.Event()
    tasks = [tracker.spawn(gate.wait()) for _ in range(3)]
    assert len(tracker) == 3
    gate.set()
    assert await tracker.drain(5) is True
    assert len(tracker) == 0 and all(t.done() for t in tasks)


async def test_a_section_is_counted_while_it_runs():
    tracker = InFlight()
    gate = asyncio.Event()

    async def answer() -> None:
        with tracker.section():
            await gate.wait()

    running = asyncio.create_task(answer())
    await asyncio.sleep(0)
    assert len(tracker) == 1
    draining = asyncio.create_task(tracker.drain(5))
    await asyncio.sleep(0)
    assert not draining.done()
    gate.set()
    assert await draining is True
    await running
    assert len(tracker) == 0


async def test_a_section_left_by_an_exception_is_not_counted_any_more():
    tracker = InFlight()
    with pytest.raises(ValueError):
        with tracker.section():
            raise ValueError()
    assert len(tracker) == 0 and await tracker.drain(5) is True


async def test_a_task_that_fails_still_leaves_the_tracker():
    tracker = InFlight()

    async def boom() -> None:
        raise RuntimeError()

    task = tracker.spawn(boom())
    assert await tracker.drain(5) is True
    assert isinstance(task.exception(), RuntimeError)


async def test_work_that_cannot_finish_makes_drain_give_up_and_leaves_it_running():
    tracker = InFlight()
    stuck = tracker.spawn(asyncio.Event().wait())  # never set: no timing involved
    assert await tracker.drain(0.01) is False
    assert not stuck.done() and len(tracker) == 1
    stuck.cancel()
    await asyncio.gather(stuck, return_exceptions=True)


async def test_drain_with_cancel_ends_the_tasks_left():
    tracker = InFlight()
    stuck = tracker.spawn(asyncio.Event().wait())
    assert await tracker.drain(0.01, cancel=True) is False
    assert stuck.cancelled() and len(tracker) == 0
    assert await tracker.drain(5) is True
