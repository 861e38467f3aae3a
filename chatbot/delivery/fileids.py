"""Telegram file_ids of uploaded celebrity thumbnails, remembered on disk.

After the first upload Telegram returns a file_id; sending that id instead of
the bytes is instant and costs no bandwidth. file_ids belong to one bot, so
the cache records which bot it is for and starts empty for another.
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import ujson

from durable import atomic_write

log = logging.getLogger(__name__)


class FileIdCache:
    def __init__(self, path: Path, bot_id: int) -> None:
        self.path = path
        self.bot_id = bot_id
        self.ids: dict[str, str] = {}
        self._dirty = False
        self._saving: asyncio.Task | None = None
        try:
            doc = ujson.loads(path.read_text(encoding="utf-8"))
            if doc.get("bot_id") == bot_id:
                self.ids = dict(doc.get("ids", {}))
        except (OSError, ValueError):
            pass

    def get(self, key: str) -> str | None:
        return self.ids.get(key)

    def put(self, key: str, file_id: str) -> None:
        if self.ids.get(key) != file_id:
            self.ids[key] = file_id
            self._schedule_save()

    def forget(self, key: str) -> None:
        if self.ids.pop(key, None) is not None:
            self._schedule_save()

    def _schedule_save(self) -> None:
        self._dirty = True
        if self._saving is None or self._saving.done():
            self._saving = asyncio.get_running_loop().create_task(self._save())

    async def _save(self) -> None:
        while self._dirty:
            self._dirty = False
            data = ujson.dumps({"bot_id": self.bot_id, "ids": self.ids}).encode()
            try:
                await asyncio.to_thread(atomic_write, self.path, data)
            except OSError as exc:
                log.warning("could not save file_id cache: %s", type(exc).__name__)

    async def flush(self) -> None:
        if self._saving is not None:
            await self._saving
