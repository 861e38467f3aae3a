"""Long polling that confirms an update to Telegram only after it was handled.

python-telegram-bot's Updater confirms a batch of updates (by asking for the
next offset) as soon as it has fetched it, so a bot killed mid-burst loses
every update it had fetched but not yet answered. Here the offset advances
only past updates whose handlers have finished, and the ids finished beyond
the offset are kept in a small state file: after a crash, Telegram sends the
unfinished updates again and the finished ones are recognised and skipped.
The file holds update ids only, never message content. getUpdates returns at
most 100 updates from the offset, so at most 100 updates past the oldest
unfinished one are in progress at a time.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

import ujson
from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application

from chatbot.delivery import answered
from chatbot.delivery.inflight import InFlight
from chatbot.delivery.retry import backoff, retry_delay
from durable import atomic_write

log = logging.getLogger(__name__)

IDLE_REPOLL = 0.3  # seconds to wait when Telegram only repeats updates still in progress


class ConfirmingPoller:
    def __init__(self, app: Application, state_path: Path, timeout: int,
                 on_error: Callable[[Exception], None] | None = None) -> None:
        self.app = app
        self.state_path = state_path
        self.timeout = timeout
        self.on_error = on_error
        self.offset: int | None = None
        self._busy: set[int] = set()       # fetched, handlers still running
        self._done: set[int] = set()       # handled, not yet confirmed to Telegram
        self._high = -1                    # highest update id fetched by this run
        self._handlers = InFlight()
        self._fetcher: asyncio.Task | None = None
        self._saving: asyncio.Task | None = None
        self._dirty = False

    @property
    def polling(self) -> bool:
        return self._fetcher is not None and not self._fetcher.done()

    @property
    def in_progress(self) -> int:
        return len(self._busy)

    def _load(self) -> None:
        """The previous run's offset and handled ids, if it was this bot (ids are per bot)."""
        try:
            state = ujson.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return
        if state.get("bot_id") == self.app.bot.id:
            self.offset = state.get("offset")
            self._done = {int(i) for i in state.get("done", [])}

    async def start(self) -> None:
        self._load()
        # A webhook left over from a production run would make getUpdates fail with 409.
        await self.app.bot.delete_webhook(drop_pending_updates=False)
        self._fetcher = asyncio.create_task(self._fetch_forever())

    async def stop(self, grace: float) -> bool:
        """Stop fetching, let running handlers finish, confirm what was handled."""
        if self._fetcher:
            self._fetcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._fetcher
        finished = await self._handlers.drain(grace)
        if self.offset is not None:
            with contextlib.suppress(TelegramError):
                await self.app.bot.get_updates(offset=self.offset, timeout=0, limit=1)
        await self._save()
        return finished

    async def _fetch_forever(self) -> None:
        failures = 0  # network errors in a row
        while True:
            try:
                updates = await self.app.bot.get_updates(offset=self.offset, timeout=self.timeout,
                                                         allowed_updates=Update.ALL_TYPES)
            except (InvalidToken, Conflict) as exc:
                # A wrong token or another instance polling: nothing to retry quickly.
                self._report(exc)
                await asyncio.sleep(30)
                continue
            except RetryAfter as exc:
                self._report(exc)
                await asyncio.sleep(retry_delay(exc))
                continue
            except NetworkError as exc:
                self._report(exc)
                failures += 1
                await asyncio.sleep(backoff(1.0, failures, cap=30.0))
                continue
            failures = 0
            # Telegram sends ids in increasing order and a poll already in flight may
            # repeat updates we finished meanwhile: anything at or below the highest
            # id fetched in this run has been (or is being) handled.
            fresh = [u for u in updates if u.update_id > self._high and u.update_id not in self._done]
            if updates:
                self._high = max(self._high, updates[-1].update_id)
            for update in fresh:
                self._busy.add(update.update_id)
                self._handlers.spawn(self._handle(update))
            if updates:
                if self.offset is None:
                    self.offset = updates[0].update_id
                self._advance()  # e.g. past updates a previous run handled but could not confirm
            if updates and not fresh:
                await asyncio.sleep(IDLE_REPOLL)

    async def _handle(self, update: Update) -> None:
        try:
            with answered.handling(lambda: self._answered(update.update_id)):
                await self.app.process_update(update)
        except Exception as exc:  # the handlers' own error handler already ran
            log.error("update handling failed: %s", type(exc).__name__)
        finally:
            self._mark_done(update.update_id)

    def _mark_done(self, update_id: int) -> None:
        self._busy.discard(update_id)
        self._done.add(update_id)
        self._advance()

    async def _answered(self, update_id: int) -> None:
        """Its answer is out: done now, and on disk before the handler goes on (chatbot/delivery/answered.py)."""
        self._mark_done(update_id)
        if self._saving is not None:
            await asyncio.shield(self._saving)

    def _advance(self) -> None:
        """Move the offset to the oldest update still running (or past everything handled)."""
        if self._busy:
            floor = min(self._busy)
        elif self._done:
            floor = max(self._done) + 1
        else:
            return
        self.offset = max(self.offset or floor, floor)
        self._done = {i for i in self._done if i >= self.offset}
        self._dirty = True
        if self._saving is None or self._saving.done():
            self._saving = asyncio.create_task(self._save())

    async def _save(self) -> None:
        while True:
            self._dirty = False
            data = ujson.dumps({"bot_id": self.app.bot.id, "offset": self.offset,
                                "done": sorted(self._done)}).encode()
            try:
                await asyncio.to_thread(atomic_write, self.state_path, data)
            except OSError as exc:
                log.warning("could not save polling state: %s", type(exc).__name__)
            if not self._dirty:
                return

    def _report(self, exc: Exception) -> None:
        log.warning("getUpdates failed: %s", type(exc).__name__)
        if self.on_error:
            self.on_error(exc)
