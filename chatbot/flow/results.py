"""Recent results, kept in memory for the buttons under them.

What a button needs without the photo: each face's 128-d vector (to search
for more lookalikes without embedding again), its box (to cut that face's
card from the photo, fetched again from Telegram by file_id) and its
matches. Never the photo. Entries expire after ``ttl_s`` and the oldest go
first past ``max_items``, so memory stays bounded whatever the traffic.

Callback data comes from the client and is treated as hostile: it is parsed
with one strict pattern, and a token only means something while its result
is in the store, for the chat it was made in.
"""
from __future__ import annotations

import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from search.index import Match

# Telegram's stand-ins for a sender who is not a person: an anonymous group admin, a channel.
NOBODY = frozenset({1087968824, 136817688})
CALLBACK = re.compile(r"^(?P<kind>[mf]):(?P<token>[A-Za-z0-9_-]{12}):(?P<face>\d{1,2})$|^l:(?P<lang>[a-z]{2,3})$")


@dataclass
class FaceResult:
    vector: np.ndarray
    box: tuple[int, int, int, int]
    matches: list[Match]


@dataclass
class Result:
    chat_id: int
    user_id: int       # only they may share it
    file_id: str
    lang: str
    faces: list[FaceResult]
    token: str = ""
    created: float = field(default_factory=time.monotonic)

    def may_press(self, user_id: int | None) -> bool:
        """Whoever asked about the photo, and only they, may press its buttons: in a group,
        nobody else opens more lookalikes or face cards of someone's face. A photo sent
        anonymously (no person to ask) leaves its buttons to the chat."""
        anonymous = self.user_id in NOBODY or self.user_id == self.chat_id
        return anonymous or user_id == self.user_id


@dataclass(frozen=True)
class Callback:
    kind: str          # "m": more lookalikes, "f": a face's card, "l": language
    token: str = ""
    face: int = 0
    lang: str = ""


def parse_callback(data: str | None) -> Callback | None:
    """The button's meaning, or None for anything this bot did not make."""
    if not data or len(data) > 64:
        return None
    found = CALLBACK.fullmatch(data)
    if found is None:
        return None
    if found["lang"]:
        return Callback("l", lang=found["lang"])
    return Callback(found["kind"], found["token"], int(found["face"]))


def callback_data(kind: str, token: str, face: int) -> str:
    return f"{kind}:{token}:{face}"


class ResultStore:
    def __init__(self, ttl_s: float, max_items: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.max_items = max_items
        self.clock = clock
        self._items: OrderedDict[str, Result] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, result: Result) -> str:
        self._expire()
        result.token = secrets.token_urlsafe(9)  # 12 characters, unguessable
        result.created = self.clock()
        self._items[result.token] = result
        while len(self._items) > self.max_items:
            self._items.popitem(last=False)
        return result.token

    def get(self, token: str, chat_id: int | None = None) -> Result | None:
        """The result if it is still here (and, given chat_id, was made in that chat)."""
        self._expire()
        result = self._items.get(token)
        if result is None or (chat_id is not None and result.chat_id != chat_id):
            return None
        return result

    def _expire(self) -> None:
        cutoff = self.clock() - self.ttl_s
        while self._items:
            token, oldest = next(iter(self._items.items()))
            if oldest.created >= cutoff:
                break
            del self._items[token]
