"""Webhook updates journaled before Telegram hears "200 OK", replayed after a crash.

Telegram forgets an update once the webhook answered 200. If the bot is then
killed (OOM, a deploy gone wrong, ``kill -9``), every update in flight would
be lost. So each accepted update is written to SQLite (chatbot/delivery/statedb.py)
and committed before the 200; it is marked done once its handlers returned.
On start, the updates not marked done are handled again. The update id is
the key, so Telegram's own re-deliveries (a 200 lost on the way back) are
recognised and not answered twice.

What is stored is a skeleton of the update: ids (update, message, chat,
user, file), the user's language, photo sizes, a document's type and size,
and a command or /lookalike tag. Names, usernames, message text and
captions are dropped; photo bytes never pass through here.

Nothing accepted may stop the bot. Every update is checked on the way in:
an update id that SQLite cannot store is malformed (400, never a 5xx that
Telegram would re-send for ever), and a skeleton that would not parse again
is kept as its id only, so it is answered live and never replayed. On
replay, an update that does not parse is marked failed and skipped, and one
that was already replayed MAX_REPLAYS times (its handling crashed the bot
each time) is given up, a photo with an apology: the bot always starts.

The window that remains: a crash after an answer reached Telegram but
before its "done" was committed answers that update twice on restart. The
update is marked done from inside the send (chatbot/delivery/answered.py),
so the window is the send's reply travelling back plus one commit.
"""
from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

import ujson
from telegram import Update
from telegram.ext import Application

from chatbot.delivery import answered
from chatbot.delivery.inflight import InFlight
from chatbot.delivery.statedb import StateDB
from chatbot.metrics import Metrics
from chatbot.tags import LOOKALIKE_TAG

log = logging.getLogger(__name__)

MESSAGE_KINDS = ("message", "edited_message", "channel_post", "edited_channel_post")
PHOTO_FIELDS = ("file_id", "file_unique_id", "width", "height", "file_size")
DOCUMENT_FIELDS = ("file_id", "file_unique_id", "mime_type", "file_size")
STICKER_FIELDS = ("file_id", "file_unique_id", "type", "width", "height", "is_animated", "is_video")
SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}$")
COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,32}(@\w{1,64})?")
TAG = re.compile(LOOKALIKE_TAG)
SQLITE_INTEGERS = range(-2**63, 2**63)
MAX_REPLAYS = 5  # an update whose handling killed the bot this often is given up (a crash loop of
# systemd restarts costs 5 starts; fewer gave up photos that were merely in progress at kills in a row)


class Malformed(ValueError):
    """Not an update Telegram would send: answered 400, never stored."""


def storable(value: Any) -> int | None:
    """An integer SQLite can hold (bool is not an id), else None."""
    return value if type(value) is int and value in SQLITE_INTEGERS else None


def _pick(obj: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: obj[k] for k in keys if isinstance(obj, dict) and k in obj}


def _user(user: Any) -> dict[str, Any]:
    """Enough of a user to answer in their language; the name is left out."""
    return {**_pick(user, ("id", "is_bot", "language_code")), "first_name": ""}


