"""The people talking to the bot: their messages become updates, as Telegram would send them."""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Iterable
from typing import Any

from .formatting import command_entities
from .media import photo_sizes, sticker_bytes
from .protocol import copy_json


class Users:
    """``send_*`` simulate a user; each returns the new message's id and queues its update."""

    _lock: threading.RLock
    _file_seq: itertools.count[int]
    _messages: dict[tuple[int | str, int], dict[str, Any]]
    _chats: dict[int | str, dict[str, Any]]

    def __init__(self) -> None:
        self._pending: list[dict[str, Any]] = []  # unconfirmed updates, in order
        self._update_ids = itertools.count(10_000)
        self._message_ids: dict[int | str, itertools.count[int]] = {}
        self._user_messages: list[tuple[str, int | str, int]] = []  # (kind, chat_id, message_id)

    def enqueue_raw_update(self, update: dict[str, Any]) -> int:
        """Queue any update (``update_id`` is assigned when missing); returns the update_id."""
        with self._lock:
            update = dict(update)
            update.setdefault("update_id", next(self._update_ids))
            for kind in ("message", "edited_message", "channel_post"):
                msg = update.get(kind)
                if isinstance(msg, dict) and "chat" in msg and "message_id" in msg:
                    self._messages[(msg["chat"]["id"], msg["message_id"])] = copy_json(msg)
            self._pending.append(update)
            self._changed()
            return update["update_id"]

    def send_text(self, chat_id: int, text: str, **sender: Any) -> int:
        """A user writes ``text``; commands get bot_command entities. Returns the message_id.

        The sender keywords (shared by all ``send_*``): ``user_id`` (defaults to ``chat_id`` in
        private chats), ``first_name``, ``language_code`` ("en"), ``username``; ``chat_type``
        ("private"; groups need ``"group"``/``"supergroup"`` and a negative id) and ``title``;
        ``reply_to``, the message_id this one answers.
        """
        fields: dict[str, Any] = {"text": text}
        entities = command_entities(text)
        if entities:
            fields["entities"] = entities
        return self._user_message(chat_id, "text", fields, **sender)

    def send_reply(self, chat_id: int, text: str, reply_to_message_id: int, **sender: Any) -> int:
        """A user answers an earlier message, e.g. ``/lookalike`` on a photo."""
        return self.send_text(chat_id, text, reply_to=reply_to_message_id, **sender)

    def send_photo(self, chat_id: int, image_bytes: bytes, *, caption: str | None = None,
                   media_group_id: str | None = None, **sender: Any) -> int:
        """A user sends a photo; Telegram turns it into JPEG sizes (see :mod:`.media`)."""
        sizes = photo_sizes(image_bytes)  # may raise PhotoError for a non-image
        fields: dict[str, Any] = {"photo": self._store_photo_sizes(sizes), **self._caption(caption)}
        if media_group_id is not None:
            fields["media_group_id"] = media_group_id
        return self._user_message(chat_id, "photo", fields, **sender)

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

    def send_document(self, chat_id: int, data: bytes, file_name: str, mime_type: str, *,
                      declared_size: int | None = None, caption: str | None = None, **sender: Any) -> int:
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
        return self._user_message(chat_id, "document", fields, **sender)

    def send_sticker(self, chat_id: int, emoji: str = "😀", **sender: Any) -> int:
        """A user sends a sticker (a real WebP); ``sender`` as for :meth:`send_text`."""
        stored = self._store_file("stickers", sticker_bytes(), ".webp", prefix="CAAC", unique_prefix="AgAD")
        stored.meta = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "type": "regular",
                       "width": 512, "height": 512, "is_animated": False, "is_video": False, "emoji": emoji,
                       "set_name": "TestStickers", "file_size": stored.size}
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
            self.enqueue_raw_update({"edited_message": copy_json(msg)})
            return message_id

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
                msg["reply_to_message"] = self._without_reply(original)
            self._messages[(chat_id, message_id)] = msg
            self._user_messages.append((kind, chat_id, message_id))
            self.enqueue_raw_update({"message": copy_json(msg)})
            return message_id

    def _next_message_id(self, chat_id: int | str) -> int:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        return next(counter)

    @staticmethod
    def _without_reply(msg: dict[str, Any]) -> dict[str, Any]:
        """Telegram nests reply_to_message only one level deep."""
        copy = copy_json(msg)
        copy.pop("reply_to_message", None)
        return copy
