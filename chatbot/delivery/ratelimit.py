"""Outgoing request limits, applied to every request python-telegram-bot makes.

Telegram allows about 30 messages per second overall, 1 per second in a
private chat (short bursts tolerated) and 20 per minute in a group. These are
enforced as sliding windows ("at most N grants in any T seconds") rather than
aiolimiter's leaky bucket: a bucket of capacity N refilling at N/T lets up to
2N through in some window of T, which is exactly the burst Telegram punishes.

A 429 (RetryAfter) pauses only the chat it came from; the request is retried
after ``retry_after`` while other chats keep flowing.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import BaseRateLimiter

from chatbot.delivery import answered
from chatbot.delivery.retry import backoff, retry_delay
from settings import LimitsConfig

log = logging.getLogger(__name__)

# Typing indicators are cosmetic: sent only when the global window has room
# right now, never delaying a real answer, never counted against a chat.
COSMETIC = {"sendchataction"}
# Answers to a button press or an inline query go to no chat, but Telegram counts them too.
UNADDRESSED = {"answercallbackquery", "answerinlinequery"}
NETWORK_BACKOFF = 0.5  # seconds, doubled per retry of a failed (5xx, refused) request (chatbot/delivery/retry.py)


class SlidingWindow:
    """At most ``limit`` requests in any ``period`` seconds, as Telegram counts them.

    Telegram counts a request when it arrives, somewhere between the moment we
    let it go and the moment its answer is back; a loaded event loop or network
    can bunch requests let go apart. So a request holds its place from release
    until its answer returns, and is then remembered for ``period`` seconds from
    that (later) moment: whatever the delays, no ``period``-long window can see
    more than ``limit`` arrivals.
    """

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self._done: deque[float] = deque()   # completion times within the last period
        self._in_flight = 0
        self._lock = asyncio.Lock()          # FIFO among waiters
        self._changed = asyncio.Event()
        self.blocked_until = 0.0             # set after a 429 for this chat

    @property
    def idle(self) -> bool:
        now = time.monotonic()
        return (not self._lock.locked() and self._in_flight == 0 and now >= self.blocked_until
                and (not self._done or now - self._done[-1] >= self.period))

    def _room(self, now: float) -> bool:
        while self._done and now - self._done[0] >= self.period:
            self._done.popleft()
        return self._in_flight + len(self._done) < self.limit

    def try_acquire(self) -> bool:
        """Take a place only if one is free right now (for cosmetic requests)."""
        now = time.monotonic()
        if self._lock.locked() or now < self.blocked_until or not self._room(now):
            return False
        self._in_flight += 1
        return True

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                if now < self.blocked_until:
                    await asyncio.sleep(self.blocked_until - now)
                    continue
                if self._room(now):
                    self._in_flight += 1
                    return
                self._changed.clear()
                wait = self._done[0] + self.period - now if self._done else None
                try:  # until the oldest request leaves the window or one in flight completes
                    await asyncio.wait_for(self._changed.wait(), wait)
                except asyncio.TimeoutError:
                    pass

    def release(self) -> None:
        self._in_flight -= 1
        self._done.append(time.monotonic())
        self._changed.set()

    @contextlib.asynccontextmanager
    async def hold(self):
        await self.acquire()
        try:
            yield
        finally:
            self.release()


class ChatRateLimiter(BaseRateLimiter[int]):
    """python-telegram-bot rate limiter with per-chat sliding windows."""

    MAX_IDLE_CHATS = 10_000

    def __init__(self, limits: LimitsConfig, on_retry: Callable[[str], None] | None = None) -> None:
        self.limits = limits
        self.on_retry = on_retry
        self._global = SlidingWindow(limits.global_per_second, 1.0)
        self._chats: dict[int | str, SlidingWindow] = {}

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        self._chats.clear()

    def _window(self, chat_id: int | str) -> SlidingWindow:
        window = self._chats.get(chat_id)
        if window is None:
            if len(self._chats) >= self.MAX_IDLE_CHATS:
                for key in [k for k, w in self._chats.items() if w.idle]:
                    del self._chats[key]
            group = isinstance(chat_id, str) or chat_id < 0
            if group:
                window = SlidingWindow(self.limits.group_per_minute, 60.0)
            else:
                burst = max(1, self.limits.private_burst)
                window = SlidingWindow(burst, burst / self.limits.private_per_second)
            self._chats[chat_id] = window
        return window

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat_id = data.get("chat_id")
        with contextlib.suppress(ValueError, TypeError):
            chat_id = int(chat_id)
        retries = rate_limit_args if rate_limit_args is not None else self.limits.max_retries
        if chat_id is not None and endpoint.lower() in COSMETIC:
            if not self._global.try_acquire():
                return True  # skipped: the answer itself matters more
            try:
                with contextlib.suppress(NetworkError, RetryAfter):
                    return await callback(*args, **kwargs)
                return True
            finally:
                self._global.release()
        attempt = 0
        while True:
            try:
                async with contextlib.AsyncExitStack() as held:
                    if chat_id is not None:  # getUpdates, getFile, setWebhook... are not messages
                        await held.enter_async_context(self._window(chat_id).hold())
                        await held.enter_async_context(self._global.hold())
                    elif endpoint.lower() in UNADDRESSED:
                        await held.enter_async_context(self._global.hold())
                    result = await callback(*args, **kwargs)
                await answered.sent(endpoint)  # outside the windows: the commit is not a send
                return result
            except (TimedOut, BadRequest):
                raise  # a time-out may have arrived (a retry could answer twice); a 400 stays a 400
            except NetworkError as exc:
                # 5xx or a refused connection: Telegram did not act on it, so a retry is safe.
                if chat_id is None or attempt >= retries:
                    raise
                attempt += 1
                log.info("%s failed (%s): retry %d of %d", endpoint, type(exc).__name__, attempt, retries)
                if self.on_retry:
                    self.on_retry(endpoint)
                await asyncio.sleep(backoff(NETWORK_BACKOFF, attempt))
            except RetryAfter as exc:
                if attempt >= retries:
                    log.warning("%s still rate limited after %d retries; giving up", endpoint, retries)
                    raise
                attempt += 1
                delay = retry_delay(exc) + 0.1
                log.info("%s got 429: retrying in %.1fs (attempt %d of %d)", endpoint, delay, attempt, retries)
                if self.on_retry:
                    self.on_retry(endpoint)
                if chat_id is not None:
                    window = self._window(chat_id)
                    window.blocked_until = max(window.blocked_until, time.monotonic() + delay)
                else:
                    await asyncio.sleep(delay)
