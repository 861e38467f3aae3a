"""The gallery index the bot searches now, swapped for a rebuilt one without a restart.

A rebuilt gallery (SIGHUP, or a new index.json noticed by the watcher) is
loaded beside the current one and swapped in whole: each answer keeps the
index object it started with (chatbot/flow/photos.py), so a search in
progress never mixes two galleries.
"""
from __future__ import annotations

import asyncio
import logging

from search.index import META_FILE, FaceIndex
from settings import Config

log = logging.getLogger(__name__)


class LiveIndex:
    def __init__(self, config: Config, index: FaceIndex) -> None:
        self.config = config
        self.current = index
        self._stamp = self._index_stamp()
        self._reloading = asyncio.Lock()

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
            self.current, self._stamp = index, stamp
            log.info("gallery reloaded: %d faces of %d people", len(index.gallery), len(index.gallery.people))
            return True
