"""chatbot/delivery/fileids.py: uploaded thumbnails' file_ids, remembered on disk, per bot."""
from __future__ import annotations

import json
import logging
from pathlib import Path

from chatbot.delivery.fileids import FileIdCache

BOT = 424242


async def test_a_file_id_put_is_on_disk_for_the_next_start(tmp_path: Path):
    path = tmp_path / "telegram_file_ids.json"
    cache = FileIdCache(path, BOT)
    cache.put("thumbs/a.jpg", "id-a")
    cache.put("thumbs/b.jpg", "id-b")
    await cache.flush()
    assert json.loads(path.read_text()) == {"bot_id": BOT, "ids": {"thumbs/a.jpg": "id-a", "thumbs/b.jpg": "id-b"}}
    again = FileIdCache(path, BOT)
    assert again.get("thumbs/a.jpg") == "id-a" and again.get("thumbs/b.jpg") == "id-b"


async def test_another_bots_file_ids_are_not_used(tmp_path: Path):
    path = tmp_path / "ids.json"
    cache = FileIdCache(path, BOT)
    cache.put("thumbs/a.jpg", "id-a")
    await cache.flush()
    assert FileIdCache(path, BOT + 1).get("thumbs/a.jpg") is None


async def test_a_forgotten_file_id_is_gone_from_disk_too(tmp_path: Path):
    path = tmp_path / "ids.json"
    cache = FileIdCache(path, BOT)
    cache.put("thumbs/a.jpg", "id-a")
    await cache.flush()
    cache.forget("thumbs/a.jpg")
    await cache.flush()
    assert cache.get("thumbs/a.jpg") is None
    assert FileIdCache(path, BOT).get("thumbs/a.jpg") is None


async def test_nothing_changed_is_not_written_again(tmp_path: Path):
    path = tmp_path / "ids.json"
    cache = FileIdCache(path, BOT)
    cache.put("thumbs/a.jpg", "id-a")
    await cache.flush()
    path.unlink()
    cache.put("thumbs/a.jpg", "id-a")  # the same id
    cache.forget("thumbs/unknown.jpg")
    await cache.flush()
    assert not path.exists()


async def test_a_replaced_file_id_replaces_the_old_one(tmp_path: Path):
    path = tmp_path / "ids.json"
    cache = FileIdCache(path, BOT)
    cache.put("thumbs/a.jpg", "old")
    cache.put("thumbs/a.jpg", "new")
    await cache.flush()
    assert FileIdCache(path, BOT).get("thumbs/a.jpg") == "new"


def test_a_missing_or_broken_file_starts_empty(tmp_path: Path):
    assert FileIdCache(tmp_path / "none.json", BOT).ids == {}
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert FileIdCache(broken, BOT).ids == {}


async def test_a_file_that_cannot_be_written_is_logged_and_the_ids_kept_in_memory(tmp_path: Path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    cache = FileIdCache(blocker / "ids.json", BOT)  # its folder is a file
    with caplog.at_level(logging.WARNING, logger="chatbot.delivery.fileids"):
        cache.put("thumbs/a.jpg", "id-a")
        await cache.flush()
    assert cache.get("thumbs/a.jpg") == "id-a"
    assert "could not save file_id cache" in caplog.text


async def test_flush_without_changes_returns(tmp_path: Path):
    await FileIdCache(tmp_path / "ids.json", BOT).flush()
