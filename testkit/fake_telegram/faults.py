"""Fault injection: how tests describe a failure, and the fake's queue and hook of them."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from .models import Call


@dataclass(frozen=True)
class FaultSpec:
    """What to do instead of (or before) handling a request.

    ``status=None`` with a ``delay`` just stalls the request and then handles it normally,
    which is how Telegram behaves when the client gives up on a slow reply: the message may
    still be sent.  A 429 carries ``parameters.retry_after`` (default 1) like Telegram's.

    ``reset=True`` drops the connection without an answer and without handling the request
    (a proxy or a stale keep-alive connection).  For file downloads (``call.method == "file"``)
    ``truncate=N`` sends only the first N bytes of the file: with ``short=False`` the headers
    announce the whole file and the connection breaks mid-body; with ``short=True`` the
    response is complete but shorter than the ``file_size`` getFile reported.
    """

    status: int | None = 500
    retry_after: int | None = None
    description: str | None = None
    delay: float = 0.0
    reset: bool = False
    truncate: int | None = None
    short: bool = False

    def body(self) -> dict[str, Any]:
        assert self.status is not None
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description or default_description(self.status, self.retry_after),
        }
        if self.status == 429:
            body["parameters"] = {"retry_after": self.retry_after or 1}
        return body


FaultHook = Callable[[Call], "FaultSpec | None"]


def default_description(status: int, retry_after: int | None = None) -> str:
    """Telegram's wording for the common error codes."""
    if status == 429:
        return f"Too Many Requests: retry after {retry_after or 1}"
    return {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        409: "Conflict",
        413: "Request Entity Too Large",
        500: "Internal Server Error",
        502: "Bad Gateway",
        504: "Gateway Timeout",
    }.get(status, f"Error {status}")


def random_faults(
    rate: float,
    *,
    seed: int = 0,
    statuses: Collection[int] = (500, 429),
    retry_after: int = 1,
    methods: Collection[str] | None = None,
) -> FaultHook:
    """A reproducible ``set_fault`` hook failing about ``rate`` of the (matching) requests."""
    rng = random.Random(seed)
    choices = list(statuses)
    wanted = {m.lower() for m in methods} if methods is not None else None

    def hook(call: Call) -> FaultSpec | None:
        if wanted is not None and call.method.lower() not in wanted:
            return None
        if rng.random() >= rate:
            return None
        status = rng.choice(choices)
        return FaultSpec(status=status, retry_after=retry_after if status == 429 else None)

    return hook


class Faults:
    """The fake's side: faults queued per method, a hook consulted on every request, blocked chats."""

    _lock: threading.RLock

    def __init__(self) -> None:
        self._fail_queue: list[list[Any]] = []  # [method_lower, FaultSpec, remaining]
        self._fault_hook: FaultHook | None = None
        self._blocked: dict[int | str, str] = {}

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int | None = 1,
        count: int = 1,
        description: str | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` with an error (retry_after: 429 only)."""
        spec = FaultSpec(
            status=status,
            retry_after=retry_after if status == 429 else None,
            description=description,
            delay=delay,
        )
        with self._lock:
            self._fail_queue.append([method.lower(), spec, count])

    def set_fault(self, hook: FaultHook | None) -> None:
        """Consult ``hook(call)`` before every API request (after ``fail_next``); None clears."""
        with self._lock:
            self._fault_hook = hook

    def _take_fault(self, probe: Call) -> FaultSpec | None:
        with self._lock:
            for entry in self._fail_queue:
                if entry[0] == probe.method.lower():
                    entry[2] -= 1
                    if entry[2] <= 0:
                        self._fail_queue.remove(entry)
                    return entry[1]
            hook = self._fault_hook
        return hook(probe) if hook is not None else None

    def block(self, chat_id: int | str, description: str | None = None) -> None:
        """Make sends to this chat fail with 403, as when a user blocked the bot."""
        default = "Forbidden: bot was blocked by the user" if isinstance(chat_id, int) and chat_id > 0 \
            else "Forbidden: bot was kicked from the group chat"
        with self._lock:
            self._blocked[chat_id] = description or default
