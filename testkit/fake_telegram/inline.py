"""Buttons and inline mode: users press a button or type "@bot query"; the bot answers with
answerCallbackQuery and answerInlineQuery."""

from __future__ import annotations

import itertools
import threading
from typing import Any

from .formatting import MAX_CAPTION
from .models import StoredFile
from .protocol import bad, copy_json


class Inline:
    """Both sides of callback and inline queries."""

    _lock: threading.RLock
    _file_seq: itertools.count[int]
    _files: dict[str, StoredFile]
    _messages: dict[tuple[int | str, int], dict[str, Any]]

    def __init__(self) -> None:
        self._inline_queries: dict[str, dict[str, Any]] = {}  # query id -> the query
        self._inline_answers: dict[str, dict[str, Any]] = {}  # query id -> answerInlineQuery params

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
                        "message": copy_json(msg),
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
            return copy_json(answer) if answer is not None else None

    async def _answerCallbackQuery(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        if not p.get("callback_query_id"):
            raise bad("query is too old and response timeout expired or query ID is invalid")
        return True

    async def _answerInlineQuery(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        """Checks what Telegram checks (core.telegram.org/bots/api#answerinlinequery): a known,
        unanswered query; at most 50 results with unique ids of 1-64 bytes; a cached photo's
        file_id must be one Telegram has; an article needs its message text."""
        query_id = str(p.get("inline_query_id") or "")
        results = p.get("results")
        with self._lock:
            if query_id not in self._inline_queries or query_id in self._inline_answers:
                raise bad("query is too old and response timeout expired or query ID is invalid")
            if not isinstance(results, list) or len(results) > 50:
                raise bad("RESULTS_TOO_MUCH")
            ids = [r.get("id") for r in results if isinstance(r, dict)]
            if len(ids) != len(results) or len(set(ids)) != len(ids) or not all(
                    isinstance(i, str) and 1 <= len(i.encode()) <= 64 for i in ids):
                raise bad("RESULT_ID_INVALID")
            for result in results:
                kind = result.get("type")
                if kind == "photo" and "photo_file_id" in result:
                    if result["photo_file_id"] not in self._files:
                        raise bad("wrong file identifier/HTTP URL specified")
                elif kind == "article":
                    content = result.get("input_message_content") or {}
                    if not content.get("message_text"):
                        raise bad("MESSAGE_EMPTY")
                else:
                    raise bad(f"result type {kind!r} is not supported by the fake")
                if len(str(result.get("caption") or "")) > MAX_CAPTION:
                    raise bad("MEDIA_CAPTION_TOO_LONG")
            self._inline_answers[query_id] = p
            self._changed(updates=False)
        return True
