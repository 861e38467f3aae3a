"""The waits between retries of a Telegram request, shared by every loop that retries one.

Three loops retry Telegram requests, and each keeps its own loop because what
may be retried differs: a photo fetch (chatbot/flow/fetch.py) retries anything
transient within a time budget, because getFile and downloads change nothing;
a send (chatbot/delivery/ratelimit.py) retries only what Telegram did not act
on, a few times, because a time-out may have arrived; polling
(chatbot/delivery/polling.py) retries for ever, because it is the bot's only
intake. What they share is how long to wait, which lives here. The Wikimedia
client (collect/http.py) keeps its own: it jitters and reads HTTP Retry-After
headers per host, which Telegram's typed RetryAfter does not need.
"""
from __future__ import annotations

import math

from telegram.error import RetryAfter

MAX_DOUBLINGS = 64


def backoff(first: float, failures: int, cap: float = math.inf) -> float:
    """The wait after the ``failures``-th failure in a row (1 for the first): doubling from ``first``.

    The exponent stops growing long before a float would overflow: polling counts its failures
    for as long as Telegram is unreachable, hours if need be.
    """
    return min(cap, first * 2.0 ** min(max(0, failures - 1), MAX_DOUBLINGS))


def retry_delay(exc: RetryAfter) -> float:
    """Telegram's retry_after in seconds, whichever form this PTB version keeps it in."""
    value = getattr(exc, "_retry_after", None)
    if value is None:
        value = exc.retry_after
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)
