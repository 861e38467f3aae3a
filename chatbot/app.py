"""Assemble and run the bot: pool, index, Application, HTTP server, signals.

``BotRunner`` is used by bot.py and by the tests (which run it inside their
own event loop against the fake Bot API), so both run the same start-up and
shutdown sequence.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import signal

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, BaseRateLimiter, ContextTypes, Defaults
from telegram.request import BaseRequest

from chatbot.delivery.fileids import FileIdCache
from chatbot.delivery.http import HttpServer
from chatbot.delivery.inflight import InFlight
from chatbot.delivery.journal import JournaledDispatch, UpdateJournal
from chatbot.delivery.polling import ConfirmingPoller
from chatbot.delivery.prefs import LanguagePrefs
from chatbot.delivery.ratelimit import ChatRateLimiter
from chatbot.delivery.statedb import StateDB
from chatbot.deps import KEY, Context, Deps
from chatbot.flow.live_index import LiveIndex
from chatbot.flow.photos import PhotoService
from chatbot.flow.results import ResultStore
from chatbot.metrics import Metrics
from chatbot.redact import add_secrets
from chatbot.ui import photos as photo_replies
from chatbot.ui import routes
from chatbot.ui.menus import publish_menus
from search.index import FaceIndex
from settings import Config, TelegramConfig
from worker.pool import FacePool

log = logging.getLogger(__name__)


def build_application(token: str, tg: TelegramConfig, rate_limiter: BaseRateLimiter | None = None,
                      request: BaseRequest | None = None) -> Application:
    """The Application with the bot's handlers, defaults and context; ``request`` is the tests' offline seam."""
    builder = (ApplicationBuilder().token(token)
               .base_url(tg.base_url).base_file_url(tg.base_file_url)
               # every reply: HTML, quoting the message it answers (also when that one is gone)
               .defaults(Defaults(parse_mode=ParseMode.HTML, do_quote=True, allow_sending_without_reply=True))
               .context_types(ContextTypes(context=Context))
               .concurrent_updates(True)
               .updater(None))  # polling is ours (chatbot/delivery/polling.py), the webhook too
    if rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)
    if request is not None:  # the offline seam answers getUpdates too
        builder = builder.request(request).get_updates_request(request)
    app = builder.build()
    routes.register(app)
    return app


class BotRunner:
    def __init__(self, config: Config, token: str, webhook_secret: str | None = None,
                 pool: FacePool | None = None) -> None:
        """``pool``: a worker pool to use instead of starting one; its owner closes it (tests, benchmarks)."""
        self.config = config
        self.token = token
        self.webhook_secret = webhook_secret
        self.webhook = bool(config.telegram.webhook.url)
        self.metrics = Metrics()
        self.pool: FacePool | None = pool
        self._own_pool = pool is None
        self.index: LiveIndex | None = None
        self.deps: Deps | None = None
        self.app: Application | None = None
        self.http: HttpServer | None = None
        self.poller: ConfirmingPoller | None = None
        self.db: StateDB | None = None
        self.dispatch: JournaledDispatch | None = None
        self._ready = False
        self._stopped = False
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    # -- start-up ------------------------------------------------------------
    async def start(self) -> None:
        cfg = self.config
        tg = cfg.telegram
        if self.pool is None:
            self.pool = FacePool(cfg.engine, cfg.pool)
        self.index = LiveIndex(cfg, await asyncio.to_thread(FaceIndex.load, cfg))
        gallery = self.index.current.gallery
        self.metrics.gallery_faces.set(len(gallery))
        warm = asyncio.create_task(asyncio.to_thread(self.pool.warm_up))

        self.app = build_application(self.token, tg, ChatRateLimiter(tg.limits, on_retry=self._count_retry))
        results = ResultStore(tg.results_ttl_s, tg.max_results)
        photos = PhotoService(cfg, self.pool, self.index, results, self.app.bot)
        self.deps = Deps(photos, results, self.metrics, tg, cfg.engine.detect_size, cfg.similarity.strong_match,
                         InFlight())
        self.app.bot_data[KEY] = self.deps
        self.metrics.watch(lambda: photos.in_progress, lambda: self.pool.pending)

        if tg.webhook.port or self.webhook:
            self.http = HttpServer(tg.webhook, self.app, self.metrics, self.health, self.webhook_secret,
                                   webhook=self.webhook)
            await self.http.start()
        await self.app.initialize()
        self.db = StateDB(cfg.paths.assets / tg.state_db, self.app.bot.id)
        await self.db.open()
        # per-bot state, known once getMe answered (in initialize), and the native menus
        self.deps.fileids = FileIdCache(cfg.paths.assets / "telegram_file_ids.json", self.app.bot.id)
        self.deps.username = self.app.bot.username or "lookalike_bot"
        self.deps.prefs = await LanguagePrefs.load(self.db)
        if self.webhook:
            await self._webhook_secret()
        await publish_menus(self.app.bot)
        await self.app.start()
        if self.webhook:
            journal = UpdateJournal(self.db, tg.journal_keep_s)
            self.dispatch = JournaledDispatch(self.app, journal, self.metrics,
                                              give_up=lambda update: photo_replies.given_up(update, self.deps))
            await journal.prune()
            await self.dispatch.replay()  # what a crashed run accepted but did not answer
            self.http.intake = self.dispatch
            await self.app.bot.set_webhook(tg.webhook.url, secret_token=self.webhook_secret,
                                           allowed_updates=Update.ALL_TYPES,
                                           max_connections=tg.webhook.max_connections)
        else:
            self.poller = ConfirmingPoller(self.app, cfg.paths.assets / "telegram_updates.json",
                                           tg.polling_timeout, on_error=self._polling_error)
            await self.poller.start()
        await warm
        self._tasks.append(asyncio.create_task(self._watch_gallery()))
        if self.dispatch:
            self._tasks.append(asyncio.create_task(self._prune_journal(self.dispatch.journal)))
        self._ready = True
        log.info("bot ready (%s): %d faces of %d people, %d workers", "webhook" if self.webhook else "polling",
                 len(gallery), len(gallery.people), self.pool.workers)

    async def _webhook_secret(self) -> None:
        """WEBHOOK_SECRET, or one made on the first start and kept in the state store: never an open webhook.

        The bot registers its own webhook, so the secret need not be known to anyone
        else; keeping it lets a restart re-register the same one, and updates Telegram
        signed with it before the restart are still taken.
        """
        if not self.webhook_secret:
            self.webhook_secret = await self.db.setting("webhook_secret", lambda: secrets.token_urlsafe(32))
            log.info("webhook secret: generated once, kept in %s", self.config.telegram.state_db)
        add_secrets([self.webhook_secret])
        self.http.set_secret(self.webhook_secret)

    def health(self) -> dict | None:
        if not self._ready:
            return None
        gallery = self.index.current.gallery
        return {"faces": len(gallery), "people": len(gallery.people), "workers": self.pool.workers,
                "in_progress": self.deps.photos.in_progress}

    def _count_retry(self, method: str) -> None:
        self.metrics.retries.labels(method).inc()

    def _polling_error(self, exc: Exception) -> None:
        self.metrics.errors.labels(f"polling_{type(exc).__name__}").inc()
        log.warning("getUpdates failed: %s", type(exc).__name__)

    # -- running ---------------------------------------------------------------
    async def reload(self, force: bool = True) -> bool:
        swapped = await self.index.reload(force=force)
        if swapped:
            self.metrics.gallery_faces.set(len(self.index.current.gallery))
        return swapped

    async def _watch_gallery(self) -> None:
        while True:
            await asyncio.sleep(self.config.telegram.reload_check_s)
            await self.reload(force=False)

    async def _prune_journal(self, journal: UpdateJournal) -> None:
        """Hourly: answered update ids older than journal_keep_s are of no more use."""
        while True:
            await asyncio.sleep(3600)
            try:
                await journal.prune()
            except Exception as exc:  # a full disk must not stop the bot
                log.warning("journal prune failed: %s", type(exc).__name__)

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self._stop.set)
        loop.add_signal_handler(signal.SIGINT, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: self._tasks.append(asyncio.create_task(self.reload())))

    async def serve_forever(self) -> None:
        self.install_signal_handlers()  # a SIGTERM during start-up still stops cleanly
        await self.start()
        try:
            await self._stop.wait()
        finally:
            await self.stop()

    # -- shutdown ----------------------------------------------------------------
    async def stop(self) -> None:
        """Stop taking updates, answer the photos in progress, then exit; a second call does nothing."""
        if self._stopped:
            return
        self._stopped = True
        answering = self.deps.answering if self.deps else InFlight()
        log.info("stopping: no new updates; finishing %d photo(s) in progress", len(answering))
        self._ready = False
        if self.http:
            self.http.accepting = False
        grace = self.config.telegram.shutdown_grace_s
        if self.poller and not await self.poller.stop(grace):
            log.warning("shutdown grace period over with updates unhandled; they will be fetched again")
        if not await answering.drain(grace):
            log.warning("shutdown grace period over with %d photo(s) unanswered", len(answering))
        if self.dispatch and not await self.dispatch.stop(grace=5.0):
            log.warning("updates left unfinished in the journal; they are handled on the next start")
        for task in self._tasks:
            task.cancel()
        if self.app:
            if self.app.running:
                await self.app.stop()
            await self.app.shutdown()
        if self.deps and self.deps.fileids:
            await self.deps.fileids.flush()
        if self.http:
            await self.http.stop()
        if self.db:
            await self.db.close()
        if self.pool and self._own_pool:
            await asyncio.to_thread(self.pool.close)
        log.info("stopped")
