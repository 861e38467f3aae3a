"""Getting a user's photo from Telegram: getFile, then the download, retried.

Neither step changes anything on Telegram's side, so both are safe to repeat:
a stalled or failed attempt (time-out, 5xx, refused or reset connection, 429,
a body that ends early) is retried with backoff until the photo's time budget
is spent. Only then does the user hear "please send it again"; a photo is never
dropped because a file server hiccuped once. Sends are another matter: a send
that timed out may have arrived, so those are not retried (chatbot/delivery/ratelimit.py).

The bytes stay in memory: nothing here touches the disk.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from telegram import Bot
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut

from chatbot.delivery.retry import backoff, retry_delay
from settings import FetchConfig

log = logging.getLogger(__name__)

MAX_DOWNLOAD = 20 * 1024 * 1024  # Telegram's limit for bots


class FileTooBig(Exception):
    """Telegram will not let a bot download this file (over 20 MB)."""


class FetchFailed(Exception):
    """The photo could not be fetched within its time budget; ``attempts`` were made."""

    def __init__(self, attempts: int, last: BaseException) -> None:
        super().__init__(f"{attempts} attempt(s), last: {type(last).__name__}")
        self.attempts = attempts
        self.last = last


class Truncated(NetworkError):
    """The download ended before ``file_size`` bytes arrived."""


def download_timeout(size: int | None, policy: FetchConfig) -> float:
    """Time allowed for one download: a stall limit plus the time ``size`` takes at the slowest fair rate."""
    return policy.read_timeout_s + (size or MAX_DOWNLOAD) / policy.min_rate


def attempt_timeout(size: int | None, policy: FetchConfig) -> float:
    """One whole attempt: getFile's answer, then the download."""
    return policy.read_timeout_s + download_timeout(size, policy)


def budget(size: int | None, policy: FetchConfig) -> float:
    """The photo's budget: the configured one, but always room for two full attempts of a big file."""
    return max(policy.budget_s, 2 * attempt_timeout(size, policy))


def transient(exc: BaseException) -> bool:
    """Worth another attempt: nothing here is a verdict about the file itself.

    BadRequest (a bad file_id, "file is too big") is final. InvalidToken and
    Forbidden come back for a download path that expired between getFile and
    the download; a fresh getFile gives a new one, and the budget bounds it.
    """
    if isinstance(exc, BadRequest):
        return False
    return isinstance(exc, (TimedOut, NetworkError, RetryAfter, InvalidToken, Forbidden,
                            asyncio.TimeoutError, OSError))


def pause(exc: BaseException, step: float) -> float:
    """How long to wait before the next attempt: Telegram's retry_after for a 429, else the backoff step."""
    if isinstance(exc, RetryAfter):
        return retry_delay(exc) + 0.1
    return step


async def fetch_photo(bot: Bot, file_id: str, size: int | None, policy: FetchConfig,
                      clock: Callable[[], float] = time.monotonic) -> bytes:
    """The file's bytes, or FileTooBig, BadRequest (final) or FetchFailed (budget spent)."""
    if size and size > MAX_DOWNLOAD:
        raise FileTooBig()
    deadline = clock() + budget(size, policy)
    attempts = 0
    while True:
        attempts += 1
        try:
            return await _attempt(bot, file_id, size, policy, deadline - clock())
        except (FileTooBig, BadRequest):
            raise
        except Exception as exc:
            if not transient(exc):
                raise
            wait = pause(exc, backoff(policy.backoff_s, attempts, policy.max_backoff_s))
            left = deadline - clock()
            if wait >= left:
                log.warning("photo download failed %d time(s) (%s); budget spent", attempts, type(exc).__name__)
                raise FetchFailed(attempts, exc) from exc
            log.info("photo download attempt %d failed (%s); again in %.1fs", attempts, type(exc).__name__, wait)
            await asyncio.sleep(wait)


async def _attempt(bot: Bot, file_id: str, size: int | None, policy: FetchConfig, left: float) -> bytes:
    if left <= 0:
        raise asyncio.TimeoutError()
    started = time.monotonic()
    file = await asyncio.wait_for(
        bot.get_file(file_id, read_timeout=policy.read_timeout_s), min(left, attempt_timeout(size, policy)))
    expected = file.file_size or size
    if expected and expected > MAX_DOWNLOAD:
        raise FileTooBig()
    left -= time.monotonic() - started
    limit = download_timeout(expected, policy)
    data = await asyncio.wait_for(
        file.download_as_bytearray(read_timeout=policy.read_timeout_s), max(0.001, min(left, limit)))
    if expected and len(data) < expected:
        raise Truncated(f"got {len(data)} of {expected} bytes")
    return bytes(data)
