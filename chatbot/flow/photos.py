"""One photo in, one answer out: fetch, embed, search and the card, with no Telegram UI in it.

The handlers (chatbot/ui/) only word and send what this returns. It owns the
fair queue (who may have a photo in progress, whose turn it is at the worker
pool), the result store the buttons read, and the only trips to the worker
pool: embedding, and the card. The photo's bytes stay in memory: fetched,
handed to a worker, dropped.
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from telegram import Bot

from chatbot.flow.fairqueue import FairQueue
from chatbot.flow.fetch import MAX_DOWNLOAD, fetch_photo
from chatbot.flow.live_index import LiveIndex
from chatbot.flow.results import FaceResult, Result, ResultStore
from search.index import FaceIndex, Match
from settings import Config
from worker.card import CardText
from worker.outcome import EmbedResult, Outcome
from worker.pool import FacePool

log = logging.getLogger(__name__)
POOL_LOSSES = 3  # tries for a job whose pool broke under it

CardWords = Callable[[Match, dict], CardText]  # the card's words for a match and its gallery face, in the user's language


@dataclass(frozen=True)
class PhotoRequest:
    chat_id: int
    user: int
    file_id: str
    file_size: int | None
    lang: str


@dataclass
class Shown:
    """One face's lookalike as the user sees it: the card, or failing that the celebrity's photo."""
    face: int                  # which face of the result
    matches: list[Match]
    meta: dict                 # the best match's gallery face: thumbnail key, author, licence
    person: dict               # the best match's person: name, Wikipedia link
    thumbnail: Path
    card: bytes | None         # None: no card wanted, or it could not be made


@dataclass
class Answer:
    outcome: Outcome
    result: Result | None = None    # stored for the buttons under the answer (OK only)
    detected: int = 0               # faces detected, before the max_faces cut
    annotated: bytes | None = None  # numbered boxes, several faces only
    shown: Shown | None = None      # one face only

    @property
    def faces(self) -> list[FaceResult]:
        return self.result.faces if self.result else []


@dataclass(frozen=True)
class Person:
    """A celebrity found by name (inline search), with the face whose photo represents them."""
    index: int                 # into the gallery's people
    name: str
    face: int
    thumbnail_key: str
    thumbnail: Path


class PhotoService:
    def __init__(self, config: Config, pool: FacePool, index: LiveIndex, results: ResultStore, bot: Bot) -> None:
        self.config = config
        self.pool = pool
        self.index = index
        self.results = results
        self.bot = bot
        limits = config.telegram.limits
        self.queue = FairQueue(slots=pool.workers * 2, per_user=limits.per_user_pending,
                               max_total=limits.max_in_flight)

    @property
    def in_progress(self) -> int:
        """Photos admitted and not yet answered."""
        return self.queue.in_progress

    @contextlib.contextmanager
    def admission(self, user: int, file_size: int | None) -> Iterator[str | None]:
        """None while the photo may go on, else why not ("too_big_file", "busy", "overloaded").

        An admitted photo counts against its user until the block ends, that is
        until its answer was sent.
        """
        refusal = "too_big_file" if file_size and file_size > MAX_DOWNLOAD else self.queue.admit(user)
        try:
            yield refusal
        finally:
            if refusal is None:
                self.queue.leave(user)

    async def answer(self, request: PhotoRequest, words: CardWords) -> Answer:
        """Raises FileTooBig, FetchFailed or BadRequest when the photo cannot be had from Telegram."""
        data = await fetch_photo(self.bot, request.file_id, request.file_size, self.config.telegram.fetch)
        async with self.queue.slot(request.user):
            embedded = await self._embed(data)
            if not embedded.ok:
                return Answer(embedded.outcome)
            index = self.index.current  # one index for the whole answer, even if a reload swaps it now
            found = index.search([f.vector for f in embedded.faces], self.config.search.top_k)
        faces = [FaceResult(f.vector, f.box, m) for f, m in zip(embedded.faces, found)]
        result = Result(request.chat_id, request.user, request.file_id, request.lang, faces)
        self.results.put(result)
        shown = None
        if len(faces) == 1:
            shown = await self._shown(index, 0, faces[0].matches, words, chip=embedded.faces[0].chip)
        return Answer(Outcome.OK, result, embedded.detected, embedded.annotated, shown)

    async def face_card(self, result: Result, face: int, words: CardWords) -> Shown:
        """One face of a group photo as a card: the photo is fetched from Telegram again by file_id."""
        data = await fetch_photo(self.bot, result.file_id, None, self.config.telegram.fetch)
        stored = result.faces[face]
        return await self._shown(self.index.current, face, stored.matches, words, photo=data, box=stored.box)

    def more(self, result: Result, face: int, extra: int) -> tuple[list[Match], int]:
        """The face's matches again, ``extra`` people past those its answer named, and how many it named."""
        shown = len(result.faces[face].matches) if len(result.faces) == 1 else 1
        [matches] = self.index.current.search([result.faces[face].vector], shown + extra)
        return matches, shown

    def gallery_size(self) -> tuple[int, int]:
        """(people, faces) in the gallery now."""
        gallery = self.index.current.gallery
        return len(gallery.people), len(gallery)

    def find_people(self, query: str, limit: int) -> list[Person]:
        """People whose name contains the query, names that start with it first (inline search)."""
        gallery = self.index.current.gallery
        found = []
        for person in search_names(gallery.names, query, limit):
            faces = np.flatnonzero(gallery.person_ids == person)
            if len(faces):
                face = int(faces[0])
                found.append(Person(person, gallery.name(person), face, gallery.faces[face]["thumbnail"],
                                    gallery.thumbnail(face)))
        return found

    def thumbnail(self, face: int) -> tuple[str, Path]:
        """A gallery face's thumbnail: its key (for the file_id cache) and its file."""
        gallery = self.index.current.gallery
        return gallery.faces[face]["thumbnail"], gallery.thumbnail(face)

    async def _embed(self, data: bytes) -> EmbedResult:
        """The photo embedded, tried again when a worker died under it.

        A worker killed under the photo (OOM killer, a deploy) gets the photo one more
        try; a photo that kills its worker twice is answered as a failure. A job lost
        because its whole pool broke (a worker killed mid-message, a pool replaced) is
        not the photo's doing and is tried again up to POOL_LOSSES times.
        """
        kills = losses = 0
        while True:
            result = await self.pool.embed(data, annotate=True, chips=1)
            if result.outcome is not Outcome.WORKER_DIED:
                return result
            if result.lost_with_pool:
                losses += 1
            else:
                kills += 1
            if kills >= 2 or losses >= POOL_LOSSES:
                return result
            log.warning("worker died during a job (%s); trying it again", "pool" if losses else "worker")

    async def _shown(self, index: FaceIndex, face: int, matches: list[Match], words: CardWords, *,
                     chip: bytes | None = None, photo: bytes | None = None,
                     box: tuple[int, int, int, int] | None = None) -> Shown:
        """The card from the face's chip, or cut from the photo again; None if either is missing or fails."""
        best = matches[0]
        meta = index.gallery.faces[best.face]
        thumb = index.gallery.thumbnail(best.face)
        card = None
        if self.config.telegram.result_card:
            if chip is not None:
                card = await self.pool.card(chip, thumb, words(best, meta))
            elif photo is not None and box is not None:
                card = await self.pool.card_from_photo(photo, box, thumb, words(best, meta))
        return Shown(face, matches, meta, index.gallery.people[best.person], thumb, card)


def search_names(names: list[str], query: str, limit: int) -> list[int]:
    """People whose name contains the query (case-insensitive); names that start with it first."""
    q = query.casefold().strip()
    if not q:
        return []
    hits = [(not name.casefold().startswith(q), len(name), i) for i, name in enumerate(names) if q in name.casefold()]
    return [i for *_, i in sorted(hits)[:limit]]
