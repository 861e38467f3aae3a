"""A polite HTTP client for Wikimedia: the operator's User-Agent, bounded concurrency, retries.

Wikimedia blocks anonymous or impatient clients, so every request goes through
here: a User-Agent with a contact (collect/agent.py), at most ``concurrency``
requests at once, downloads paced to ``download_mbps``, and transient answers
retried with exponential backoff that honours Retry-After. What counts as
transient is the caller's to say (a ``Reader``): the Action API reports
``maxlag`` in a 200, WDQS reports its query time-out as a 500 that must not be
retried. A host asking for a pause longer than ``max_wait_s`` is left alone
for the rest of the run (HostPaused) instead of being asked again early.
"""
from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, TypeVar

import aiohttp
import ujson
from yarl import URL

from collect.agent import user_agent
from collect.rate import ByteRate
from settings import ScrapeConfig

log = logging.getLogger(__name__)

MAX_BODY = 50 * 1024 * 1024     # a thumbnail is a few hundred KB; anything this big is wrong
RETRY_STATUSES = {429, 500, 502, 503, 504}
T = TypeVar("T")


class FetchError(Exception):
    """A request that did not give a usable answer."""

    def __init__(self, url: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"{reason}: {url}")
        self.url, self.reason, self.status = url, reason, status


class PermanentError(FetchError):
    """The server said no for good (404, 403...): retrying will not help."""


class TimedOut(PermanentError):
    """No answer within the time allowed, for a request the caller said not to repeat."""


class TransientError(FetchError):
    """Retries ran out on a 429/5xx or network error: a later run may succeed."""


class HostPaused(TransientError):
    """The host asked for a pause longer than ``max_wait_s``: nothing more is sent to it this run."""


class Retry(Exception):
    """Raised by a Reader: this answer is transient; ask again after ``wait`` (None: backoff)."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.wait = reason, wait


@dataclass(frozen=True)
class Answer:
    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes


Reader = Callable[[Answer], T]


@dataclass
class RequestStats:
    requests: int = 0           # attempts sent, retries included
    retried: int = 0            # attempts that were retries
    by_host: Counter = field(default_factory=Counter)   # attempts per host:port
    downloaded: int = 0         # body bytes of downloads (get_bytes)


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def raw(answer: Answer) -> bytes:
    """The default Reader: 2xx is the body, 429/5xx are transient, anything else is final."""
    if 200 <= answer.status < 300:
        return answer.body
    if answer.status in RETRY_STATUSES:
        raise Retry(f"HTTP {answer.status}", retry_after(answer.headers.get("Retry-After")))
    raise PermanentError(answer.url, f"HTTP {answer.status}", answer.status)


def json_body(answer: Answer) -> Any:
    """Reader for JSON answers."""
    body = raw(answer)
    try:
        return ujson.loads(body)
    except ValueError as exc:
        raise PermanentError(answer.url, f"not JSON ({exc})", answer.status) from None


def authority(url: str) -> str:
    """"host:port": the unit that Retry-After pauses and that the stats count."""
    u = URL(url)
    return f"{u.host}:{u.port}"


class PoliteClient:
    """aiohttp session + semaphore + retry loop; use as ``async with``."""

    def __init__(self, config: ScrapeConfig) -> None:
        self.config = config
        self.user_agent = user_agent(config.contact)     # raises NoContact before anything is sent
        self.stats = RequestStats()
        self._gate = asyncio.Semaphore(max(1, config.concurrency))
        self._rate = ByteRate(config.download_mbps)
        self._session: aiohttp.ClientSession | None = None
        self._not_before: dict[str, float] = {}     # host -> monotonic time it asked us to wait for
        self._paused: dict[str, str] = {}           # host -> why nothing more is sent to it

    async def __aenter__(self) -> "PoliteClient":
        self._session = aiohttp.ClientSession(
            headers={"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate"},
            connector=aiohttp.TCPConnector(limit=max(1, self.config.concurrency)),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def get_json(self, url: str, params: dict[str, str] | None = None, read: Reader = json_body) -> Any:
        return await self.fetch("GET", url, read, params=params)

    async def get_bytes(self, url: str) -> bytes:
        """A download (a thumbnail URL as the API gave it, already percent-encoded), paced."""
        return await self.fetch("GET", URL(url, encoded=True), raw, download=True)

    async def _body(self, url: str, resp: aiohttp.ClientResponse, download: bool) -> bytes:
        """The whole body, refusing more than MAX_BODY (content.read(n) may return less than n)."""
        if (resp.content_length or 0) > MAX_BODY:
            raise PermanentError(url, f"body of {resp.content_length} bytes", resp.status)
        chunks, size = [], 0
        async for chunk in resp.content.iter_chunked(1 << 16):
            size += len(chunk)
            if size > MAX_BODY:
                raise PermanentError(url, "body too large", resp.status)
            chunks.append(chunk)
            if download:
                self.stats.downloaded += len(chunk)
                await self._rate.take(len(chunk))
        return b"".join(chunks)

    async def _hold_off(self, host: str) -> None:
        delay = self._not_before.get(host, 0.0) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    def _pause(self, host: str, url: str, wait: float) -> HostPaused:
        until = time.strftime("%H:%M", time.localtime(time.time() + wait))
        self._paused[host] = (f"{host} asked for a {wait:.0f} s pause (more than max_wait_s = "
                              f"{self.config.max_wait_s:.0f} s); run again after {until}")
        return HostPaused(url, self._paused[host])

    async def fetch(self, method: str, url: str | URL, read: Reader[T] = raw, *, timeout_s: float | None = None,
                    retry_timeouts: bool = True, download: bool = False, **kwargs: Any) -> T:
        """``read`` applied to the answer, after up to ``retries`` retries of what it calls transient."""
        assert self._session is not None, "use PoliteClient as an async context manager"
        text = str(url)
        host = authority(text)
        timeout = aiohttp.ClientTimeout(total=timeout_s or self.config.timeout_s)
        attempts = max(0, self.config.retries) + 1
        for attempt in range(attempts):
            if host in self._paused:
                raise HostPaused(text, self._paused[host])
            await self._hold_off(host)
            if attempt:
                self.stats.retried += 1
            self.stats.requests += 1
            self.stats.by_host[host] += 1
            wait: float | None = None
            async with self._gate:
                try:
                    async with self._session.request(method, url, timeout=timeout, **kwargs) as resp:
                        ok = 200 <= resp.status < 300
                        answer = Answer(text, resp.status, resp.headers, await self._body(text, resp, download and ok))
                    return read(answer)
                except Retry as exc:
                    reason, wait, status = exc.reason, exc.wait, answer.status
                except asyncio.TimeoutError:
                    if not retry_timeouts:
                        raise TimedOut(text, f"no answer within {timeout.total:.0f} s") from None
                    reason, status = "timed out", None
                except aiohttp.ClientError as exc:
                    reason, status = f"{type(exc).__name__}: {exc}", None
            if wait is not None and wait > self.config.max_wait_s:
                raise self._pause(host, text, wait)
            if attempt + 1 == attempts:
                raise TransientError(text, f"{reason} after {attempts} attempts", status)
            if wait is None:
                wait = self.config.backoff_s * 2 ** attempt * random.uniform(0.5, 1.5)
            else:   # the server asked: the whole host pauses, not just this request
                self._not_before[host] = max(self._not_before.get(host, 0.0), time.monotonic() + wait)
            log.debug("retrying %s in %.1fs (%s)", text, wait, reason)
            await asyncio.sleep(wait)   # outside the semaphore: a waiting retry holds no slot
        raise AssertionError("unreachable")
