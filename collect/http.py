"""A polite HTTP client for Wikimedia: one User-Agent, bounded concurrency, retries.

Wikimedia blocks anonymous or impatient clients, so every request goes through
here: a descriptive User-Agent, at most ``concurrency`` requests at once, and
429/5xx/network failures retried with exponential backoff that honours
Retry-After. 4xx answers other than 429 are final and raised at once.
"""
from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import ujson
from yarl import URL

from settings import ScrapeConfig

log = logging.getLogger(__name__)

MAX_BODY = 50 * 1024 * 1024     # a thumbnail is a few hundred KB; anything this big is wrong
MAX_WAIT_S = 600.0              # a Retry-After longer than this is capped, not obeyed blindly
RETRY_STATUSES = {429, 500, 502, 503, 504}


class FetchError(Exception):
    """A request that did not give a usable answer."""

    def __init__(self, url: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"{reason}: {url}")
        self.url, self.reason, self.status = url, reason, status


class PermanentError(FetchError):
    """The server said no for good (404, 403...): retrying will not help."""


class TransientError(FetchError):
    """Retries ran out on a 429/5xx or network error: a later run may succeed."""


@dataclass
class RequestStats:
    requests: int = 0           # attempts sent, retries included
    retried: int = 0            # attempts that were retries


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


class PoliteClient:
    """aiohttp session + semaphore + retry loop; use as ``async with``."""

    def __init__(self, config: ScrapeConfig) -> None:
        self.config = config
        self.stats = RequestStats()
        self._gate = asyncio.Semaphore(max(1, config.concurrency))
        self._session: aiohttp.ClientSession | None = None
        self._not_before: dict[str, float] = {}     # host -> monotonic time a 429 asked us to wait for

    async def __aenter__(self) -> "PoliteClient":
        self._session = aiohttp.ClientSession(
            headers={"User-Agent": self.config.user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=aiohttp.ClientTimeout(total=self.config.timeout_s),
            connector=aiohttp.TCPConnector(limit=max(1, self.config.concurrency)),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def get_json(self, url: str, params: dict[str, str] | None = None) -> Any:
        return self._json(url, await self.request("GET", url, params=params))

    async def post_json(self, url: str, data: dict[str, str], accept: str = "application/json") -> Any:
        body = await self.request("POST", url, data=data, headers={"Accept": accept})
        return self._json(url, body)

    async def get_bytes(self, url: str) -> bytes:
        return await self.request("GET", url)

    @staticmethod
    def _json(url: str, body: bytes) -> Any:
        try:
            return ujson.loads(body)
        except ValueError as exc:
            raise PermanentError(url, f"not JSON ({exc})") from None

    @staticmethod
    async def _body(url: str, resp: aiohttp.ClientResponse) -> bytes:
        """The whole body, refusing more than MAX_BODY (content.read(n) may return less than n)."""
        chunks, size = [], 0
        async for chunk in resp.content.iter_chunked(1 << 16):
            size += len(chunk)
            if size > MAX_BODY:
                raise PermanentError(url, "body too large", resp.status)
            chunks.append(chunk)
        return b"".join(chunks)

    async def _hold_off(self, host: str) -> None:
        delay = self._not_before.get(host, 0.0) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    async def request(self, method: str, url: str, **kwargs: Any) -> bytes:
        """The body of a 2xx answer, after up to ``retries`` retries."""
        assert self._session is not None, "use PoliteClient as an async context manager"
        attempts = max(0, self.config.retries) + 1
        for attempt in range(attempts):
            if attempt:
                self.stats.retried += 1
            self.stats.requests += 1
            wait: float | None = None
            host = URL(url).host or ""
            await self._hold_off(host)
            async with self._gate:
                try:
                    async with self._session.request(method, url, **kwargs) as resp:
                        if 200 <= resp.status < 300:
                            if (resp.content_length or 0) > MAX_BODY:
                                raise PermanentError(url, f"body of {resp.content_length} bytes", resp.status)
                            return await self._body(url, resp)
                        if resp.status not in RETRY_STATUSES:
                            raise PermanentError(url, f"HTTP {resp.status}", resp.status)
                        wait = retry_after(resp.headers.get("Retry-After"))
                        reason, status = f"HTTP {resp.status}", resp.status
                except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                    reason, status = f"{type(exc).__name__}: {exc}", None
            if attempt + 1 == attempts:
                raise TransientError(url, f"{reason} after {attempts} attempts", status)
            if wait is None:
                wait = self.config.backoff_s * 2 ** attempt * random.uniform(0.5, 1.5)
            wait = min(wait, MAX_WAIT_S)
            if status == 429:   # the whole host asked for a pause, not just this request
                self._not_before[host] = max(self._not_before.get(host, 0.0), time.monotonic() + wait)
            log.debug("retrying %s in %.1fs (%s)", url, wait, reason)
            await asyncio.sleep(wait)   # outside the semaphore: a waiting retry holds no slot
        raise AssertionError("unreachable")
