"""The bot sends: sendMessage, sendPhoto and sendChatAction, checked as Telegram checks them
(the chat, the message quoted, entities and lengths, the photo itself)."""

from __future__ import annotations

import threading
import time
from typing import Any

from .formatting import MAX_CAPTION, MAX_TEXT, EntityError, plain_text, utf16_len
from .protocol import ApiError, bad, copy_json

_CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note",
        "upload_video_note",
    }
)


class Sending:
    """The send methods, and the checks every message the bot sends goes through."""

    bot_user: dict[str, Any]
    _lock: threading.RLock
    _chats: dict[int | str, dict[str, Any]]
    _messages: dict[tuple[int | str, int], dict[str, Any]]
    _blocked: dict[int | str, str]

    async def _sendMessage(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        self._chat_for_send(p)
        plain = self._check_text(p, "text", MAX_TEXT, required=True)
        return self._bot_message(p, {"text": plain})

    async def _sendPhoto(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        self._chat_for_send(p)
        caption = self._caption_fields(p)
        sizes = await self._photo_from(p.get("photo"), f, "photo")
        return self._bot_message(p, {"photo": sizes, **caption})

    async def _sendChatAction(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        self._chat_for_send(p)
        if p.get("action") not in _CHAT_ACTIONS:
            raise bad("wrong parameter action in request")
        return True

    def _chat_for_send(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise bad("chat_id is empty")
        with self._lock:
            if isinstance(chat_id, str):
                match = next((c for c in self._chats.values()
                              if c.get("username") and "@" + c["username"] == chat_id), None)
                if match is None:
                    raise bad("chat not found")
                chat_id = match["id"]
            if not isinstance(chat_id, int):
                raise bad("chat not found")
            if chat_id in self._blocked:
                raise ApiError(403, self._blocked[chat_id])
            chat = self._chats.get(chat_id)
            if chat is None:  # a chat no user has written from: Telegram knows it, the fake makes it up
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
            if msg is None:
                if allow:
                    return None
                raise bad("message to be replied not found")
            return self._without_reply(msg)

    def _check_text(self, params: dict[str, Any], field: str, limit: int, required: bool) -> str | None:
        text = params.get(field)
        if text is None or text == "":
            if required:
                raise bad("message text is empty")
            return None
        if not isinstance(text, str):
            text = str(text)
        try:
            plain = plain_text(text, params.get("parse_mode"))
        except EntityError as exc:
            raise ApiError(400, str(exc)) from None
        if not plain.strip() and required:
            raise bad("text must be non-empty")
        if utf16_len(plain) > limit:
            raise bad("message is too long" if field == "text" else "message caption is too long")
        return plain

    def _caption_fields(self, params: dict[str, Any]) -> dict[str, Any]:
        plain = self._check_text(params, "caption", MAX_CAPTION, required=False)
        return {"caption": plain} if plain is not None else {}

    def _bot_message(self, params: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
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
            }
            if reply is not None:
                msg["reply_to_message"] = reply
            if isinstance(params.get("reply_markup"), dict) and "inline_keyboard" in params["reply_markup"]:
                msg["reply_markup"] = params["reply_markup"]
            self._messages[(chat["id"], msg["message_id"])] = msg
            return copy_json(msg)