def _message(msg: Any, nested: bool = False) -> dict[str, Any]:
    out = _pick(msg, ("message_id", "date"))
    out["chat"] = _pick(msg.get("chat"), ("id", "type"))
    if isinstance(msg.get("from"), dict):  # channel posts and some service messages have none
        out["from"] = _user(msg["from"])
    if isinstance(msg.get("photo"), list):
        out["photo"] = [_pick(size, PHOTO_FIELDS) for size in msg["photo"]]
    if isinstance(msg.get("document"), dict):
        doc = msg["document"]
        out["document"] = _pick(doc, DOCUMENT_FIELDS)
        suffix = SUFFIX.search(str(doc.get("file_name") or ""))
        if suffix:  # the type is all the handlers read from the name
            out["document"]["file_name"] = "file" + suffix.group(0)
    if isinstance(msg.get("sticker"), dict):
        out["sticker"] = _pick(msg["sticker"], STICKER_FIELDS)
    if isinstance(msg.get("text"), str):
        command = COMMAND.match(msg["text"])
        out["text"] = command.group(0) if command else ""  # any other text gets the same answer
        if command:
            out["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command.group(0))}]
    if isinstance(msg.get("caption"), str):
        tag = TAG.search(msg["caption"])
        if tag:
            out["caption"] = tag.group(0).strip()
    if isinstance(msg.get("reply_to_message"), dict) and not nested:  # Telegram nests one level
        out["reply_to_message"] = _message(msg["reply_to_message"], nested=True)
    return out


def skeleton(data: dict[str, Any]) -> dict[str, Any]:
    """The update as the handlers need it to answer it again, and nothing personal beyond ids.

    Kinds of update the bot cannot usefully answer late (inline queries
    expire in seconds) keep only their id, and are not replayed.
    """
    out: dict[str, Any] = {"update_id": data["update_id"]}
    for kind in MESSAGE_KINDS:
        if isinstance(data.get(kind), dict):
            out[kind] = _message(data[kind])
    if isinstance(data.get("callback_query"), dict):
        query = data["callback_query"]
        out["callback_query"] = {**_pick(query, ("id", "chat_instance", "data")),
                                 "from": _user(query.get("from"))}
        if isinstance(query.get("message"), dict):
            out["callback_query"]["message"] = _message(query["message"])
    return out


def replayable(body: dict[str, Any]) -> bool:
    return len(body) > 1


def ids_of(body: dict[str, Any]) -> tuple[int | None, str | None]:
    """(chat id, file id of the largest photo or the document) of a skeleton, for the journal's columns."""
    msg = next((body[k] for k in MESSAGE_KINDS if k in body), None)
    if msg is None and "callback_query" in body:
        msg = body["callback_query"].get("message")
    if not msg:
        return None, None
    file_id = None
    if msg.get("photo"):
        file_id = msg["photo"][-1].get("file_id")
    elif msg.get("document"):
        file_id = msg["document"].get("file_id")
    return storable(msg.get("chat", {}).get("id")), file_id if isinstance(file_id, str) else None


class JournalRow(NamedTuple):
    update_id: int
    chat_id: int | None
    file_id: str | None
    body: str
    replayable: bool


def journal_row(data: dict[str, Any]) -> JournalRow:
    """The update as the journal stores it; raises Malformed.

    The body is kept only if it parses back into an update: what cannot be
    replayed is kept as its id, handled live and never replayed.
    """
    update_id = storable(data.get("update_id"))
    if update_id is None or update_id < 0:
        raise Malformed("update_id is not an integer SQLite can store")
    try:
        body = skeleton(data)
        Update.de_json(body, None)  # what replay will do with it
        text = ujson.dumps(body)
        chat_id, file_id = ids_of(body)
    except Exception:  # noqa: BLE001 - any structural surprise: keep the id, never the update
        return JournalRow(update_id, None, None, ujson.dumps({"update_id": update_id}), False)
    return JournalRow(update_id, chat_id, file_id, text, replayable(body))


class UpdateJournal:
    def __init__(self, db: StateDB, keep_s: float) -> None:
        self.db = db
        self.keep_s = keep_s

    async def accept(self, data: dict[str, Any]) -> bool:
        """Record an update durably; False if it was seen before (a re-delivery).

        Raises Malformed for what no handling can use, sqlite3 errors while the disk can't take it.
        """
        return await self.store(journal_row(data))

    async def store(self, row: JournalRow) -> bool:
        values = (row.update_id, row.chat_id, row.file_id, row.body, time.time())

        def insert(conn: sqlite3.Connection) -> bool:
            cur = conn.execute("INSERT OR IGNORE INTO updates (update_id, chat_id, file_id, body, accepted) "
                               "VALUES (?, ?, ?, ?, ?)", values)
            return cur.rowcount == 1
        return await self.db.run(insert)

    async def finish(self, update_id: int, failed: str | None = None) -> None:
        """Done (``failed``: given up, and why, by kind); the first mark wins."""
        await self.db.run(lambda conn: conn.execute(
            "UPDATE updates SET done = ?, failed = ? WHERE update_id = ? AND done IS NULL",
            (time.time(), failed, update_id)))

    async def unfinished(self) -> list[tuple[int, str, int]]:
        """(update id, body, times replayed including this one) of what a previous run left open."""
        def take(conn: sqlite3.Connection) -> list[tuple[int, str, int]]:
            with conn:  # counted before handling: a replay that kills the bot still counts
                conn.execute("UPDATE updates SET attempts = attempts + 1 WHERE done IS NULL")
                return conn.execute("SELECT update_id, body, attempts FROM updates WHERE done IS NULL "
                                    "ORDER BY update_id").fetchall()
        return await self.db.run(take)

    async def prune(self) -> int:
        """Forget answered updates older than keep_s: Telegram stops re-delivering long before."""
        cutoff = time.time() - self.keep_s
        return await self.db.run(lambda conn: conn.execute(
            "DELETE FROM updates WHERE done IS NOT NULL AND done < ?", (cutoff,)).rowcount)


class JournaledDispatch:
    """Hands webhook updates to the Application, each journaled until its answer is out."""

    def __init__(self, app: Application, journal: UpdateJournal, metrics: Metrics,
                 give_up: Callable[[Update], Awaitable[None]] | None = None) -> None:
        """``give_up``: what the user gets for an update given up after MAX_REPLAYS (an apology)."""
        self.app = app
        self.journal = journal
        self.metrics = metrics
        self.give_up = give_up
        self._handlers = InFlight()

    @property
    def in_progress(self) -> int:
        return len(self._handlers)

    async def accept(self, data: dict[str, Any], update: Update) -> bool:
        """Journal, then handle in the background; False (and nothing done) for a re-delivery.

        Raises Malformed (the webhook answers 400) or a sqlite3 error when the
        journal cannot be written (500: Telegram delivers the update again later).
        """
        row = journal_row(data)
        if not await self.journal.store(row):
            return False
        if not row.replayable:
            self.metrics.errors.labels("journal_unreplayable").inc()
        self._spawn(update)
        return True

    async def replay(self) -> int:
        """Handle again what a previous run accepted but did not finish; nothing here can stop the start."""
        count = 0
        for update_id, body, attempts in await self.journal.unfinished():
            kind = None
            try:
                data = ujson.loads(body)
                if not replayable(data):
                    await self.journal.finish(update_id)
                    continue
                update = Update.de_json(data, self.app.bot)
                if attempts > MAX_REPLAYS:
                    kind = "replayed_too_often"
                    if self.give_up is not None:
                        await self.give_up(update)
                else:
                    self._spawn(update)
                    count += 1
            except Exception as exc:  # noqa: BLE001 - a body no handler can take
                kind = type(exc).__name__
            if kind is not None:
                self.metrics.errors.labels(f"replay_{kind}").inc()
                log.error("journaled update given up on replay: %s", kind)
                await self.journal.finish(update_id, failed=kind)
        if count:
            log.info("replaying %d update(s) a previous run accepted but did not answer", count)
        return count

    def handle_live(self, update: Update) -> None:
        """Handle an update the journal could not take, without its crash safety."""
        self._handlers.spawn(self.app.process_update(update))

    def _spawn(self, update: Update) -> None:
        self._handlers.spawn(self._handle(update))

    async def _handle(self, update: Update) -> None:
        failed = None
        try:
            with answered.handling(lambda: self._finish(update.update_id)):
                await self.app.process_update(update)
        except asyncio.CancelledError:
            raise  # not done: replayed on the next start
        except Exception as exc:  # the handlers' own error handler already ran
            failed = type(exc).__name__
            log.error("update handling failed: %s", failed)
        await self._finish(update.update_id, failed)

    async def _finish(self, update_id: int, failed: str | None = None) -> None:
        try:
            await self.journal.finish(update_id, failed)
        except sqlite3.Error as exc:
            log.error("could not mark an update done (%s): it may be answered again after a restart",
                      type(exc).__name__)

    async def stop(self, grace: float) -> bool:
        """Let running updates finish; the rest stay unfinished in the journal for the next start."""
        return await self._handlers.drain(grace, cancel=True)
