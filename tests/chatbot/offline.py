"""An offline Bot API: python-telegram-bot's request seam, answered from memory.

Like python-telegram-bot's own test suite, the fast layer replaces the HTTP
client with a ``telegram.request.BaseRequest`` subclass. Every ``Bot`` method
the bot calls ends in ``do_request`` here, which answers the way the Bot API
does (the same JSON, the same error payloads, so PTB raises BadRequest,
Forbidden, RetryAfter or NetworkError itself) and records the call: method,
parameters as PTB sends them, and uploaded files. Nothing touches the network.

Faults are queued per method: ``fail("sendPhoto", 400)`` makes the next
sendPhoto fail, ``time_out("getFile")`` raises TimedOut, ``hold("getFile")``
keeps the next call waiting until the test releases it. File downloads (the
GET on the file URL that ``File.download_as_bytearray`` makes) are recorded
as the pseudo-method ``DOWNLOAD``.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

BOT_ID = 424242
BOT_USERNAME = "lookalike_test_bot"
TOKEN = f"{BOT_ID}:AAoffline-test-token-not-a-real-one"
DOWNLOAD = "download"   # the file GET, recorded like a method
FILE_PATH = "photos/"   # getFile's file_path prefix; the download URL is base_file_url + token + "/" + file_path

ERRORS = {400: "Bad Request: test fault", 403: "Forbidden: bot was blocked by the user",
          409: "Conflict: terminated by other getUpdates request", 429: "Too Many Requests: retry later",
          500: "Internal Server Error", 502: "Bad Gateway"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, tuple] = field(default_factory=dict)  # part name -> (filename, bytes, mime)
    url: str = ""

    def __getitem__(self, key: str) -> Any:
        return self.params[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)


@dataclass
class Fault:
    status: int = 0                  # an HTTP error status; 0 with timeout=True: TimedOut
    description: str = ""
    retry_after: int | None = None
    timeout: bool = False
    gate: asyncio.Event | None = None  # hold: wait for this, then answer normally


class OfflineBotAPI(BaseRequest):
    """Answers the Bot API methods the bot calls; see the module docstring."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.files: dict[str, bytes] = {}            # file_id -> content (getFile + download)
        self.file_sizes: dict[str, int] = {}         # file_id -> the size getFile reports, if not len(content)
        self.updates: list[dict] = []                # what getUpdates hands out, in update_id order
        self.offsets: list[int | None] = []          # the offset of each getUpdates call
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._message_ids = itertools.count(5000)
        self._sent_files = itertools.count(1)
        self._new_updates = asyncio.Event()
        self.webhook_deleted = 0

    # -- BaseRequest ---------------------------------------------------------------
    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = None, write_timeout: Any = None, connect_timeout: Any = None,
                         pool_timeout: Any = None) -> tuple[int, bytes]:
        if method == "GET":
            token, _, file_path = unquote(urlsplit(url).path).split("/file/bot", 1)[1].partition("/")
            assert token == TOKEN, "a download for another bot's token"
            name, params, files = DOWNLOAD, {"file_path": file_path}, {}
        else:
            name = url.rsplit("/", 1)[-1]
            params = request_data.parameters if request_data else {}
            files = {part: (name_, content if isinstance(content, bytes) else content.read(), mime)
                     for part, (name_, content, mime) in (request_data.multipart_data.items()
                                                          if request_data and request_data.contains_files else ())}
        self.calls.append(Call(name, params, files, url))
        fault = self._faults[name].popleft() if self._faults[name] else None
        if fault and fault.gate is not None:
            await fault.gate.wait()
            fault = None
        if fault and fault.timeout:
            raise TimedOut("offline: timed out")
        if fault:
            body: dict[str, Any] = {"ok": False, "error_code": fault.status,
                                    "description": fault.description or ERRORS.get(fault.status, "Error")}
            if fault.retry_after is not None:
                body["parameters"] = {"retry_after": fault.retry_after}
            return fault.status, json.dumps(body).encode()
        if name == "getFile" and params["file_id"] not in self.files:
            return 400, json.dumps({"ok": False, "error_code": 400,
                                    "description": "Bad Request: invalid file_id"}).encode()
        if name == DOWNLOAD:
            file_id = params["file_path"].removeprefix(FILE_PATH)
            if file_id not in self.files:
                return 404, json.dumps({"ok": False, "error_code": 404, "description": "Not Found"}).encode()
            return 200, self.files[file_id]
        if name == "getUpdates":
            result: Any = await self._get_updates(params)
        else:
            answer = getattr(self, f"_{name}", None)
            result = answer(params) if answer else True
        return 200, json.dumps({"ok": True, "result": result}).encode()

    # -- what a test tells it --------------------------------------------------------
    def fail(self, method: str, status: int, description: str = "", retry_after: int | None = None,
             times: int = 1) -> None:
        """The next ``times`` calls of ``method`` get this Bot API error."""
        for _ in range(times):
            self._faults[method].append(Fault(status, description, retry_after))

    def time_out(self, method: str, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` raise TimedOut (as a stalled connection does)."""
        for _ in range(times):
            self._faults[method].append(Fault(timeout=True))

    def hold(self, method: str) -> asyncio.Event:
        """The next call of ``method`` waits until the returned event is set."""
        gate = asyncio.Event()
        self._faults[method].append(Fault(gate=gate))
        return gate

    def serve_file(self, file_id: str, content: bytes, reported_size: int | None = None) -> None:
        self.files[file_id] = content
        if reported_size is not None:
            self.file_sizes[file_id] = reported_size

    def push_update(self, *updates: dict) -> None:
        """Updates for getUpdates, as Telegram would queue them."""
        self.updates.extend(updates)
        self.updates.sort(key=lambda u: u["update_id"])
        self._new_updates.set()

    # -- what a test reads ---------------------------------------------------------------
    def sent(self, *methods: str) -> list[Call]:
        """The calls of these methods (all calls if none named), in order."""
        return [c for c in self.calls if not methods or c.method in methods]

    def answers(self) -> list[Call]:
        """What a user sees in a chat: sent messages and photos."""
        return self.sent("sendMessage", "sendPhoto")

    def clear(self) -> None:
        self.calls.clear()


    # -- answers, as the Bot API gives them ------------------------------------------------
    def _bot_user(self) -> dict:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Lookalike", "username": BOT_USERNAME,
                "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": True}

    def _getMe(self, params: dict) -> dict:
        return self._bot_user()

    def _message(self, params: dict) -> dict:
        chat_id = int(params["chat_id"])
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        if chat_id < 0:
            chat["title"] = "test group"
        return {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat,
                "from": self._bot_user()}

    def _sendMessage(self, params: dict) -> dict:
        return {**self._message(params), "text": params["text"]}

    def _sendPhoto(self, params: dict) -> dict:
        n = next(self._sent_files)
        photo = params.get("photo")
        file_id = photo if isinstance(photo, str) and not photo.startswith("attach://") else f"sent-photo-{n}"
        sizes = [{"file_id": f"{file_id}-small", "file_unique_id": f"u{n}s", "width": 90, "height": 90,
                  "file_size": 1000},
                 {"file_id": file_id, "file_unique_id": f"u{n}", "width": 512, "height": 512, "file_size": 20000}]
        message = {**self._message(params), "photo": sizes}
        if params.get("caption"):
            message["caption"] = params["caption"]
        return message

    def _editMessageText(self, params: dict) -> dict | bool:
        if "inline_message_id" in params:
            return True
        return {**self._message(params), "message_id": int(params["message_id"]), "text": params["text"]}

    def _getFile(self, params: dict) -> dict:
        file_id = params["file_id"]
        size = self.file_sizes.get(file_id, len(self.files[file_id]))
        return {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_size": size,
                "file_path": f"{FILE_PATH}{file_id}"}

    def _deleteWebhook(self, params: dict) -> bool:
        self.webhook_deleted += 1
        return True

    async def _get_updates(self, params: dict) -> list[dict]:
        """Updates from the offset on; an offset confirms (and forgets) everything below it."""
        offset = params.get("offset")
        self.offsets.append(offset)
        if offset is not None:
            self.updates = [u for u in self.updates if u["update_id"] >= int(offset)]
        limit = int(params.get("limit", 100))
        if not self.updates and params.get("timeout", 0):
            # a long poll: waits for new updates (for ever here; stopping the poller cancels it)
            self._new_updates.clear()
            await self._new_updates.wait()
        return self.updates[:limit]


async def eventually(condition: Callable[[], bool], hang_guard_s: float = 10.0) -> None:
    """Let the event loop run until ``condition()`` holds. The limit only stops a hung test:
    nothing is asserted about how long it took."""
    async def wait() -> None:
        while not condition():
            await asyncio.sleep(0.001)
    await asyncio.wait_for(wait(), hang_guard_s)
