"""What tests assert on: the calls the bot made, the messages in each chat, and waiting for them."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

from testkit.rates import max_in_window

from .models import SEND_METHODS, Call, WebhookDelivery
from .protocol import copy_json

T = TypeVar("T")

# A predicate may read more than the fake (the bot's own state): it is checked again at least this often.
RECHECK_S = 0.1


class Observe:
    """Read-only views of the fake's state, and ``wait_for`` a condition on it."""

    _lock: threading.RLock
    _cond: threading.Condition
    _async_waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]
    _calls: list[Call]
    _messages: dict[tuple[int | str, int], dict[str, Any]]
    _user_messages: list[tuple[str, int | str, int]]
    _deliveries: list[WebhookDelivery]
    _webhook: dict[str, Any] | None
    _pending: list[dict[str, Any]]
    _waiting_polls: int

    def calls(self, method: str | None = None, chat_id: int | str | None = None) -> list[Call]:
        """Every request so far (oldest first), optionally only one method / one chat."""
        with self._lock:
            calls = list(self._calls)
        if method is not None:
            calls = [c for c in calls if c.method.lower() == method.lower()]
        if chat_id is not None:
            calls = [c for c in calls if c.chat_id == chat_id]
        return calls

    def sent(self, chat_id: int | str | None = None, method: str | None = None) -> list[Call]:
        """Successful sends (sendMessage, sendPhoto) in the order made."""
        return [
            c for c in self.calls(method, chat_id) if c.method in SEND_METHODS and c.ok
        ]

    def max_sends_in_any_second(self, chat_id: int | str | None = None, window: float = 1.0) -> int:
        """Most messages the bot sent within any sliding ``window``."""
        return max_in_window([c.time for c in self.sent(chat_id)], window)

    def answered_message_ids(self, chat_id: int | str | None = None) -> Counter[tuple[int | str, int]]:
        """How many successful sends quoted each (chat_id, message_id).

        Only quoted replies count: PTB's ``reply_text`` quotes by default in groups but not in
        private chats (``do_quote``), and Telegram records nothing else linking an answer.
        """
        counts: Counter[tuple[int | str, int]] = Counter()
        for call in self.sent(chat_id):
            rid = call.reply_to_message_id
            if rid is not None and call.chat_id is not None:
                counts[(call.chat_id, rid)] += 1
        return counts

    def replies_to(self, chat_id: int | str, message_id: int) -> list[Call]:
        """Successful sends quoting one message."""
        return [c for c in self.sent(chat_id) if c.reply_to_message_id == message_id]

    def user_messages(self, chat_id: int | str | None = None, kind: str | None = None) -> list[tuple[int | str, int]]:
        """(chat_id, message_id) of every simulated user message; kind: text, photo, document..."""
        with self._lock:
            return [
                (cid, mid) for k, cid, mid in self._user_messages
                if (chat_id is None or cid == chat_id) and (kind is None or k == kind)
            ]

    def message(self, chat_id: int | str, message_id: int) -> dict[str, Any] | None:
        """The message as it stands now (after edits); None if unknown."""
        with self._lock:
            msg = self._messages.get((chat_id, message_id))
            return copy_json(msg) if msg is not None else None

    def webhook_deliveries(self) -> list[WebhookDelivery]:
        with self._lock:
            return list(self._deliveries)

    @property
    def webhook_url(self) -> str | None:
        with self._lock:
            return self._webhook["url"] if self._webhook else None

    @property
    def webhook_secret(self) -> str | None:
        """The secret_token of the webhook the bot set (what Telegram would send with each update)."""
        with self._lock:
            return self._webhook["secret_token"] if self._webhook else None

    @property
    def polling(self) -> bool:
        """Whether a getUpdates long poll is waiting right now (the bot is up and idle)."""
        with self._lock:
            return self._waiting_polls > 0

    @property
    def pending_update_count(self) -> int:
        with self._lock:
            return len(self._pending)

    def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0) -> T:
        """Block until ``predicate()`` is truthy and return its value.

        Re-checked whenever the fake's state changes.  Don't call it from the event loop the
        bot runs in (it would starve the bot); use :meth:`wait_for_async` there.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(self._timeout_message(timeout))
                self._cond.wait(min(remaining, RECHECK_S))

    async def wait_for_async(self, predicate: Callable[[], T], timeout: float = 10.0) -> T:
        """Like :meth:`wait_for`, but awaits instead of blocking the running event loop."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        entry = (loop, event)
        deadline = time.monotonic() + timeout
        with self._lock:
            self._async_waiters.add(entry)
        try:
            while True:
                event.clear()
                with self._lock:
                    value = predicate()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(self._timeout_message(timeout))
                try:
                    await asyncio.wait_for(event.wait(), min(remaining, RECHECK_S))
                except TimeoutError:
                    pass
        finally:
            with self._lock:
                self._async_waiters.discard(entry)

    def wait_for_sent(self, chat_id: int | str | None = None, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Block until the bot made ``count`` successful sends (to ``chat_id``); returns them."""
        return self.wait_for(self._sends_reached(chat_id, count), timeout)

    async def wait_for_sent_async(
        self, chat_id: int | str | None = None, count: int = 1, timeout: float = 10.0
    ) -> list[Call]:
        return await self.wait_for_async(self._sends_reached(chat_id, count), timeout)

    def _sends_reached(self, chat_id: int | str | None, count: int) -> Callable[[], list[Call] | None]:
        def check() -> list[Call] | None:
            sends = self.sent(chat_id)
            return sends if len(sends) >= count else None

        return check

    def _timeout_message(self, timeout: float) -> str:
        recent = ", ".join(f"{c.method}:{c.status}" for c in self.calls()[-15:])
        return f"condition not met within {timeout}s; last calls: [{recent}]"
