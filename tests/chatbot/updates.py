"""Bot API updates as Telegram sends them (JSON dicts), for ``Update.de_json``."""
from __future__ import annotations

import itertools
import time

from tests.chatbot.offline import BOT_ID, BOT_USERNAME

USER = 1001
OTHER_USER = 1002
GROUP = -100500

_update_ids = itertools.count(1)
_message_ids = itertools.count(1)


def user(user_id: int = USER, lang: str | None = "en") -> dict:
    found = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
    if lang:
        found["language_code"] = lang
    return found


def chat(chat_id: int) -> dict:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
    return {"id": chat_id, "type": "supergroup", "title": "test group"}


def bot_user() -> dict:
    return {"id": BOT_ID, "is_bot": True, "first_name": "Lookalike", "username": BOT_USERNAME}


def message(text: str | None = None, *, chat_id: int = USER, from_id: int = USER, lang: str | None = "en",
            message_id: int | None = None, **fields: object) -> dict:
    found = {"message_id": message_id or next(_message_ids), "date": int(time.time()), "chat": chat(chat_id),
             "from": user(from_id, lang)}
    if text is not None:
        found["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            found["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    found.update(fields)
    return found


def photo_sizes(file_id: str = "photo-1", file_size: int | None = 50_000) -> list[dict]:
    """Telegram's sizes of one photo: a thumbnail, the one for the detector (800 px), and the largest."""
    sizes = []
    for suffix, (w, h), share in (("s", (90, 68), 0.02), ("", (800, 600), 0.4), ("x", (1280, 960), 1.0)):
        size = {"file_id": file_id + suffix, "file_unique_id": f"u{file_id}{suffix}", "width": w, "height": h}
        if file_size is not None:
            size["file_size"] = int(file_size * share)
        sizes.append(size)
    return sizes


def photo_message(file_id: str = "photo-1", *, caption: str | None = None, file_size: int | None = 50_000,
                  **kw: object) -> dict:
    """A photo; the size the bot should fetch has exactly ``file_id``, and ``file_size`` * 0.4 bytes."""
    fields: dict = {"photo": photo_sizes(file_id, file_size)}
    if caption is not None:
        fields["caption"] = caption
        if caption.startswith("/"):
            fields["caption_entities"] = [{"type": "bot_command", "offset": 0, "length": len(caption.split()[0])}]
    return message(**fields, **kw)


def document_message(file_id: str = "doc-1", *, mime: str = "image/png", file_name: str = "me.png",
                     file_size: int | None = 40_000, **kw: object) -> dict:
    doc = {"file_id": file_id, "file_unique_id": f"u{file_id}", "mime_type": mime, "file_name": file_name}
    if file_size is not None:
        doc["file_size"] = file_size
    return message(document=doc, **kw)


def update(message_: dict | None = None, *, update_id: int | None = None, **kinds: dict) -> dict:
    found: dict = {"update_id": update_id or next(_update_ids)}
    if message_ is not None:
        found["message"] = message_
    found.update(kinds)
    return found


def edited(message_: dict) -> dict:
    return update(edited_message={**message_, "edit_date": int(time.time())})


def press(data: str, on: dict, *, from_id: int = USER, lang: str | None = "en") -> dict:
    """A button press under the bot's message ``on``."""
    return update(callback_query={"id": f"cb{next(_update_ids)}", "from": user(from_id, lang),
                                  "chat_instance": "ci-1", "data": data, "message": on})


def bot_message(chat_id: int = USER, message_id: int | None = None, **fields: object) -> dict:
    """A message the bot sent earlier (what a button is under)."""
    return {"message_id": message_id or next(_message_ids), "date": int(time.time()), "chat": chat(chat_id),
            "from": bot_user(), **fields}


def inline(query: str, *, from_id: int = USER, lang: str | None = "en") -> dict:
    return update(inline_query={"id": f"iq{next(_update_ids)}", "from": user(from_id, lang), "query": query,
                                "offset": ""})
