"""Long polling: getUpdates, its offset, its allowed_updates filter, and Telegram's 409s."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from .protocol import ApiError, update_type

#: Updates Telegram leaves out unless asked for them explicitly.
_NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


def allowed(update: dict[str, Any], wanted: list[str] | None) -> bool:
    kind = update_type(update)
    return kind in wanted if wanted else kind not in _NOT_BY_DEFAULT


class Updates:
    """getUpdates; a newer poll ends an older one, and a webhook refuses polls."""

    _lock: threading.RLock
    _pending: list[dict[str, Any]]
    _poll_waiters: list[asyncio.Future[None]]
    _webhook: dict[str, Any] | None
    _closing: bool

    def __init__(self) -> None:
        self._allowed_updates: list[str] | None = None
        self._waiting_polls = 0
        self._poll_generation = 0  # owned by the server thread

    async def _getUpdates(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        """Long polling; a newer getUpdates ends an older one with 409, as Telegram does."""
        offset = int(p.get("offset") or 0)
        limit = min(max(int(p.get("limit") or 100), 1), 100)
        timeout = max(float(p.get("timeout") or 0), 0.0)
        deadline = time.monotonic() + timeout
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake_loop()  # any older poll sees the new generation and ends
        loop = asyncio.get_running_loop()
        if isinstance(p.get("allowed_updates"), list):
            with self._lock:  # Telegram remembers the filter until the next one is given
                self._allowed_updates = p["allowed_updates"] or None
        while True:
            with self._lock:
                if self._webhook is not None:
                    raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                        "use deleteWebhook to delete the webhook first")
                if generation != self._poll_generation:
                    raise ApiError(409, "Conflict: terminated by other getUpdates request; make sure "
                                        "that only one bot instance is running")
                self._confirm(offset)
                self._pending = [u for u in self._pending if allowed(u, self._allowed_updates)]
                batch = self._pending[:limit]
                if batch or self._closing:
                    return batch
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            waiter: asyncio.Future[None] = loop.create_future()
            self._poll_waiters.append(waiter)
            self._set_waiting_polls(+1)
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                pass
            finally:
                self._set_waiting_polls(-1)

    def _set_waiting_polls(self, delta: int) -> None:
        with self._lock:
            self._waiting_polls += delta
            self._changed(updates=False)

    def _confirm(self, offset: int) -> None:
        """getUpdates' offset: everything before it is confirmed and forgotten."""
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]
