"""Webhook mode: setWebhook/deleteWebhook, and delivering updates by POST as Telegram does
(in order per chat, at most max_connections at once, retried while the bot does not answer 2xx)."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from typing import Any

import aiohttp

from .models import WebhookDelivery
from .protocol import bad, update_type
from .updates import allowed

_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def chat_key(update: dict[str, Any]) -> Any:
    """The chat an update belongs to: Telegram keeps webhook deliveries ordered per chat."""
    body = update.get(update_type(update))
    if isinstance(body, dict):
        if isinstance(body.get("chat"), dict):
            return body["chat"].get("id")
        if isinstance(body.get("message"), dict):
            return body["message"].get("chat", {}).get("id")
        if isinstance(body.get("from"), dict):
            return ("user", body["from"].get("id"))
    return ("update", update.get("update_id"))


class Webhook:
    """The webhook's settings, its delivery pump, and raw POSTs to it for the tests."""

    webhook_retries: int
    webhook_retry_delay: float
    webhook_timeout: float
    webhook_max_delay: float
    _lock: threading.RLock
    _pending: list[dict[str, Any]]
    _closing: bool
    _loop: asyncio.AbstractEventLoop | None
    _session: aiohttp.ClientSession | None
    _pump_event: asyncio.Event | None
    _delivery_tasks: set[asyncio.Task[None]]

    def __init__(self) -> None:
        self._webhook: dict[str, Any] | None = None
        self._deliveries: list[WebhookDelivery] = []
        self._in_flight: dict[int, Any] = {}  # update_id -> chat key; owned by the server thread

    async def _setWebhook(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        url = p.get("url") or ""
        if url and not str(url).startswith(("http://", "https://")):
            raise bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.get("secret_token")
        if secret is not None and not _SECRET.match(str(secret)):
            raise bad("secret token contains unallowed characters")
        max_connections = int(p.get("max_connections") or 40)
        if not 1 <= max_connections <= 100:
            raise bad("invalid max_connections")
        wanted = p.get("allowed_updates")
        with self._lock:
            if p.get("drop_pending_updates"):
                self._pending.clear()
            if not url:
                self._webhook = None
            else:
                old = self._webhook or {}
                self._webhook = {
                    "url": url,
                    "secret_token": secret,
                    "max_connections": max_connections,
                    "allowed_updates": wanted if isinstance(wanted, list) and wanted else old.get("allowed_updates"),
                }
            self._changed()
        return True

    async def _deleteWebhook(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        with self._lock:
            if p.get("drop_pending_updates"):
                self._pending.clear()
            self._webhook = None
            self._changed()
        return True

    async def _webhook_pump(self) -> None:
        assert self._pump_event is not None
        while True:
            await self._pump_event.wait()
            self._pump_event.clear()
            self._dispatch_webhook()

    def _dispatch_webhook(self) -> None:
        """Start deliveries: one at a time per chat, at most max_connections at once."""
        with self._lock:
            hook = self._webhook
            if hook is None or self._closing:
                return
            self._pending = [u for u in self._pending if allowed(u, hook["allowed_updates"])]
            busy = set(self._in_flight.values())
            for update in list(self._pending):
                uid = update["update_id"]
                key = chat_key(update)
                if uid in self._in_flight or key in busy:
                    busy.add(key)
                    continue
                if len(self._in_flight) >= hook["max_connections"]:
                    break
                busy.add(key)
                self._in_flight[uid] = key
                task = asyncio.get_running_loop().create_task(self._deliver(update, hook))
                self._delivery_tasks.add(task)
                task.add_done_callback(self._delivery_tasks.discard)

    async def _deliver(self, update: dict[str, Any], hook: dict[str, Any]) -> None:
        assert self._session is not None
        uid = update["update_id"]
        headers = {"X-Telegram-Bot-Api-Secret-Token": hook["secret_token"]} if hook["secret_token"] else {}
        try:
            for attempt in range(1, self.webhook_retries + 2):
                with self._lock:
                    if self._webhook is not hook or self._closing:
                        return  # the mode changed: the update stays pending for the new one
                status, error = None, None
                try:
                    async with self._session.post(
                        hook["url"], json=update, headers=headers,
                        timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
                    ) as resp:
                        status = resp.status
                        await resp.read()
                except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                    error = f"{type(exc).__name__}: {exc}"
                delivery = WebhookDelivery(uid, attempt, status, time.monotonic(), error)
                with self._lock:
                    self._deliveries.append(delivery)
                    if delivery.ok:
                        self._pending = [u for u in self._pending if u["update_id"] != uid]
                    self._changed()
                    if delivery.ok:
                        return
                if attempt <= self.webhook_retries:
                    await asyncio.sleep(min(self.webhook_retry_delay * attempt, self.webhook_max_delay))
            with self._lock:  # Telegram gives up eventually; the fake gives up quickly
                self._pending = [u for u in self._pending if u["update_id"] != uid]
        finally:
            with self._lock:
                self._in_flight.pop(uid, None)
                self._changed()

    async def post_to_webhook_async(
        self, body: bytes | dict[str, Any], headers: dict[str, str] | None = None, url: str | None = None
    ) -> tuple[int, bytes]:
        """POST anything to the webhook (for 403/oversize tests); returns (status, body)."""
        if self._loop is None:
            raise RuntimeError("FakeTelegram is not started")
        return await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(self._post_raw(body, headers, url), self._loop)
        )

    async def _post_raw(
        self, body: bytes | dict[str, Any], headers: dict[str, str] | None, url: str | None
    ) -> tuple[int, bytes]:
        assert self._session is not None
        target = url or self.webhook_url
        if not target:
            raise RuntimeError("no webhook set and no url given")
        all_headers = dict(headers or {})
        if isinstance(body, dict):
            data = json.dumps(body).encode()
            all_headers.setdefault("Content-Type", "application/json")
        else:
            data = body
        async with self._session.post(
            target, data=data, headers=all_headers, timeout=aiohttp.ClientTimeout(total=self.webhook_timeout)
        ) as resp:
            return resp.status, await resp.read()
