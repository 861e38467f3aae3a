"""Files Telegram "has": the sizes of users' photos, their documents and stickers, what the bot
uploads; getFile hands out a path that the download route serves."""

from __future__ import annotations

import asyncio
import base64
import itertools
import os
import threading
from collections.abc import Iterable
from typing import Any

from .media import PhotoError, photo_sizes
from .models import StoredFile
from .protocol import DOWNLOAD_LIMIT, PHOTO_UPLOAD_LIMIT, ApiError, bad


class Files:
    """The files of a chat, and getFile; downloads are served by :class:`.http.Http`."""

    _lock: threading.RLock
    _messages: dict[tuple[int | str, int], dict[str, Any]]

    def __init__(self) -> None:
        self._files: dict[str, StoredFile] = {}
        self._paths: dict[str, StoredFile] = {}
        self._photo_sets: dict[str, list[StoredFile]] = {}
        self._file_seq = itertools.count(1)
        self._id_salt = os.urandom(4)

    def file_bytes(self, file_id: str) -> bytes:
        """What Telegram stores for a file_id (e.g. the picture the bot sent back)."""
        with self._lock:
            return self._files[file_id].data

    def chat_of_file(self, file_id: str) -> int | str | None:
        """The chat whose user sent the file (any size of a photo), for faults aimed at one photo."""
        with self._lock:
            for (chat_id, _), msg in self._messages.items():
                files = [*msg.get("photo", []), msg.get("document") or {}]
                if any(f.get("file_id") == file_id for f in files):
                    return chat_id
        return None

    async def _getFile(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        file_id = p.get("file_id")
        if not file_id:
            raise bad("file_id is empty")
        with self._lock:
            stored = self._files.get(file_id)
            if stored is None:
                raise bad("invalid file_id")
            if stored.size > DOWNLOAD_LIMIT:
                raise bad("file is too big")
            if stored.path is None:
                stored.path = f"{stored.kind}/file_{len(self._paths)}{stored.extension}"
                self._paths[stored.path] = stored
            return {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": stored.size,
                "file_path": stored.path,
            }

    def _new_ids(self, prefix: str, unique_prefix: str) -> tuple[str, str]:
        seq = next(self._file_seq)
        raw = self._id_salt + seq.to_bytes(6, "big") + os.urandom(22)
        file_id = prefix + base64.urlsafe_b64encode(raw).decode().rstrip("=")
        unique = unique_prefix + base64.urlsafe_b64encode(self._id_salt + seq.to_bytes(5, "big")).decode().rstrip("=")
        return file_id, unique

    def _store_file(
        self,
        kind: str,
        data: bytes,
        extension: str,
        *,
        prefix: str,
        unique_prefix: str,
        size: int | None = None,
        unique_id: str | None = None,
    ) -> StoredFile:
        file_id, unique = self._new_ids(prefix, unique_prefix)
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=unique_id or unique,
            kind=kind,
            data=data,
            size=size if size is not None else len(data),
            extension=extension,
        )
        with self._lock:
            self._files[file_id] = stored
        return stored

    def _store_photo_sizes(
        self, sizes: Iterable[tuple[int, int, bytes]], unique_ids: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """Store one photo's sizes; returns the PhotoSize list for a Message."""
        group = os.urandom(8).hex()
        entries = []
        for i, (width, height, data) in enumerate(sizes):
            stored = self._store_file(
                "photos", data, ".jpg", prefix="AgAC", unique_prefix="AQAD",
                unique_id=unique_ids[i] if unique_ids else None,
            )
            stored.group = group
            stored.meta = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": stored.size,
                "width": width,
                "height": height,
            }
            entries.append(stored)
        with self._lock:
            self._photo_sets[group] = entries
        return [dict(e.meta) for e in entries]

    async def _photo_from(self, value: Any, files: dict[str, bytes], part: str) -> list[dict[str, Any]]:
        """A photo parameter: an upload (part or attach://) or a file_id/URL string."""
        data = None
        if isinstance(value, str) and value.startswith("attach://"):
            data = files.get(value[len("attach://"):])
            if data is None:
                raise bad("wrong HTTP URL specified")
        elif value is None:
            data = files.get(part)
        if data is None:
            if not isinstance(value, str) or not value:
                raise bad("there is no photo in the request")
            if value.startswith(("http://", "https://")):
                raise bad("failed to get HTTP URL content")
            return self._resend_photo(value)
        if not data:
            raise bad("file must be non-empty")
        if len(data) > PHOTO_UPLOAD_LIMIT:
            raise bad("file is too big")
        try:
            sizes = await asyncio.get_running_loop().run_in_executor(None, photo_sizes, data)
        except PhotoError as exc:
            raise ApiError(400, str(exc)) from None
        return self._store_photo_sizes(sizes)

    def _resend_photo(self, file_id: str) -> list[dict[str, Any]]:
        """Sending by file_id: new file_ids, same content (sizes up to the one referenced)."""
        with self._lock:
            stored = self._files.get(file_id)
            if stored is None:
                raise bad("wrong file identifier/HTTP URL specified")
            if stored.kind != "photos" or stored.group is None:
                raise bad("type of file mismatch")
            ladder = [s for s in self._photo_sets[stored.group] if s.meta["width"] <= stored.meta["width"]]
        return self._store_photo_sizes(
            [(s.meta["width"], s.meta["height"], s.data) for s in ladder],
            unique_ids=[s.file_unique_id for s in ladder],
        )
