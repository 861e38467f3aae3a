"""Plain records the fake keeps about what the bot did, and how tests describe faults."""

from __future__ import annotations

import random
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

#: Methods that put a new message into a chat; these are what Telegram's flood limits count.
SEND_METHODS: frozenset[str] = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendMediaGroup",
        "sendSticker",
        "copyMessage",
        "forwardMessage",
    }
)


@dataclass(frozen=True)
class Call:
    """One HTTP request the bot made, recorded once its response was decided.

    ``time`` is ``time.monotonic()`` at arrival, so rate checks see when the bot *sent* it.
    ``params`` are decoded the way Telegram decodes them (numbers and JSON objects parsed,
    text fields kept as strings); ``files`` maps multipart part names to uploaded bytes.
    File downloads are recorded too, with ``method == "file"`` and ``params["file_path"]``.
    """

    method: str
    params: dict[str, Any]
    files: dict[str, bytes]
    time: float
    status: int
    result: Any = None
    description: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def chat_id(self) -> int | str | None:
        return self.params.get("chat_id")

    @property
    def reply_to_message_id(self) -> int | None:
        """The message this send quotes, whichever of the two API spellings the bot used."""
        rp = self.params.get("reply_parameters")
        if isinstance(rp, dict) and isinstance(rp.get("message_id"), int):
            return rp["message_id"]
        rid = self.params.get("reply_to_message_id")
        return rid if isinstance(rid, int) else None

    @property
    def text(self) -> str | None:
        """``text`` or ``caption`` as the bot sent it (before entity parsing)."""
        value = self.params.get("text", self.params.get("caption"))
        return value if isinstance(value, str) else None

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Message objects returned to the bot (a media group returns several)."""
        if isinstance(self.result, dict) and "message_id" in self.result:
            return [self.result]
        if isinstance(self.result, list):
            return [m for m in self.result if isinstance(m, dict) and "message_id" in m]
        return []

    @property
    def message_ids(self) -> list[int]:
        return [m["message_id"] for m in self.messages]


@dataclass(frozen=True)
class FaultSpec:
    """What to do instead of (or before) handling a request.

    ``status=None`` with a ``delay`` just stalls the request and then handles it normally,
    which is how Telegram behaves when the client gives up on a slow reply: the message may
    still be sent.  A 429 carries ``parameters.retry_after`` (default 1) like Telegram's.

    ``reset=True`` drops the connection without an answer and without handling the request
    (a proxy or a stale keep-alive connection).  For file downloads (``call.method == "file"``)
    ``truncate=N`` sends only the first N bytes of the file: with ``short=False`` the headers
    announce the whole file and the connection breaks mid-body; with ``short=True`` the
    response is complete but shorter than the ``file_size`` getFile reported.
    """

    status: int | None = 500
    retry_after: int | None = None
    description: str | None = None
    delay: float = 0.0
    reset: bool = False
    truncate: int | None = None
    short: bool = False

    def body(self) -> dict[str, Any]:
        assert self.status is not None
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description or default_description(self.status, self.retry_after),
        }
        if self.status == 429:
            body["parameters"] = {"retry_after": self.retry_after or 1}
        return body


FaultHook = Callable[[Call], "FaultSpec | None"]


def default_description(status: int, retry_after: int | None = None) -> str:
    """Telegram's wording for the common error codes."""
    if status == 429:
        return f"Too Many Requests: retry after {retry_after or 1}"
    return {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        409: "Conflict",
        413: "Request Entity Too Large",
        500: "Internal Server Error",
        502: "Bad Gateway",
        504: "Gateway Timeout",
    }.get(status, f"Error {status}")


def random_faults(
    rate: float,
    *,
    seed: int = 0,
    statuses: Collection[int] = (500, 429),
    retry_after: int = 1,
    methods: Collection[str] | None = None,
) -> FaultHook:
    """A reproducible ``set_fault`` hook failing about ``rate`` of the (matching) requests."""
    rng = random.Random(seed)
    choices = list(statuses)
    wanted = {m.lower() for m in methods} if methods is not None else None

    def hook(call: Call) -> FaultSpec | None:
        if wanted is not None and call.method.lower() not in wanted:
            return None
        if rng.random() >= rate:
            return None
        status = rng.choice(choices)
        return FaultSpec(status=status, retry_after=retry_after if status == 429 else None)

    return hook


@dataclass(frozen=True)
class WebhookDelivery:
    """One attempt to POST an update to the bot's webhook.

    ``status`` is None when no HTTP response came back (refused, reset, timed out).
    """

    update_id: int
    attempt: int
    status: int | None
    time: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class StoredFile:
    """A file Telegram "has": what getFile reports and what the download route serves."""

    file_id: str
    file_unique_id: str
    kind: str  # photos, documents, stickers
    data: bytes
    size: int
    extension: str
    meta: dict[str, Any] = field(default_factory=dict)  # the PhotoSize/Document/... object
    path: str | None = None
    group: str | None = None  # photos: key of the set of sizes this one belongs to
