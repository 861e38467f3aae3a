"""An update counts as done the moment its answer is out, not when its handler returns.

After a crash, an update that was not marked done is handled again (the
webhook journal, or Telegram re-sending what long polling did not confirm).
If the answer had already reached Telegram, the user gets it twice. Marking
the update done from inside the send, as soon as Telegram's reply to the
send is back, shrinks that window to the reply's way back plus one commit;
what the handler does after its answer (counters, caches) no longer counts.
Telegram has no idempotent send, so the window cannot be closed entirely.

Every photo, command and button gets one answer, so the first successful
message sent while an update is handled is its answer. The dispatcher sets
a context variable for the update it handles; the rate limiter, which sees
every request, calls :func:`sent` after each one that succeeded.
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar

log = logging.getLogger(__name__)

ANSWERS = frozenset({"sendmessage", "sendphoto", "senddocument", "sendanimation", "sendmediagroup"})

_on_answer: ContextVar[Callable[[], Awaitable[None]] | None] = ContextVar("on_answer", default=None)


@contextlib.contextmanager
def handling(on_answer: Callable[[], Awaitable[None]]) -> Iterator[None]:
    """While this update is handled, ``on_answer`` runs once, right after its first message was sent."""
    token = _on_answer.set(on_answer)
    try:
        yield
    finally:
        _on_answer.reset(token)


async def sent(endpoint: str) -> None:
    """A request succeeded: if it was the answer of the update being handled, mark that update done."""
    on_answer = _on_answer.get()
    if on_answer is not None and endpoint.lower() in ANSWERS:
        _on_answer.set(None)  # once: later messages of the same update change nothing
        try:
            await on_answer()
        except Exception as exc:  # the answer is out: nothing here may make the send look failed
            log.error("could not mark an answered update done (%s); its handler's end will retry",
                      type(exc).__name__)
