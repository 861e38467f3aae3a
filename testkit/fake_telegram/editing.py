"""The bot edits a message it sent (a button press turns into its answer): editMessageText."""

from __future__ import annotations

import threading
import time
from typing import Any

from .formatting import MAX_TEXT
from .protocol import bad, copy_json


class Editing:
    """editMessageText, with Telegram's "message is not modified" refusal."""

    bot_user: dict[str, Any]
    _lock: threading.RLock
    _messages: dict[tuple[int | str, int], dict[str, Any]]

    async def _editMessageText(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        plain = self._check_text(p, "text", MAX_TEXT, required=True)
        with self._lock:
            msg = self._own_message(p, "edit")
            if "text" not in msg:
                raise bad("there is no text in the message to edit")
            before = copy_json(msg)
            msg["text"] = plain
            return self._finish_edit(msg, before, p)

    def _own_message(self, params: dict[str, Any], action: str) -> dict[str, Any]:
        if params.get("inline_message_id"):
            raise bad("inline messages are not supported by the fake")
        chat = self._chat_for_send(params)
        key = (chat["id"], params.get("message_id"))
        with self._lock:
            msg = self._messages.get(key)
            if msg is None:
                raise bad(f"message to {action} not found")
            if msg["from"]["id"] != self.bot_user["id"]:
                raise bad(f"message can't be {action}ed")
            return msg

    def _finish_edit(self, msg: dict[str, Any], before: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            msg["reply_markup"] = markup
        else:
            msg.pop("reply_markup", None)  # an edit without reply_markup removes the keyboard
        if msg == before:
            raise bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        msg["edit_date"] = int(time.time())
        return copy_json(msg)
