"""A user's chosen language (/language), the only thing kept about a user.

Stored by user id in the bot's SQLite database (chatbot/delivery/statedb.py) and held
in memory, so answering never waits on the disk.
"""
from __future__ import annotations

import sqlite3

from chatbot.delivery.statedb import StateDB


class LanguagePrefs:
    def __init__(self, db: StateDB, chosen: dict[int, str]) -> None:
        self.db = db
        self.chosen = chosen

    @classmethod
    async def load(cls, db: StateDB) -> "LanguagePrefs":
        rows = await db.run(lambda conn: conn.execute("SELECT user_id, lang FROM languages").fetchall())
        return cls(db, dict(rows))

    def get(self, user_id: int) -> str | None:
        return self.chosen.get(user_id)

    async def set(self, user_id: int, lang: str) -> None:
        def save(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT OR REPLACE INTO languages (user_id, lang) VALUES (?, ?)", (user_id, lang))
        await self.db.run(save)
        self.chosen[user_id] = lang
