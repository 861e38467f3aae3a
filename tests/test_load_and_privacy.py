"""Load (2,000 mixed updates from 500 chats) and privacy (no photo on disk)."""
from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

import psutil
import pytest

from tests.conftest import ROOT
from tests.test_bot import running_bot


def snapshot(*roots: Path) -> dict[Path, tuple[int, int]]:
    files = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in (".git", ".venv", "__pycache__", ".pytest_cache")]
            for name in filenames:
                path = Path(dirpath) / name
                try:
                    st = path.stat()
                except OSError:
                    continue
                files[path] = (st.st_size, st.st_mtime_ns)
    return files


async def test_user_photos_never_touch_the_disk(demo_config, photo):
    import yaml
    assets = Path(yaml.safe_load(demo_config.read_text())["paths"]["assets"])
    roots = [ROOT, Path(tempfile.gettempdir()), assets]
    async with running_bot(demo_config) as (fake, runner):
        before = snapshot(*roots)
        for chat, name in ((16000, "obama2.jpg"), (16001, "biden.jpg"), (16002, "obama3.jpg")):
            fake.send_photo(chat, photo(name))
        await fake.wait_for_sent_async(count=3, timeout=60)
        downloaded = [fake.file_bytes(c.params["file_id"]) for c in fake.calls("getFile")]
        await asyncio.sleep(0.5)
        after = snapshot(*roots)
    changed = [p for p, meta in after.items() if before.get(p) != meta]
    allowed = {assets / "telegram_file_ids.json"}
    suspicious = [p for p in changed if p not in allowed and "pytest-of" not in str(p)]
    assert not suspicious, suspicious
    for path in changed:
        data = path.read_bytes() if path.is_file() else b""
        assert not any(d[1000:1064] in data for d in downloaded), path  # no photo content anywhere


@pytest.mark.slow
async def test_2000_mixed_updates_from_500_chats(demo_config, photo):
    limits = {"per_user_pending": 10, "max_in_flight": 5000}
    async with running_bot(demo_config, limits=limits) as (fake, runner):
        process = psutil.Process()
        data = {"obama": photo("obama2.jpg"), "biden": photo("biden.jpg")}
        sent = []
        for i in range(2000):
            chat = 20000 + i % 500
            kind = i % 5
            if kind in (0, 1):
                sent.append((chat, fake.send_photo(chat, data["obama" if kind == 0 else "biden"])))
            elif kind == 2:
                sent.append((chat, fake.send_text(chat, "hello")))
            elif kind == 3:
                sent.append((chat, fake.send_sticker(chat)))
            else:
                sent.append((chat, fake.send_document(chat, b"%PDF-1.4", "a.pdf", "application/pdf")))
        await fake.wait_for_sent_async(count=1000, timeout=600)
        rss_first = process.memory_info().rss
        await fake.wait_for_sent_async(count=2000, timeout=600)
        rss_last = process.memory_info().rss
        await asyncio.sleep(1)
        counts = fake.answered_message_ids()
        assert all(counts[(chat, mid)] == 1 for chat, mid in sent)
        assert len(fake.sent()) == 2000
        assert fake.max_sends_in_any_second() <= 30
        per_chat = max(fake.max_sends_in_any_second(chat_id=c, window=3.0) for c in range(20000, 20500, 25))
        assert per_chat <= 3  # 1/s per private chat with bursts of 3
        photos = [c for c in fake.sent() if c.method == "sendPhoto"]
        assert len(photos) == 800 and all(("Obama" in c.text) or ("Biden" in c.text) for c in photos)
        grown = (rss_last - rss_first) / 2**20
        print(f"\nload: 2000 updates from 500 chats, {len(fake.sent())} answers, max {fake.max_sends_in_any_second()}"
              f" sends/s, max {per_chat} per private chat in 3 s, RSS {rss_first / 2**20:.0f} -> "
              f"{rss_last / 2**20:.0f} MB")
        assert grown < 40, f"bot process grew by {grown:.0f} MB from the first to the last thousand answers"
