"""A local Bot API server that the real python-telegram-bot client can talk to.

It runs aiohttp on its own event loop in a background thread, so the bot under test may run
in the test's event loop or in a subprocess alike.  All public methods are thread-safe; the
simulators (``send_photo`` ...) only queue work and never block.  Nothing is written to disk.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from .formatting import MAX_CAPTION, MAX_TEXT, EntityError, command_entities, plain_text, utf16_len
from .media import PhotoError, photo_sizes, sticker_bytes
from .models import SEND_METHODS, Call, FaultHook, FaultSpec, StoredFile, WebhookDelivery

T = TypeVar("T")

MB = 1024 * 1024
PHOTO_UPLOAD_LIMIT = 10 * MB
UPLOAD_LIMIT = 50 * MB
DOWNLOAD_LIMIT = 20 * MB

#: Updates Telegram leaves out unless asked for them explicitly.
_NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
#: Parameters Telegram treats as strings even when they look like numbers or JSON.
_STRING_PARAMS = frozenset(
    {
        "text", "caption", "parse_mode", "url", "secret_token", "photo", "document", "video",
        "audio", "animation", "voice", "sticker", "thumbnail", "file_id", "action", "ip_address",
        "callback_query_id", "inline_message_id", "language_code", "emoji", "title",
        "description", "short_description", "name", "business_connection_id",
        "message_effect_id", "file_path",
    }
)
_CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note",
        "upload_video_note",
    }
)
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class ApiError(Exception):
    """An error response, raised by method handlers and turned into Telegram's JSON."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _decode_param(name: str, value: str) -> Any:
    """Form values arrive as strings; Telegram JSON-decodes all but the textual ones."""
    if name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _update_type(update: dict[str, Any]) -> str:
    return next((k for k in update if k != "update_id"), "")


def _chat_key(update: dict[str, Any]) -> Any:
    """The chat an update belongs to: Telegram keeps webhook deliveries ordered per chat."""
    body = update.get(_update_type(update))
    if isinstance(body, dict):
        if isinstance(body.get("chat"), dict):
            return body["chat"].get("id")
        if isinstance(body.get("message"), dict):
            return body["message"].get("chat", {}).get("id")
        if isinstance(body.get("from"), dict):
            return ("user", body["from"].get("id"))
    return ("update", update.get("update_id"))


