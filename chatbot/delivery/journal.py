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

The window that remains: a crash after a reply was sent but before its
"done" was committed answers that update twice on restart.
"""
from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import time
from typing import Any

import ujson
from telegram import Update
from telegram.ext import Application

from chatbot.delivery.inflight import InFlight
from chatbot.delivery.statedb import StateDB
from chatbot.tags import LOOKALIKE_TAG

log = logging.getLogger(__name__)

MESSAGE_KINDS = ("message", "edited_message", "channel_post", "edited_channel_post")
PHOTO_FIELDS = ("file_id", "file_unique_id", "width", "height", "file_size")
DOCUMENT_FIELDS = ("file_id", "file_unique_id", "mime_type", "file_size")
STICKER_FIELDS = ("file_id", "file_unique_id", "type", "width", "height", "is_animated", "is_video")
SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}$")
COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,32}(@\w{1,64})?")
TAG = re.compile(LOOKALIKE_TAG)


def _pick(obj: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: obj[k] for k in keys if isinstance(obj, dict) and k in obj}


def _user(user: Any) -> dict[str, Any]:
    """Enough of a user to answer in their language; the name is left out."""
    return {**_pick(user, ("id", "is_bot", "language_code")), "first_name": ""}


def _message(msg: Any) -> dict[str, Any]:
    out = _pick(msg, ("message_id", "date"))
    out["chat"] = _pick(msg.get("chat"), ("id", "type"))
    if "from" in msg:
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
    if isinstance(msg.get("reply_to_message"), dict):
        out["reply_to_message"] = _message(msg["reply_to_message"])
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
    return msg.get("chat", {}).get("id"), file_id


class UpdateJournal:
    def __init__(self, db: StateDB, keep_s: float) -> None:
        self.db = db
        self.keep_s = keep_s

    async def accept(self, data: dict[str, Any]) -> bool:
        """Record an update durably; False if it was seen before (a re-delivery)."""
        body = skeleton(data)
        chat_id, file_id = ids_of(body)
        row = (data["update_id"], chat_id, file_id, ujson.dumps(body), time.time())

        def insert(conn: sqlite3.Connection) -> bool:
            cur = conn.execute("INSERT OR IGNORE INTO updates (update_id, chat_id, file_id, body, accepted) "
                               "VALUES (?, ?, ?, ?, ?)", row)
            return cur.rowcount == 1
        return await self.db.run(insert)

    async def finish(self, update_id: int) -> None:
        await self.db.run(lambda conn: conn.execute("UPDATE updates SET done = ? WHERE update_id = ?",
                                                    (time.time(), update_id)))

    async def unfinished(self) -> list[dict[str, Any]]:
        rows = await self.db.run(lambda conn: conn.execute(
            "SELECT body FROM updates WHERE done IS NULL ORDER BY update_id").fetchall())
        return [ujson.loads(body) for (body,) in rows]

    async def prune(self) -> int:
        """Forget answered updates older than keep_s: Telegram stops re-delivering long before."""
        cutoff = time.time() - self.keep_s
        return await self.db.run(lambda conn: conn.execute(
            "DELETE FROM updates WHERE done IS NOT NULL AND done < ?", (cutoff,)).rowcount)


class JournaledDispatch:
    """Hands webhook updates to the Application, each journaled until its handlers finish."""

    def __init__(self, app: Application, journal: UpdateJournal) -> None:
        self.app = app
        self.journal = journal
        self._handlers = InFlight()

    @property
    def in_progress(self) -> int:
        return len(self._handlers)

    async def accept(self, data: dict[str, Any], update: Update) -> bool:
        """Journal, then handle in the background; False (and nothing done) for a re-delivery.

        Raises if the journal cannot be written: the webhook then answers 500
        and Telegram delivers the update again later.
        """
        if not await self.journal.accept(data):
            return False
        self._spawn(update)
        return True

    async def replay(self) -> int:
        """Handle again what a previous run accepted but did not finish."""
        bodies = await self.journal.unfinished()
        count = 0
        for body in bodies:
            if not replayable(body):
                await self.journal.finish(body["update_id"])
                continue
            self._spawn(Update.de_json(body, self.app.bot))
            count += 1
        if count:
            log.info("replaying %d update(s) a previous run accepted but did not answer", count)
        return count

    def _spawn(self, update: Update) -> None:
        self._handlers.spawn(self._handle(update))

    async def _handle(self, update: Update) -> None:
        try:
            await self.app.process_update(update)
        except asyncio.CancelledError:
            raise  # not done: replayed on the next start
        except Exception as exc:  # the handlers' own error handler already ran
            log.error("update handling failed: %s", type(exc).__name__)
        try:
            await self.journal.finish(update.update_id)
        except sqlite3.Error as exc:
            log.error("could not mark an update done (%s): it may be answered again after a restart",
                      type(exc).__name__)

    async def stop(self, grace: float) -> bool:
        """Let running updates finish; the rest stay unfinished in the journal for the next start."""
        return await self._handlers.drain(grace, cancel=True)
