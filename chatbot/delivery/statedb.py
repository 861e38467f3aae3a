"""The bot's embedded SQLite database: durable state that must survive a crash.

It holds the webhook journal (chatbot/delivery/journal.py) and the languages users chose
(chatbot/delivery/prefs.py). One connection, used from one dedicated thread, so the asyncio front never
waits on the disk and SQLite never sees two threads. WAL mode with
``synchronous=FULL``: a commit that returned is on disk, even if the process
is killed or the machine loses power right after. The database belongs to one
bot (update ids, chat ids and file ids mean nothing to another), so a token
change starts it afresh. It never holds photo bytes.
"""
from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS updates (
    update_id INTEGER PRIMARY KEY,
    chat_id   INTEGER,
    file_id   TEXT,
    body      TEXT NOT NULL,      -- the update with everything but ids stripped (chatbot/delivery/journal.py)
    accepted  REAL NOT NULL,
    done      REAL                -- NULL while the update is being handled
);
CREATE INDEX IF NOT EXISTS updates_open ON updates (done) WHERE done IS NULL;
CREATE TABLE IF NOT EXISTS languages (   -- /language: the one thing kept about a user
    user_id INTEGER PRIMARY KEY,
    lang    TEXT NOT NULL
);
"""


class StateDB:
    def __init__(self, path: Path, bot_id: int) -> None:
        self.path = path
        self.bot_id = bot_id
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="statedb")
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        await self.run(self._open)

    def _open(self, _: sqlite3.Connection | None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(SCHEMA)
        owner = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if owner.get("bot_id") != str(self.bot_id):
            with conn:  # another bot's ids (or a new file): start from nothing
                conn.execute("DELETE FROM updates")
                conn.execute("DELETE FROM languages")
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('bot_id', ?)", (str(self.bot_id),))
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        self._conn = conn

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` on the database thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, lambda: fn(self._conn))

    async def close(self) -> None:
        def close(conn: sqlite3.Connection | None) -> None:
            if conn is not None:
                conn.close()
        await self.run(close)
        self._conn = None
        self._executor.shutdown(wait=True)