class FakeTelegram:
    """Telegram's Bot API for one bot, plus the users talking to it.

    Use as ``with FakeTelegram() as fake:`` and point PTB at ``fake.base_url`` and
    ``fake.base_file_url``.  Simulate users with ``send_*``, observe the bot with ``calls`` /
    ``sent`` / ``wait_for``, break things with ``fail_next`` / ``set_fault``.
    """

    def __init__(
        self,
        token: str = "123456:TEST-fake-token",
        *,
        bot_username: str = "lookalike_test_bot",
        bot_first_name: str = "Lookalike",
        host: str = "127.0.0.1",
        strict_chats: bool = False,
        webhook_retries: int = 3,
        webhook_retry_delay: float = 0.2,
        webhook_timeout: float = 10.0,
        webhook_max_delay: float = 2.0,
    ) -> None:
        self.token = token
        self.host = host
        self.strict_chats = strict_chats  # sending to a chat no user has written from -> 400
        self.webhook_retries = webhook_retries
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_timeout = webhook_timeout
        self.webhook_max_delay = webhook_max_delay  # Telegram keeps retrying a dead webhook for hours
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 123456
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,  # inline mode switched on with @BotFather
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._async_waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._calls: list[Call] = []
        self._pending: list[dict[str, Any]] = []  # unconfirmed updates, in order
        self._update_ids = itertools.count(10_000)
        self._chats: dict[int | str, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._messages: dict[tuple[int | str, int], dict[str, Any]] = {}
        self._deleted: set[tuple[int | str, int]] = set()
        self._message_ids: dict[int | str, itertools.count[int]] = {}
        self._user_messages: list[tuple[str, int | str, int]] = []  # (kind, chat_id, message_id)
        self._files: dict[str, StoredFile] = {}
        self._paths: dict[str, StoredFile] = {}
        self._photo_sets: dict[str, list[StoredFile]] = {}
        self._file_seq = itertools.count(1)
        self._id_salt = os.urandom(4)
        self._blocked: dict[int | str, str] = {}
        self._fail_queue: list[list[Any]] = []  # [method_lower, FaultSpec, remaining]
        self._fault_hook: FaultHook | None = None
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._bot_texts: dict[tuple[str, str], str] = {}
        self._webhook: dict[str, Any] | None = None
        self._allowed_updates: list[str] | None = None
        self._deliveries: list[WebhookDelivery] = []
        self._inline_queries: dict[str, dict[str, Any]] = {}  # query id -> the query
        self._inline_answers: dict[str, dict[str, Any]] = {}  # query id -> answerInlineQuery params
        self._closing = False
        self._waiting_polls = 0

        # Owned by the server thread.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._port: int | None = None
        self._poll_waiters: list[asyncio.Future[None]] = []
        self._poll_generation = 0
        self._pump_event: asyncio.Event | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self._in_flight: dict[int, Any] = {}  # update_id -> chat key
        self._delivery_tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeTelegram:
        """Start serving; returns once the port is bound."""
        if self._thread is not None:
            raise RuntimeError("FakeTelegram already started")
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._astart())
            except BaseException as exc:  # noqa: BLE001 - reported to start()'s caller
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="FakeTelegram", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop serving; long polls in progress return empty and webhook deliveries stop."""
        if self._thread is None or self._loop is None:
            return
        loop = self._loop
        with self._lock:
            self._closing = True
        future = asyncio.run_coroutine_threadsafe(self._astop(), loop)
        try:
            future.result(timeout=15)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(timeout=15)
            self._thread = None

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> FakeTelegram:
        return self.start()

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeTelegram is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """PTB's ``base_url``: it requests ``{base_url}{token}/{method}``."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """PTB's ``base_file_url``: it downloads ``{base_file_url}{token}/{file_path}``."""
        return f"http://{self.host}:{self.port}/file/bot"

    async def _astart(self) -> None:
        app = web.Application(client_max_size=UPLOAD_LIMIT + 10 * MB)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_download)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self._session = aiohttp.ClientSession()
        self._pump_event = asyncio.Event()
        self._pump_task = asyncio.create_task(self._webhook_pump())

    async def _astop(self) -> None:
        self._wake_loop()
        tasks = [t for t in (self._pump_task, *self._delivery_tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------------ change notification

    def _changed(self, *, updates: bool = True) -> None:
        """Wake wait_for/wait_for_async; with ``updates`` also long polls and the webhook pump.

        Bookkeeping (recorded calls, the poll counter) passes ``updates=False``: waking a long
        poll for it would make the poll wake itself forever.
        """
        with self._cond:
            self._cond.notify_all()
            waiters = list(self._async_waiters)
        for loop, event in waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that loop is closed; its waiter is gone
                pass
        loop = self._loop
        if updates and loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._wake_loop)
            except RuntimeError:
                pass

    def _wake_loop(self) -> None:
        for fut in self._poll_waiters:
            if not fut.done():
                fut.set_result(None)
        self._poll_waiters.clear()
        if self._pump_event is not None:
            self._pump_event.set()

    # ------------------------------------------------------------------ observing the bot

    def calls(self, method: str | None = None, chat_id: int | str | None = None) -> list[Call]:
        """Every request so far (oldest first), optionally only one method / one chat."""
        with self._lock:
            calls = list(self._calls)
        if method is not None:
            calls = [c for c in calls if c.method.lower() == method.lower()]
        if chat_id is not None:
            calls = [c for c in calls if c.chat_id == chat_id]
        return calls

    def sent(self, chat_id: int | str | None = None, method: str | None = None) -> list[Call]:
        """Successful sends (sendMessage, sendPhoto, sendMediaGroup ...) in the order made."""
        return [
            c for c in self.calls(method, chat_id) if c.method in SEND_METHODS and c.ok
        ]

    def sent_texts(self, chat_id: int | str | None = None) -> list[str]:
        """Text or caption of each successful send; handy for asserting on replies."""
        return [c.text or "" for c in self.sent(chat_id)]

    def max_sends_in_any_second(self, chat_id: int | str | None = None, window: float = 1.0) -> int:
        """Most messages the bot sent within any sliding ``window`` (media groups count each)."""
        events = sorted(
            (c.time, max(1, len(c.message_ids))) for c in self.sent(chat_id)
        )
        best = running = 0
        start = 0
        for t, weight in events:
            running += weight
            while events[start][0] <= t - window:
                running -= events[start][1]
                start += 1
            best = max(best, running)
        return best

    def answered_message_ids(self, chat_id: int | str | None = None) -> Counter[tuple[int | str, int]]:
        """How many successful sends quoted each (chat_id, message_id).

        Only quoted replies count: PTB's ``reply_text`` quotes by default in groups but not in
        private chats (``do_quote``), and Telegram records nothing else linking an answer.
        """
        counts: Counter[tuple[int | str, int]] = Counter()
        for call in self.sent(chat_id):
            rid = call.reply_to_message_id
            if rid is not None and call.chat_id is not None:
                counts[(call.chat_id, rid)] += 1
        return counts

    def replies_to(self, chat_id: int | str, message_id: int) -> list[Call]:
        """Successful sends quoting one message."""
        return [c for c in self.sent(chat_id) if c.reply_to_message_id == message_id]

    def user_messages(self, chat_id: int | str | None = None, kind: str | None = None) -> list[tuple[int | str, int]]:
        """(chat_id, message_id) of every simulated user message; kind: text, photo, document..."""
        with self._lock:
            return [
                (cid, mid) for k, cid, mid in self._user_messages
                if (chat_id is None or cid == chat_id) and (kind is None or k == kind)
            ]

    def message(self, chat_id: int | str, message_id: int) -> dict[str, Any] | None:
        """The message as it stands now (after edits); None if unknown or deleted."""
        with self._lock:
            if (chat_id, message_id) in self._deleted:
                return None
            msg = self._messages.get((chat_id, message_id))
            return json.loads(json.dumps(msg)) if msg is not None else None

    def chat_history(self, chat_id: int | str) -> list[dict[str, Any]]:
        """The chat as a user would see it now: surviving messages, oldest first."""
        with self._lock:
            keys = sorted(k for k in self._messages if k[0] == chat_id and k not in self._deleted)
        return [m for m in (self.message(*k) for k in keys) if m is not None]

    def chat_of_file(self, file_id: str) -> int | str | None:
        """The chat whose user sent the file (any size of a photo), for faults aimed at one photo."""
        with self._lock:
            for (chat_id, _), msg in self._messages.items():
                files = [*msg.get("photo", []), msg.get("document") or {}]
                if any(f.get("file_id") == file_id for f in files):
                    return chat_id
        return None

    def file_bytes(self, file_id: str) -> bytes:
        """What Telegram stores for a file_id (e.g. the picture the bot sent back)."""
        with self._lock:
            return self._files[file_id].data

    def webhook_deliveries(self) -> list[WebhookDelivery]:
        with self._lock:
            return list(self._deliveries)

    @property
    def webhook_url(self) -> str | None:
        with self._lock:
            return self._webhook["url"] if self._webhook else None

    @property
    def polling(self) -> bool:
        """Whether a getUpdates long poll is waiting right now (the bot is up and idle)."""
        with self._lock:
            return self._waiting_polls > 0

    @property
    def pending_update_count(self) -> int:
        with self._lock:
            return len(self._pending)

    def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0) -> T:
        """Block until ``predicate()`` is truthy and return its value.

        Re-checked whenever the fake's state changes.  Don't call it from the event loop the
        bot runs in (it would starve the bot); use :meth:`wait_for_async` there.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(self._timeout_message(timeout))
                self._cond.wait(remaining)

    async def wait_for_async(self, predicate: Callable[[], T], timeout: float = 10.0) -> T:
        """Like :meth:`wait_for`, but awaits instead of blocking the running event loop."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        entry = (loop, event)
        deadline = time.monotonic() + timeout
        with self._lock:
            self._async_waiters.add(entry)
        try:
            while True:
                event.clear()
                with self._lock:
                    value = predicate()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(self._timeout_message(timeout))
                try:
                    await asyncio.wait_for(event.wait(), remaining)
                except TimeoutError:
                    pass
        finally:
            with self._lock:
                self._async_waiters.discard(entry)

    def wait_for_sent(self, chat_id: int | str | None = None, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Block until the bot made ``count`` successful sends (to ``chat_id``); returns them."""
        return self.wait_for(self._sends_reached(chat_id, count), timeout)

    async def wait_for_sent_async(
        self, chat_id: int | str | None = None, count: int = 1, timeout: float = 10.0
    ) -> list[Call]:
        return await self.wait_for_async(self._sends_reached(chat_id, count), timeout)

    def _sends_reached(self, chat_id: int | str | None, count: int) -> Callable[[], list[Call] | None]:
        def check() -> list[Call] | None:
            sends = self.sent(chat_id)
            return sends if len(sends) >= count else None

        return check

    def _timeout_message(self, timeout: float) -> str:
        recent = ", ".join(f"{c.method}:{c.status}" for c in self.calls()[-15:])
        return f"condition not met within {timeout}s; last calls: [{recent}]"

    # ------------------------------------------------------------------ faults

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int | None = 1,
        count: int = 1,
        description: str | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` with an error (retry_after: 429 only)."""
        spec = FaultSpec(
            status=status,
            retry_after=retry_after if status == 429 else None,
            description=description,
            delay=delay,
        )
        with self._lock:
            self._fail_queue.append([method.lower(), spec, count])

    def set_fault(self, hook: FaultHook | None) -> None:
        """Consult ``hook(call)`` before every API request (after ``fail_next``); None clears."""
        with self._lock:
            self._fault_hook = hook

    def _take_fault(self, probe: Call) -> FaultSpec | None:
        with self._lock:
            for entry in self._fail_queue:
                if entry[0] == probe.method.lower():
                    entry[2] -= 1
                    if entry[2] <= 0:
                        self._fail_queue.remove(entry)
                    return entry[1]
            hook = self._fault_hook
        return hook(probe) if hook is not None else None

    def block(self, chat_id: int | str, description: str | None = None) -> None:
        """Make sends to this chat fail with 403, as when a user blocked the bot."""
        default = "Forbidden: bot was blocked by the user" if isinstance(chat_id, int) and chat_id > 0 \
            else "Forbidden: bot was kicked from the group chat"
        with self._lock:
            self._blocked[chat_id] = description or default

    def unblock(self, chat_id: int | str) -> None:
        with self._lock:
            self._blocked.pop(chat_id, None)

    # ------------------------------------------------------------------ simulating users

    def enqueue_raw_update(self, update: dict[str, Any]) -> int:
        """Queue any update (``update_id`` is assigned when missing); returns the update_id."""
        with self._lock:
            update = dict(update)
            update.setdefault("update_id", next(self._update_ids))
            for kind in ("message", "edited_message", "channel_post"):
                msg = update.get(kind)
                if isinstance(msg, dict) and "chat" in msg and "message_id" in msg:
                    self._messages[(msg["chat"]["id"], msg["message_id"])] = json.loads(json.dumps(msg))
            self._pending.append(update)
            self._changed()
            return update["update_id"]

    def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        first_name: str = "Test",
        language_code: str | None = "en",
        username: str | None = None,
        chat_type: str = "private",
        title: str | None = None,
        reply_to: int | None = None,
    ) -> int:
        """A user writes ``text``; commands get bot_command entities. Returns the message_id.

        The sender keywords (shared by all ``send_*``): ``user_id`` defaults to ``chat_id`` in
        private chats; groups need ``chat_type="group"``/``"supergroup"`` and a negative id;
        ``reply_to`` is the message_id this one answers.
        """
        fields: dict[str, Any] = {"text": text}
        entities = command_entities(text)
        if entities:
            fields["entities"] = entities
        return self._user_message(
            chat_id, "text", fields,
            user_id=user_id, first_name=first_name, language_code=language_code, username=username,
            chat_type=chat_type, title=title, reply_to=reply_to,
        )

    def send_reply(self, chat_id: int, text: str, reply_to_message_id: int, **sender: Any) -> int:
        """A user answers an earlier message, e.g. ``/lookalike`` on a photo."""
        return self.send_text(chat_id, text, reply_to=reply_to_message_id, **sender)

    def send_photo(
        self,
        chat_id: int,
        image_bytes: bytes,
        *,
        caption: str | None = None,
        media_group_id: str | None = None,
        user_id: int | None = None,
        first_name: str = "Test",
        language_code: str | None = "en",
        username: str | None = None,
        chat_type: str = "private",
        title: str | None = None,
        reply_to: int | None = None,
    ) -> int:
        """A user sends a photo; Telegram turns it into JPEG sizes (see :mod:`.media`)."""
        sizes = photo_sizes(image_bytes)  # may raise PhotoError for a non-image
        fields: dict[str, Any] = {"photo": self._store_photo_sizes(sizes), **self._caption(caption)}
        if media_group_id is not None:
            fields["media_group_id"] = media_group_id
        return self._user_message(
            chat_id, "photo", fields,
            user_id=user_id, first_name=first_name, language_code=language_code, username=username,
            chat_type=chat_type, title=title, reply_to=reply_to,
        )

    @staticmethod
    def _caption(caption: str | None) -> dict[str, Any]:
        """Caption fields as Telegram sets them: bot commands in it get entities."""
        if caption is None:
            return {}
        entities = command_entities(caption)
        return {"caption": caption, **({"caption_entities": entities} if entities else {})}

    def send_album(self, chat_id: int, images: Iterable[bytes], *, caption: str | None = None, **sender: Any) -> list[int]:
        """A user sends several photos at once: one update per photo, same media_group_id."""
        group = str(next(self._file_seq) + 10**17)
        return [
            self.send_photo(chat_id, data, caption=caption if i == 0 else None, media_group_id=group, **sender)
            for i, data in enumerate(images)
        ]

    def send_document(
        self,
        chat_id: int,
        data: bytes,
        file_name: str,
        mime_type: str,
        *,
        declared_size: int | None = None,
        caption: str | None = None,
        user_id: int | None = None,
        first_name: str = "Test",
        language_code: str | None = "en",
        username: str | None = None,
        chat_type: str = "private",
        title: str | None = None,
        reply_to: int | None = None,
    ) -> int:
        """A user sends a file; ``declared_size`` claims a size without storing that much."""
        stored = self._store_file(
            "documents", data, os.path.splitext(file_name)[1] or ".bin", prefix="BQAC", unique_prefix="AgAD",
            size=declared_size,
        )
        stored.meta = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": stored.size,
        }
        fields: dict[str, Any] = {"document": stored.meta, **self._caption(caption)}
        return self._user_message(
            chat_id, "document", fields,
            user_id=user_id, first_name=first_name, language_code=language_code, username=username,
            chat_type=chat_type, title=title, reply_to=reply_to,
        )

    def send_sticker(self, chat_id: int, emoji: str = "😀", **sender: Any) -> int:
        """A user sends a sticker (a real WebP); ``sender`` as for :meth:`send_text`."""
        stored = self._store_file("stickers", sticker_bytes(), ".webp", prefix="CAAC", unique_prefix="AgAD")
        stored.meta = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "set_name": "TestStickers",
            "file_size": stored.size,
        }
        return self._user_message(chat_id, "sticker", {"sticker": stored.meta}, **sender)

    def send_edited_text(self, chat_id: int, message_id: int, text: str) -> int:
        """A user edits an earlier text message; queues an ``edited_message`` update."""
        with self._lock:
            msg = self._messages.get((chat_id, message_id))
            if msg is None or "text" not in msg:
                raise ValueError(f"no text message {message_id} in chat {chat_id}")
            msg["text"] = text
            msg.pop("entities", None)
            if entities := command_entities(text):
                msg["entities"] = entities
            msg["edit_date"] = int(time.time())
            self.enqueue_raw_update({"edited_message": json.loads(json.dumps(msg))})
            return message_id

    def send_callback_query(self, chat_id: int, message_id: int, data: str, **sender: Any) -> int:
        """A user presses an inline button under a bot message; returns the update_id."""
        with self._lock:
            msg = self._messages.get((chat_id, message_id))
            if msg is None:
                raise ValueError(f"no message {message_id} in chat {chat_id}")
            user = self._user(chat_id, **sender)
            return self.enqueue_raw_update(
                {
                    "callback_query": {
                        "id": str(next(self._file_seq) + 4_000_000_000),
                        "from": user,
                        "message": json.loads(json.dumps(msg)),
                        "chat_instance": str(abs(hash(chat_id))),
                        "data": data,
                    }
                }
            )

    def send_inline_query(self, user_id: int, query: str, *, language_code: str | None = "en") -> str:
        """A user types "@bot query" in any chat; returns the inline query id."""
        with self._lock:
            query_id = str(next(self._file_seq) + 5_000_000_000)
            inline = {"id": query_id, "from": self._user(user_id, language_code=language_code),
                      "query": query, "offset": "", "chat_type": "sender"}
            self._inline_queries[query_id] = inline
            self.enqueue_raw_update({"inline_query": inline})
            return query_id

    def inline_answer(self, query_id: str) -> dict[str, Any] | None:
        """What the bot answered to an inline query (``results``, ``cache_time``...), if it did."""
        with self._lock:
            answer = self._inline_answers.get(query_id)
            return json.loads(json.dumps(answer)) if answer is not None else None

    def commands(self, scope: str = "default", language_code: str = "") -> list[dict[str, Any]]:
        """The command menu the bot set for a scope type and language ("" for all languages)."""
        with self._lock:
            return list(self._commands.get((json.dumps({"type": scope}, sort_keys=True), language_code), []))

    def bot_text(self, field: str, language_code: str = "") -> str | None:
        """The description or short_description the bot set for a language."""
        with self._lock:
            return self._bot_texts.get((field, language_code))

    def _user(
        self,
        chat_id: int,
        user_id: int | None = None,
        first_name: str = "Test",
        language_code: str | None = "en",
        username: str | None = None,
    ) -> dict[str, Any]:
        uid = user_id if user_id is not None else (chat_id if chat_id > 0 else 10_000_001)
        user: dict[str, Any] = {"id": uid, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self._users[uid] = user
        return user

    def _ensure_chat(self, chat_id: int, chat_type: str, user: dict[str, Any], title: str | None) -> dict[str, Any]:
        if chat_type == "private":
            if chat_id <= 0:
                raise ValueError("private chats have positive ids")
            chat = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
            if "username" in user:
                chat["username"] = user["username"]
        elif chat_type in ("group", "supergroup"):
            if chat_id >= 0:
                raise ValueError("group chats have negative ids (supergroups: -100...)")
            chat = {"id": chat_id, "type": chat_type, "title": title or "Test group"}
            if chat_type == "supergroup":
                chat["is_forum"] = False
        else:
            raise ValueError(f"unsupported chat_type {chat_type!r}")
        self._chats[chat_id] = chat
        return chat

    def _user_message(
        self,
        chat_id: int,
        kind: str,
        fields: dict[str, Any],
        *,
        chat_type: str = "private",
        reply_to: int | None = None,
        title: str | None = None,
        **user_fields: Any,
    ) -> int:
        with self._lock:
            user = self._user(chat_id, **user_fields)
            chat = self._ensure_chat(chat_id, chat_type, user, title)
            message_id = self._next_message_id(chat_id)
            msg: dict[str, Any] = {
                "message_id": message_id,
                "from": user,
                "chat": chat,
                "date": int(time.time()),
                **fields,
            }
            if reply_to is not None:
                original = self._messages.get((chat_id, reply_to))
                if original is None:
                    raise ValueError(f"no message {reply_to} in chat {chat_id} to reply to")
                if (chat_id, reply_to) not in self._deleted:
                    msg["reply_to_message"] = self._without_reply(original)
            self._messages[(chat_id, message_id)] = msg
            self._user_messages.append((kind, chat_id, message_id))
            self.enqueue_raw_update({"message": json.loads(json.dumps(msg))})
            return message_id

    def _next_message_id(self, chat_id: int | str) -> int:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        return next(counter)

    @staticmethod
    def _without_reply(msg: dict[str, Any]) -> dict[str, Any]:
        """Telegram nests reply_to_message only one level deep."""
        copy = json.loads(json.dumps(msg))
        copy.pop("reply_to_message", None)
        return copy

    # ------------------------------------------------------------------ files

    def _new_ids(self, prefix: str, unique_prefix: str) -> tuple[str, str]:
        seq = next(self._file_seq)
        raw = self._id_salt + seq.to_bytes(6, "big") + os.urandom(22)
        file_id = prefix + base64.urlsafe_b64encode(raw).decode().rstrip("=")
        unique = unique_prefix + base64.urlsafe_b64encode(self._id_salt + seq.to_bytes(5, "big")).decode().rstrip("=")
        return file_id, unique

    def _store_file(
        self,
        kind: str,
        data: bytes,
        extension: str,
        *,
        prefix: str,
        unique_prefix: str,
        size: int | None = None,
        unique_id: str | None = None,
    ) -> StoredFile:
        file_id, unique = self._new_ids(prefix, unique_prefix)
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=unique_id or unique,
            kind=kind,
            data=data,
            size=size if size is not None else len(data),
            extension=extension,
        )
        with self._lock:
            self._files[file_id] = stored
        return stored

    def _store_photo_sizes(
        self, sizes: Iterable[tuple[int, int, bytes]], unique_ids: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """Store one photo's sizes; returns the PhotoSize list for a Message."""
        group = os.urandom(8).hex()
        entries = []
        for i, (width, height, data) in enumerate(sizes):
            stored = self._store_file(
                "photos", data, ".jpg", prefix="AgAC", unique_prefix="AQAD",
                unique_id=unique_ids[i] if unique_ids else None,
            )
            stored.group = group
            stored.meta = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": stored.size,
                "width": width,
                "height": height,
            }
            entries.append(stored)
        with self._lock:
            self._photo_sets[group] = entries
        return [dict(e.meta) for e in entries]

    def _resend_photo(self, file_id: str) -> list[dict[str, Any]]:
        """Sending by file_id: new file_ids, same content (sizes up to the one referenced)."""
        with self._lock:
            stored = self._files.get(file_id)
            if stored is None:
                raise _bad("wrong file identifier/HTTP URL specified")
            if stored.kind != "photos" or stored.group is None:
                raise _bad("type of file mismatch")
            ladder = [s for s in self._photo_sets[stored.group] if s.meta["width"] <= stored.meta["width"]]
        return self._store_photo_sizes(
            [(s.meta["width"], s.meta["height"], s.data) for s in ladder],
            unique_ids=[s.file_unique_id for s in ladder],
        )

    async def _handle_download(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        path = request.match_info["path"]
        with self._lock:
            stored = self._paths.get(path) if request.match_info["token"] == self.token else None
        params = {"file_path": path, "file_id": stored.file_id if stored else None}
        fault = self._take_fault(Call("file", params, {}, started, 0))
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.reset:
                return self._reset(request, Call("file", params, {}, started, 0, description="reset"))
            if fault.status is not None:
                body = fault.body()
                self._record(Call("file", params, {}, started, fault.status, description=body["description"]))
                return web.json_response(body, status=fault.status)
        status = 200 if stored is not None else 404
        if stored is None:
            self._record(Call("file", params, {}, started, status))
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        if fault is not None and fault.truncate is not None:
            return await self._truncated(request, stored.data, fault, Call("file", params, {}, started, 206,
                                                                            description="truncated"))
        self._record(Call("file", params, {}, started, status))
        return web.Response(body=stored.data, content_type="application/octet-stream")

    def _reset(self, request: web.Request, call: Call) -> web.Response:
        """Drop the connection with no answer at all, as a failing proxy does."""
        self._record(call)
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)  # never reaches the client: the socket is gone

    async def _truncated(self, request: web.Request, data: bytes, fault: FaultSpec, call: Call) -> web.StreamResponse:
        """Send the first ``fault.truncate`` bytes, then break the connection (or end early)."""
        cut = data[: fault.truncate]
        announced = len(cut) if fault.short else len(data)
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream",
                                               "Content-Length": str(announced)})
        await response.prepare(request)
        await response.write(cut)
        self._record(call)
        if fault.short:
            await response.write_eof()
        elif request.transport is not None:
            request.transport.abort()
        return response

    # ------------------------------------------------------------------ HTTP plumbing

    def _record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)
            self._changed(updates=False)

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        """Decode query, JSON, urlencoded or multipart bodies into (params, files)."""
        raw: dict[str, Any] = dict(request.query)
        files: dict[str, bytes] = {}
        if request.method == "POST" and request.body_exists:
            ctype = request.content_type
            if ctype == "application/json":
                body = await request.json()
                if not isinstance(body, dict):
                    raise _bad("request body must be a JSON object")
                raw.update(body)
            elif ctype.startswith("multipart/"):
                reader = await request.multipart()
                while (part := await reader.next()) is not None:
                    if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                        continue
                    if part.filename is not None:
                        files[part.name] = bytes(await part.read())
                    else:
                        raw[part.name] = await part.text()
            else:
                raw.update(await request.post())
        params = {k: _decode_param(k, v) if isinstance(v, str) else v for k, v in raw.items()}
        return params, files

    async def _handle_api(self, request: web.Request) -> web.Response:
        started = time.monotonic()
        name = request.match_info["method"]
        try:
            params, files = await self._read_params(request)
        except (ApiError, ValueError) as exc:
            error = exc if isinstance(exc, ApiError) else _bad(str(exc))
            self._record(Call(name, {}, {}, started, error.status, description=error.description))
            return web.json_response(error.body(), status=error.status)
        if request.match_info["token"] != self.token:
            error = ApiError(401, "Unauthorized")
        elif (method := _METHOD_NAMES.get(name.lower())) is None:
            error = ApiError(404, "Not Found")
        else:
            error = None
        if error is not None:
            self._record(Call(name, params, files, started, error.status, description=error.description))
            return web.json_response(error.body(), status=error.status)

        probe = Call(method, params, files, started, 0)
        fault = self._take_fault(probe)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.reset:
                return self._reset(request, Call(method, params, files, started, 0, description="reset"))
            if fault.status is not None:
                body = fault.body()
                self._record(Call(method, params, files, started, fault.status, description=body["description"]))
                return web.json_response(body, status=fault.status)

        status, result, description = 200, None, None
        try:
            result = await _HANDLERS[method](self, params, files)
            body = {"ok": True, "result": result}
            if method == "setWebhook":
                body["description"] = "Webhook was set" if params.get("url") else "Webhook was deleted"
            elif method == "deleteWebhook":
                body["description"] = "Webhook was deleted"
        except ApiError as exc:
            status, description, body = exc.status, exc.description, exc.body()
        except asyncio.CancelledError:
            self._record(Call(method, params, files, started, 499, description="cancelled"))
            raise
        self._record(Call(method, params, files, started, status, result, description))
        return web.json_response(body, status=status)

    # ------------------------------------------------------------------ bot-side helpers

    def _chat_for_send(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise _bad("chat_id is empty")
        with self._lock:
            if isinstance(chat_id, str):
                match = next((c for c in self._chats.values()
                              if c.get("username") and "@" + c["username"] == chat_id), None)
                if match is None:
                    raise _bad("chat not found")
                chat_id = match["id"]
            if not isinstance(chat_id, int):
                raise _bad("chat not found")
            if chat_id in self._blocked:
                raise ApiError(403, self._blocked[chat_id])
            chat = self._chats.get(chat_id)
            if chat is None:
                if self.strict_chats:
                    raise _bad("chat not found")
                chat = ({"id": chat_id, "type": "private", "first_name": "Test"} if chat_id > 0
                        else {"id": chat_id, "type": "group", "title": "Test group"})
                self._chats[chat_id] = chat
            return chat

    def _reply_target(self, chat_id: int | str, params: dict[str, Any]) -> dict[str, Any] | None:
        rp = params.get("reply_parameters")
        if isinstance(rp, dict):
            target, allow = rp.get("message_id"), bool(rp.get("allow_sending_without_reply"))
            target_chat = rp.get("chat_id", chat_id)
        else:
            target, allow = params.get("reply_to_message_id"), bool(params.get("allow_sending_without_reply"))
            target_chat = chat_id
        if target is None:
            return None
        with self._lock:
            msg = self._messages.get((target_chat, target))
            if msg is None or (target_chat, target) in self._deleted:
                if allow:
                    return None
                raise _bad("message to be replied not found")
            return self._without_reply(msg)

    def _check_text(self, params: dict[str, Any], field: str, limit: int, required: bool) -> str | None:
        text = params.get(field)
        if text is None or text == "":
            if required:
                raise _bad("message text is empty")
            return None
        if not isinstance(text, str):
            text = str(text)
        try:
            plain = plain_text(text, params.get("parse_mode"))
        except EntityError as exc:
            raise ApiError(400, str(exc)) from None
        if not plain.strip() and required:
            raise _bad("text must be non-empty")
        if utf16_len(plain) > limit:
            raise _bad("message is too long" if field == "text" else "message caption is too long")
        return plain

    def _bot_message(self, params: dict[str, Any], fields: dict[str, Any], *, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Create and store a message the bot sent; returns the Message object."""
        chat = self._chat_for_send(params)
        reply = self._reply_target(chat["id"], params)
        with self._lock:
            msg: dict[str, Any] = {
                "message_id": self._next_message_id(chat["id"]),
                "from": self.bot_user,
                "chat": chat,
                "date": int(time.time()),
                **fields,
                **(extra or {}),
            }
            if reply is not None:
                msg["reply_to_message"] = reply
            if isinstance(params.get("reply_markup"), dict) and "inline_keyboard" in params["reply_markup"]:
                msg["reply_markup"] = params["reply_markup"]
            self._messages[(chat["id"], msg["message_id"])] = msg
            return json.loads(json.dumps(msg))

    def _caption_fields(self, params: dict[str, Any]) -> dict[str, Any]:
        plain = self._check_text(params, "caption", MAX_CAPTION, required=False)
        return {"caption": plain} if plain is not None else {}

    async def _photo_from(self, value: Any, files: dict[str, bytes], part: str) -> list[dict[str, Any]]:
        """A photo parameter: an upload (part or attach://) or a file_id/URL string."""
        data = None
        if isinstance(value, str) and value.startswith("attach://"):
            data = files.get(value[len("attach://"):])
            if data is None:
                raise _bad("wrong HTTP URL specified")
        elif value is None:
            data = files.get(part)
        if data is None:
            if not isinstance(value, str) or not value:
                raise _bad("there is no photo in the request")
            if value.startswith(("http://", "https://")):
                raise _bad("failed to get HTTP URL content")
            return self._resend_photo(value)
        if not data:
            raise _bad("file must be non-empty")
        if len(data) > PHOTO_UPLOAD_LIMIT:
            raise _bad("file is too big")
        try:
            sizes = await asyncio.get_running_loop().run_in_executor(None, photo_sizes, data)
        except PhotoError as exc:
            raise ApiError(400, str(exc)) from None
        return self._store_photo_sizes(sizes)

    def _document_from(self, value: Any, files: dict[str, bytes], part: str, file_name: str | None) -> dict[str, Any]:
        data = None
        if isinstance(value, str) and value.startswith("attach://"):
            data = files.get(value[len("attach://"):])
        elif value is None:
            data = files.get(part)
        if data is None:
            if not isinstance(value, str) or not value:
                raise _bad("there is no document in the request")
            with self._lock:
                stored = self._files.get(value)
            if stored is None:
                raise _bad("wrong file identifier/HTTP URL specified")
            if stored.kind != "documents":
                raise _bad("type of file mismatch")
            copy = self._store_file("documents", stored.data, stored.extension, prefix="BQAC",
                                    unique_prefix="AgAD", size=stored.size, unique_id=stored.file_unique_id)
            copy.meta = {**stored.meta, "file_id": copy.file_id}
            return dict(copy.meta)
        if len(data) > UPLOAD_LIMIT:
            raise ApiError(413, "Request Entity Too Large")
        name = file_name or "document"
        stored = self._store_file("documents", data, os.path.splitext(name)[1] or ".bin",
                                  prefix="BQAC", unique_prefix="AgAD")
        stored.meta = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": name,
            "mime_type": "application/octet-stream",
            "file_size": stored.size,
        }
        return dict(stored.meta)

    def _own_message(self, params: dict[str, Any], action: str) -> dict[str, Any]:
        if params.get("inline_message_id"):
            raise _bad("inline messages are not supported by the fake")
        chat = self._chat_for_send(params)
        key = (chat["id"], params.get("message_id"))
        with self._lock:
            msg = self._messages.get(key)
            if msg is None or key in self._deleted:
                raise _bad(f"message to {action} not found")
            if msg["from"]["id"] != self.bot_user["id"]:
                raise _bad(f"message can't be {action}ed")
            return msg

    def _finish_edit(self, msg: dict[str, Any], before: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            msg["reply_markup"] = markup
        else:
            msg.pop("reply_markup", None)  # an edit without reply_markup removes the keyboard
        if msg == before:
            raise _bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        msg["edit_date"] = int(time.time())
        return json.loads(json.dumps(msg))

    def _confirm(self, offset: int) -> None:
        """getUpdates' offset: everything before it is confirmed and forgotten."""
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]

    def _allowed(self, update: dict[str, Any], allowed: list[str] | None) -> bool:
        kind = _update_type(update)
        return kind in allowed if allowed else kind not in _NOT_BY_DEFAULT

    # ------------------------------------------------------------------ webhook delivery

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
            self._pending = [u for u in self._pending if self._allowed(u, hook["allowed_updates"])]
            busy = set(self._in_flight.values())
            for update in list(self._pending):
                uid = update["update_id"]
                key = _chat_key(update)
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
                    else:
                        hook["last_error_date"] = int(time.time())
                        hook["last_error_message"] = (
                            f"Wrong response from the webhook: {status}" if status is not None else error
                        )
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

    def post_to_webhook(
        self, body: bytes | dict[str, Any], headers: dict[str, str] | None = None, url: str | None = None
    ) -> tuple[int, bytes]:
        """POST anything to the webhook (for 403/oversize tests); returns (status, body).

        Blocks; from the bot's own event loop use :meth:`post_to_webhook_async`.
        """
        if self._loop is None:
            raise RuntimeError("FakeTelegram is not started")
        return asyncio.run_coroutine_threadsafe(self._post_raw(body, headers, url), self._loop).result(
            self.webhook_timeout + 5
        )

    async def post_to_webhook_async(
        self, body: bytes | dict[str, Any], headers: dict[str, str] | None = None, url: str | None = None
    ) -> tuple[int, bytes]:
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

    # ------------------------------------------------------------------ API methods
    # Each takes (params, files) and returns the "result" or raises ApiError.

    async def _getMe(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        return self.bot_user

    async def _logOut(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        return True

    async def _close(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        return True

    async def _getUpdates(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        """Long polling; a newer getUpdates ends an older one with 409, as Telegram does."""
        offset = int(p.get("offset") or 0)
        limit = min(max(int(p.get("limit") or 100), 1), 100)
        timeout = max(float(p.get("timeout") or 0), 0.0)
        deadline = time.monotonic() + timeout
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake_loop()  # any older poll sees the new generation and ends
        loop = asyncio.get_running_loop()
        if isinstance(p.get("allowed_updates"), list):
            with self._lock:  # Telegram remembers the filter until the next one is given
                self._allowed_updates = p["allowed_updates"] or None
        while True:
            with self._lock:
                if self._webhook is not None:
                    raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                        "use deleteWebhook to delete the webhook first")
                if generation != self._poll_generation:
                    raise ApiError(409, "Conflict: terminated by other getUpdates request; make sure "
                                        "that only one bot instance is running")
                self._confirm(offset)
                self._pending = [u for u in self._pending if self._allowed(u, self._allowed_updates)]
                batch = self._pending[:limit]
                if batch or self._closing:
                    return batch
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            waiter: asyncio.Future[None] = loop.create_future()
            self._poll_waiters.append(waiter)
            self._set_waiting_polls(+1)
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                pass
            finally:
                self._set_waiting_polls(-1)

    def _set_waiting_polls(self, delta: int) -> None:
        with self._lock:
            self._waiting_polls += delta
            self._changed(updates=False)

    async def _getFile(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        file_id = p.get("file_id")
        if not file_id:
            raise _bad("file_id is empty")
        with self._lock:
            stored = self._files.get(file_id)
            if stored is None:
                raise _bad("invalid file_id")
            if stored.size > DOWNLOAD_LIMIT:
                raise _bad("file is too big")
            if stored.path is None:
                stored.path = f"{stored.kind}/file_{len(self._paths)}{stored.extension}"
                self._paths[stored.path] = stored
            return {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": stored.size,
                "file_path": stored.path,
            }

    async def _sendMessage(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        self._chat_for_send(p)
        plain = self._check_text(p, "text", MAX_TEXT, required=True)
        return self._bot_message(p, {"text": plain})

    async def _sendPhoto(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        self._chat_for_send(p)
        caption = self._caption_fields(p)
        sizes = await self._photo_from(p.get("photo"), f, "photo")
        return self._bot_message(p, {"photo": sizes, **caption})

    async def _sendDocument(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        self._chat_for_send(p)
        caption = self._caption_fields(p)
        document = self._document_from(p.get("document"), f, "document", None)
        return self._bot_message(p, {"document": document, **caption})

    async def _sendMediaGroup(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        self._chat_for_send(p)
        media = p.get("media")
        if not isinstance(media, list) or len(media) < 2:
            raise _bad("media must be an array of at least 2 items" if not isinstance(media, list)
                       else "too few media in group")
        if len(media) > 10:
            raise _bad("too many messages to send as an album")
        items = []
        for item in media:
            caption = self._caption_fields(item) if isinstance(item, dict) else {}
            kind = item.get("type") if isinstance(item, dict) else None
            if kind == "photo":
                items.append({"photo": await self._photo_from(item.get("media"), f, ""), **caption})
            elif kind == "document":
                items.append({"document": self._document_from(item.get("media"), f, "", None), **caption})
            else:
                raise _bad(f"unsupported media type {kind!r} in the fake")
        group = str(next(self._file_seq) + 10**17)
        return [self._bot_message(p, fields, extra={"media_group_id": group}) for fields in items]

    async def _sendChatAction(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        self._chat_for_send(p)
        if p.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    async def _editMessageText(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        plain = self._check_text(p, "text", MAX_TEXT, required=True)
        with self._lock:
            msg = self._own_message(p, "edit")
            if "text" not in msg:
                raise _bad("there is no text in the message to edit")
            before = json.loads(json.dumps(msg))
            msg["text"] = plain
            return self._finish_edit(msg, before, p)

    async def _editMessageCaption(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        caption = self._caption_fields(p)
        with self._lock:
            msg = self._own_message(p, "edit")
            if "text" in msg:
                raise _bad("there is no caption in the message to edit")
            before = json.loads(json.dumps(msg))
            msg.pop("caption", None)
            msg.update(caption)
            return self._finish_edit(msg, before, p)

    async def _editMessageReplyMarkup(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        with self._lock:
            msg = self._own_message(p, "edit")
            before = json.loads(json.dumps(msg))
            return self._finish_edit(msg, before, p)

    async def _deleteMessage(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        chat = self._chat_for_send(p)
        key = (chat["id"], p.get("message_id"))
        with self._lock:
            if key not in self._messages or key in self._deleted:
                raise _bad("message to delete not found")
            self._deleted.add(key)
        return True

    async def _deleteMessages(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        chat = self._chat_for_send(p)
        with self._lock:
            for mid in p.get("message_ids") or []:
                if (chat["id"], mid) in self._messages:
                    self._deleted.add((chat["id"], mid))
        return True

    @staticmethod
    def _commands_key(p: dict[str, Any]) -> tuple[str, str]:
        scope = p.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(p.get("language_code") or "")

    async def _setMyCommands(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        commands = p.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("commands must be an array of at most 100 BotCommand")
        for cmd in commands:
            if not isinstance(cmd, dict) or not _COMMAND_NAME.match(str(cmd.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(cmd.get("description", ""))) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        with self._lock:
            self._commands[self._commands_key(p)] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        return True

    async def _getMyCommands(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        with self._lock:
            return list(self._commands.get(self._commands_key(p), []))

    async def _deleteMyCommands(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        with self._lock:
            self._commands.pop(self._commands_key(p), None)
        return True

    def _bot_text(self, p: dict[str, Any], field: str, value: str | None = None) -> Any:
        key = (field, str(p.get("language_code") or ""))
        with self._lock:
            if value is None:
                return {field: self._bot_texts.get(key, self.bot_user["first_name"] if field == "name" else "")}
            self._bot_texts[key] = value
            return True

    async def _setMyDescription(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        return self._bot_text(p, "description", str(p.get("description") or ""))

    async def _getMyDescription(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        return self._bot_text(p, "description")

    async def _setMyShortDescription(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        return self._bot_text(p, "short_description", str(p.get("short_description") or ""))

    async def _getMyShortDescription(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        return self._bot_text(p, "short_description")

    async def _setMyName(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        return self._bot_text(p, "name", str(p.get("name") or ""))

    async def _getMyName(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        return self._bot_text(p, "name")

    async def _setChatMenuButton(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        return True

    async def _getChatMenuButton(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        return {"type": "commands"}

    async def _answerCallbackQuery(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        if not p.get("callback_query_id"):
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        return True

    async def _answerInlineQuery(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        """Checks what Telegram checks (core.telegram.org/bots/api#answerinlinequery): a known,
        unanswered query; at most 50 results with unique ids of 1-64 bytes; a cached photo's
        file_id must be one Telegram has; an article needs its message text."""
        query_id = str(p.get("inline_query_id") or "")
        results = p.get("results")
        with self._lock:
            if query_id not in self._inline_queries or query_id in self._inline_answers:
                raise _bad("query is too old and response timeout expired or query ID is invalid")
            if not isinstance(results, list) or len(results) > 50:
                raise _bad("RESULTS_TOO_MUCH")
            ids = [r.get("id") for r in results if isinstance(r, dict)]
            if len(ids) != len(results) or len(set(ids)) != len(ids) or not all(
                    isinstance(i, str) and 1 <= len(i.encode()) <= 64 for i in ids):
                raise _bad("RESULT_ID_INVALID")
            for result in results:
                kind = result.get("type")
                if kind == "photo" and "photo_file_id" in result:
                    if result["photo_file_id"] not in self._files:
                        raise _bad("wrong file identifier/HTTP URL specified")
                elif kind == "article":
                    content = result.get("input_message_content") or {}
                    if not content.get("message_text"):
                        raise _bad("MESSAGE_EMPTY")
                else:
                    raise _bad(f"result type {kind!r} is not supported by the fake")
                if len(str(result.get("caption") or "")) > MAX_CAPTION:
                    raise _bad("MEDIA_CAPTION_TOO_LONG")
            self._inline_answers[query_id] = p
            self._changed(updates=False)
        return True

    async def _setMessageReaction(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        self._chat_for_send(p)
        return True

    async def _leaveChat(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        self._chat_for_send(p)
        return True

    async def _getChat(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        chat = self._chat_for_send(p)
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True, "limited_gifts": True, "unique_gifts": True,
                "premium_subscription": True, "gifts_from_channels": True,
            },
        }

    async def _getChatMember(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        self._chat_for_send(p)
        user_id = p.get("user_id")
        with self._lock:
            if user_id == self.bot_user["id"]:
                user = self.bot_user
            elif user_id in self._users:
                user = self._users[user_id]
            else:
                raise _bad("user not found")
        return {"status": "member", "user": user}

    async def _setWebhook(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        url = p.get("url") or ""
        if url and not str(url).startswith(("http://", "https://")):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.get("secret_token")
        if secret is not None and not _SECRET.match(str(secret)):
            raise _bad("secret token contains unallowed characters")
        max_connections = int(p.get("max_connections") or 40)
        if not 1 <= max_connections <= 100:
            raise _bad("invalid max_connections")
        allowed = p.get("allowed_updates")
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
                    "allowed_updates": allowed if isinstance(allowed, list) and allowed
                    else old.get("allowed_updates"),
                    "ip_address": p.get("ip_address"),
                    "last_error_date": None,
                    "last_error_message": None,
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

    async def _getWebhookInfo(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        with self._lock:
            hook = self._webhook
            info: dict[str, Any] = {
                "url": hook["url"] if hook else "",
                "has_custom_certificate": False,
                "pending_update_count": len(self._pending),
            }
            if hook:
                info["max_connections"] = hook["max_connections"]
                if hook["allowed_updates"]:
                    info["allowed_updates"] = hook["allowed_updates"]
                if hook["ip_address"]:
                    info["ip_address"] = hook["ip_address"]
                if hook["last_error_date"]:
                    info["last_error_date"] = hook["last_error_date"]
                    info["last_error_message"] = hook["last_error_message"]
            return info


_Handler = Callable[[FakeTelegram, dict[str, Any], dict[str, bytes]], Awaitable[Any]]
_HANDLERS: dict[str, _Handler] = {
    name: getattr(FakeTelegram, "_" + name)
    for name in (
        "getMe", "logOut", "close", "getUpdates", "getFile", "sendMessage", "sendPhoto",
        "sendDocument", "sendMediaGroup", "sendChatAction", "editMessageText",
        "editMessageCaption", "editMessageReplyMarkup", "deleteMessage", "deleteMessages",
        "setMyCommands", "getMyCommands", "deleteMyCommands", "setMyDescription",
        "getMyDescription", "setMyShortDescription", "getMyShortDescription", "setMyName",
        "getMyName", "setChatMenuButton", "getChatMenuButton", "answerCallbackQuery", "answerInlineQuery",
        "setMessageReaction", "leaveChat", "getChat", "getChatMember", "setWebhook",
        "deleteWebhook", "getWebhookInfo",
    )
}
#: Method names are case-insensitive in the Bot API.
_METHOD_NAMES: dict[str, str] = {name.lower(): name for name in _HANDLERS}
