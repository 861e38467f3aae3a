"""Plain records the fake keeps about what the bot did and what it stores."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: The methods the fake serves that put a new message into a chat; Telegram's flood limits count these.
SEND_METHODS: frozenset[str] = frozenset({"sendMessage", "sendPhoto"})


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
        """The Message object returned to the bot for a send (none for other calls)."""
        if isinstance(self.result, dict) and "message_id" in self.result:
            return [self.result]
        return []

    @property
    def message_ids(self) -> list[int]:
        return [m["message_id"] for m in self.messages]


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
