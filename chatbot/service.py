"""Photo bytes to lookalikes: the worker pool for faces, the index for people.

Holds the current FaceIndex and swaps it for a rebuilt one (SIGHUP or a new
index.json) without disturbing searches in progress: each search uses the
index object it started with.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from search.index import META_FILE, FaceIndex, Match
from settings import Config
from worker.outcome import Face, Outcome
from worker.pool import FacePool

log = logging.getLogger(__name__)


@dataclass
class FaceMatches:
    face: Face
    matches: list[Match]


@dataclass
class Analysis:
    outcome: Outcome
    faces: list[FaceMatches] = field(default_factory=list)
    detected: int = 0
    annotated: bytes | None = None   # numbered boxes, several faces only
    index: FaceIndex | None = None   # the index the matches came from (thumbnails, credits)


class Lookalike:
    def __init__(self, config: Config, pool: FacePool, index: FaceIndex) -> None:
        self.config = config
        self.pool = pool
        self.index = index
        self._stamp = self._index_stamp()
        self._reloading = asyncio.Lock()

    async def analyse(self, data: bytes) -> Analysis:
        result = await self.pool.embed(data, annotate=True, chips=1)
        if result.outcome is Outcome.WORKER_DIED:
            # Most likely killed under the photo (OOM killer, a deploy): one more try.
            # A photo that kills its worker twice is answered as a failure.
            log.warning("worker died during a job; retrying it once")
            result = await self.pool.embed(data, annotate=True, chips=1)
        if not result.ok:
            return Analysis(result.outcome)
        index = self.index
        found = index.search([f.vector for f in result.faces], self.config.search.top_k)
        return Analysis(Outcome.OK, [FaceMatches(f, m) for f, m in zip(result.faces, found)],
                        result.detected, result.annotated, index)

    def _index_stamp(self) -> tuple[int, int] | None:
        try:
            st = (self.config.paths.assets / META_FILE).stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    async def reload(self, force: bool = False) -> bool:
        """Load a rebuilt gallery if index.json changed (or always with force); True if swapped."""
        async with self._reloading:
            stamp = self._index_stamp()
            if not force and (stamp is None or stamp == self._stamp):
                return False
            try:
                index = await asyncio.to_thread(FaceIndex.load, self.config)
            except Exception as exc:  # a half-copied gallery must not take the bot down
                log.error("gallery reload failed (%s); keeping the current one", type(exc).__name__)
                return False
            self.index, self._stamp = index, stamp
            log.info("gallery reloaded: %d faces of %d people", len(index.gallery), len(index.gallery.people))
            return True
