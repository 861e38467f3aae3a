"""The bot's HTTP server: Telegram's webhook, /healthz and /metrics.

Our own aiohttp server rather than python-telegram-bot's run_webhook
(tornado): we need /healthz and /metrics on the same port, a body size limit,
ujson parsing, a constant-time secret check, and control over the moment we
stop accepting updates during a graceful shutdown.

The webhook never runs open: until the secret is known (it may come from the
state store, chatbot/app.py) every post is refused. Its answers by class, as
Telegram reads them (it re-sends on anything but 2xx):

- 200: taken, a re-delivery, or taken without the journal when the journal
  refused it for a reason that would not pass (handled live, not crash-safe);
- 400 malformed, 413 too large, 403 wrong secret: permanent, no 5xx;
- 500 journal unavailable (locked, disk full or failing), 503 starting or
  stopping: conditions that pass, so a re-delivery is what we want.
"""
from __future__ import annotations

import hmac
import logging
import sqlite3
from collections.abc import Callable

import ujson
from aiohttp import web
from telegram import Update
from telegram.ext import Application

from chatbot.delivery.journal import JournaledDispatch, Malformed
from chatbot.metrics import Metrics
from settings import WebhookConfig

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class HttpServer:
    def __init__(self, config: WebhookConfig, app: Application, metrics: Metrics,
                 ready: Callable[[], dict | None], secret: str | None, webhook: bool) -> None:
        self.config = config
        self.app = app
        self.metrics = metrics
        self.ready = ready
        self.secret: bytes | None = None
        self.set_secret(secret)
        self.accepting = True
        self.intake: JournaledDispatch | None = None  # set once the journal is open
        web_app = web.Application(client_max_size=config.max_body)
        web_app.router.add_get("/healthz", self.healthz)
        web_app.router.add_get("/metrics", self.metrics_page)
        if webhook:
            web_app.router.add_post(config.path, self.webhook)
        self._runner = web.AppRunner(web_app, access_log=None)
        self.port: int | None = None

    def set_secret(self, secret: str | None) -> None:
        self.secret = secret.encode() if secret else None

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.listen, self.config.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # the real port when 0 was asked
        log.info("HTTP server on %s:%d", self.config.listen, self.port)

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def healthz(self, request: web.Request) -> web.Response:
        state = self.ready()
        if state is None:
            return web.json_response({"status": "starting"}, status=503, dumps=ujson.dumps)
        return web.json_response({"status": "ok", **state}, dumps=ujson.dumps)

    async def metrics_page(self, request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.render(), headers={"Content-Type": self.metrics.content_type})

    async def webhook(self, request: web.Request) -> web.Response:
        if self.secret is None:  # not known yet: nothing can be checked, so nothing is taken
            return web.Response(status=503, text="starting")
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.secret):
            self.metrics.errors.labels("webhook_forbidden").inc()
            return web.Response(status=403, text="forbidden")
        if not self.accepting:
            return web.Response(status=503, text="shutting down")  # Telegram retries later
        if request.content_length is not None and request.content_length > self.config.max_body:
            self.metrics.errors.labels("webhook_too_large").inc()
            return web.Response(status=413, text="too large")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            self.metrics.errors.labels("webhook_too_large").inc()
            return web.Response(status=413, text="too large")
        try:
            data = ujson.loads(body)
            if not isinstance(data, dict) or type(data.get("update_id")) is not int:
                raise ValueError("not an update")
            update = Update.de_json(data, self.app.bot)
        except Exception:
            self.metrics.errors.labels("webhook_malformed").inc()
            return web.Response(status=400, text="malformed update")
        if self.intake is None:
            return web.Response(status=503, text="starting")  # Telegram retries later
        try:
            fresh = await self.intake.accept(data, update)  # durable before the 200; handled in the background
        except Malformed:
            self.metrics.errors.labels("webhook_malformed").inc()
            return web.Response(status=400, text="malformed update")
        except sqlite3.OperationalError as exc:  # locked, full, failing disk: it passes
            self.metrics.errors.labels(f"journal_{type(exc).__name__}").inc()
            log.error("could not journal an update (%s); Telegram will deliver it again", type(exc).__name__)
            return web.Response(status=500, text="journal unavailable")
        except Exception as exc:  # noqa: BLE001 - would fail again on every re-delivery
            self.metrics.errors.labels(f"journal_unstorable_{type(exc).__name__}").inc()
            log.error("update not journaled (%s); answering it without crash safety", type(exc).__name__)
            self.intake.handle_live(update)
            return web.Response(text="ok")
        if not fresh:
            self.metrics.errors.labels("webhook_redelivery").inc()
        return web.Response(text="ok")
