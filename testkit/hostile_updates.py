"""Generated Bot API updates with any field missing, null, of the wrong type or huge (hypothesis).

Shaped like Telegram's (messages, channel posts, button presses, inline queries,
photos, documents, replies), so that most of them get past JSON parsing and
reach the journal and the handlers; every field may also be something else.
"""
from __future__ import annotations

from hypothesis import strategies as st

ODD = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=30)
       | st.lists(st.integers(), max_size=2) | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
       | st.builds(lambda n: "é" * n, st.integers(1_000, 100_000)))  # huge, at little cost to the generator


def field(valid: st.SearchStrategy) -> st.SearchStrategy:
    """Usually a valid value, one time in four anything else (so that many updates get past parsing)."""
    return st.integers(0, 3).flatmap(lambda k: ODD if k == 0 else valid)


def record(fields: dict[str, st.SearchStrategy]) -> st.SearchStrategy:
    return st.fixed_dictionaries({}, optional={k: field(v) for k, v in fields.items()})


IDS = st.integers(1, 2**40)
USER = record({"id": IDS, "is_bot": st.booleans(), "first_name": st.text(max_size=8),
               "language_code": st.sampled_from(["en", "ru", "pt-br", ""])})
CHAT = record({"id": st.integers(-2**40, 2**40),
               "type": st.sampled_from(["private", "group", "supergroup", "channel"])})
SIZE = record({"file_id": st.text(min_size=1, max_size=8), "file_unique_id": st.text(max_size=4),
               "width": st.integers(0, 5000), "height": st.integers(0, 5000), "file_size": st.integers(0, 2**31)})
DOCUMENT = record({"file_id": st.text(min_size=1, max_size=8), "file_unique_id": st.text(max_size=4),
                   "mime_type": st.sampled_from(["image/jpeg", "application/pdf", "image/heic"]),
                   "file_name": st.text(max_size=12), "file_size": st.integers(0, 2**31)})
FLAT = {"message_id": IDS, "date": st.integers(0, 2**32), "chat": CHAT, "from": USER,
        "photo": st.lists(SIZE, max_size=3), "document": DOCUMENT, "text": st.sampled_from(["/start", "/help", "hi"]),
        "caption": st.sampled_from(["/lookalike", "hello"]), "sticker": record({"file_id": st.text(max_size=3)})}
MESSAGE = record({**FLAT, "reply_to_message": record(FLAT)})
PRESS = record({"id": st.text(max_size=4), "from": USER, "chat_instance": st.text(max_size=4),
                "data": st.sampled_from(["m:abcdefghijkl:0", "f:abcdefghijkl:1", "l:ru", "junk"]),
                "message": MESSAGE})
UPDATE = st.fixed_dictionaries(
    {"update_id": field(st.integers(0, 2**62))},
    optional={"message": field(MESSAGE), "edited_message": field(MESSAGE), "channel_post": field(MESSAGE),
              "callback_query": field(PRESS),
              "inline_query": field(record({"id": st.text(max_size=4), "from": USER, "query": st.text(max_size=9)}))})



def message(**fields) -> dict:
    """A private-chat message with ``fields`` added or replaced."""
    return {"message_id": 7, "date": 1764547200, "chat": {"id": 42, "type": "private"}, **fields}


# Each of these once made every start die while replaying (TypeError in Update.de_json).
POISON = [
    {"update_id": 10, "message": message(**{"from": None}, photo=[{"file_id": "p", "file_unique_id": "q",
                                                                    "width": 9, "height": 9}])},
    {"update_id": 11, "channel_post": message(chat={"id": -1001, "type": "channel"}, text="/start")},
    {"update_id": 12, "callback_query": {"id": "1", "chat_instance": "c", "data": "m:abcdefghijkl:0"}},
    {"update_id": 13, "message": message(reply_to_message={"message_id": 1, "from": None, "chat": None})},
    {"update_id": 14, "message": {"message_id": 8, "chat": {"id": 42, "type": "private"}}},  # no date
]
