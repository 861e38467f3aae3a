"""A small stand-in for chatbot.flow.photos.PhotoService: prepared answers, no worker pool, no index.

It has the service's method names and returns the service's own types
(``Answer``, ``Shown``, ``Person``) holding real ``search.index.Match``
values and a real JPEG thumbnail on disk. It fetches the photo the way the
service does, with the real ``fetch_photo`` through the bot, so getFile and
the download go through the offline Bot API and its faults. Admission is the
service's own (a real FairQueue), so "busy" and "overloaded" are the product's
rules.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image
from telegram import Bot

from chatbot.flow.fairqueue import FairQueue
from chatbot.flow.fetch import fetch_photo
from chatbot.flow.photos import Answer, CardWords, Person, PhotoRequest, PhotoService, Shown, search_names
from chatbot.flow.results import FaceResult, Result, ResultStore
from search.index import Match
from settings import FetchConfig
from worker.outcome import Outcome

# A transient fetch fault is final at once (the pause asked for never fits the budget) ...
GIVE_UP = FetchConfig(backoff_s=1e6, max_backoff_s=1e6)
# ... or retried at once; both without any timing margin.
RETRY_AT_ONCE = FetchConfig(backoff_s=0.0, max_backoff_s=0.0)

PEOPLE = [
    {"name": "Ada Lovelace", "wikipedia": "https://en.wikipedia.org/wiki/Ada_Lovelace"},
    {"name": "Alan Turing", "wikipedia": "https://en.wikipedia.org/wiki/Alan_Turing"},
    {"name": "Grace Hopper", "wikipedia": "javascript:alert(1)"},  # not a Wikipedia link: no button
    {"name": "Adam <Smith> & Sons"},                               # HTML in a name is escaped
    {"name": "Katherine Johnson"}, {"name": "Edsger Dijkstra"}, {"name": "Barbara Liskov"},
    {"name": "Donald Knuth"}, {"name": "Frances Allen"}, {"name": "John Backus"},
]
THUMB_KEY = "thumbs/ada.jpg"
META = {"thumbnail": THUMB_KEY, "author": "A. Photographer", "license": "CC BY-SA 4.0"}
# ranked nearest first: the answer names the first three, "More lookalikes" the next ones
RANKED = [Match(i, p["name"], 10 + i, 0.40 + 0.03 * i, round(0.87 - 0.06 * i, 2)) for i, p in enumerate(PEOPLE)]
TOP_K = 3


def person_key(person: int) -> str:
    """The thumbnail key (file_id cache) of the face that represents a person found by name."""
    return f"thumbs/person{person}.jpg"


def jpeg(colour: str, size: tuple[int, int] = (64, 64)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


PHOTO = jpeg("tan", (800, 600))       # what the offline Bot API serves as the user's photo
CARD = jpeg("navy", (1080, 640))
ANNOTATED = jpeg("grey", (800, 600))


class StandInPhotos:
    admission = PhotoService.admission
    in_progress = PhotoService.in_progress

    def __init__(self, bot: Bot, results: ResultStore, assets: Path, per_user: int = 1,
                 max_total: int = 100) -> None:
        self.bot = bot
        self.results = results
        self.assets = assets
        self.queue = FairQueue(slots=2, per_user=per_user, max_total=max_total)
        self.thumb = assets / THUMB_KEY
        self.thumb.parent.mkdir(parents=True, exist_ok=True)
        self.thumb.write_bytes(jpeg("pink"))
        # what the next photo turns out to be; tests change these
        self.outcome = Outcome.OK
        self.faces = 1
        self.detected: int | None = None
        self.card: bytes | None = CARD
        self.fetch = GIVE_UP
        # what the service was asked
        self.requests: list[PhotoRequest] = []
        self.card_words: list = []
        self.fetched: list[bytes] = []
        self.stored: list[Result] = []     # results put into the store (their tokens are in the buttons)

    async def answer(self, request: PhotoRequest, words: CardWords) -> Answer:
        self.requests.append(request)
        self.fetched.append(await fetch_photo(self.bot, request.file_id, request.file_size, self.fetch))
        if self.outcome is not Outcome.OK:
            return Answer(self.outcome)
        faces = [FaceResult(np.full(128, i, np.float32), (10 + 100 * i, 10, 90 + 100 * i, 90),
                            RANKED[i:i + TOP_K]) for i in range(self.faces)]
        result = Result(request.chat_id, request.user, request.file_id, request.lang, faces)
        self.results.put(result)
        self.stored.append(result)
        detected = self.detected or self.faces
        if self.faces > 1:
            return Answer(Outcome.OK, result, detected, ANNOTATED)
        return Answer(Outcome.OK, result, detected, None, self._shown(0, faces[0].matches, words))

    async def face_card(self, result: Result, face: int, words: CardWords) -> Shown:
        self.fetched.append(await fetch_photo(self.bot, result.file_id, None, self.fetch))
        return self._shown(face, result.faces[face].matches, words)

    def more(self, result: Result, face: int, extra: int) -> tuple[list[Match], int]:
        shown = len(result.faces[face].matches) if len(result.faces) == 1 else 1
        return RANKED[face:face + shown + extra], shown

    def gallery_size(self) -> tuple[int, int]:
        return len(PEOPLE), 3 * len(PEOPLE)

    def find_people(self, query: str, limit: int) -> list[Person]:
        names = [p["name"] for p in PEOPLE]
        return [Person(i, names[i], 10 + i, person_key(i), self.thumb) for i in search_names(names, query, limit)]

    def thumbnail(self, face: int) -> tuple[str, Path]:
        return THUMB_KEY, self.thumb

    def _shown(self, face: int, matches: list[Match], words: CardWords) -> Shown:
        best = matches[0]
        if self.card is not None:
            self.card_words.append(words(best, META))
        return Shown(face, matches, META, PEOPLE[best.person], self.thumb, self.card)
