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

SCHEMA_VERSION = 2
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS updates (
    update_id INTEGER PRIMARY KEY,
    chat_id   INTEGER,
    file_id   TEXT,
    body      TEXT NOT NULL,      -- the update with everything but ids stripped (chatbot/delivery/journal.py)
    accepted  REAL NOT NULL,
    done      REAL,               -- NULL while the update is being handled
    attempts  INTEGER NOT NULL DEFAULT 0,  -- times replayed after a crash
    failed    TEXT                -- why it was given up (an exception's kind), NULL if answered
);
CREATE INDEX IF NOT EXISTS updates_open ON updates (done) WHERE done IS NULL;
CREATE TABLE IF NOT EXISTS languages (   -- /language: the one thing kept about a user
    user_id INTEGER PRIMARY KEY,
    lang    TEXT NOT NULL
);
"""
# Columns added since version 1, for databases an older release created.
ADDED = {"updates": {"attempts": "INTEGER NOT NULL DEFAULT 0", "failed": "TEXT"}}


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
        for table, columns in ADDED.items():
            have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            for name, kind in columns.items():
                if name not in have:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
        owner = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if owner.get("bot_id") != str(self.bot_id):
            with conn:  # another bot's ids (or a new file): start from nothing
                conn.execute("DELETE FROM updates")
                conn.execute("DELETE FROM languages")
                conn.execute("DELETE FROM meta")  # the webhook secret too: it was that bot's
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('bot_id', ?)", (str(self.bot_id),))
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        self._conn = conn

    async def setting(self, key: str, make: Callable[[], str]) -> str:
        """The value kept under ``key``, made by ``make()`` and stored the first time it is asked for."""
        def get_or_make(conn: sqlite3.Connection) -> str:
            with conn:
                conn.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (key, make()))
                return conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]
        return await self.run(get_or_make)

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
