"""The webhook journal on its own: what it keeps, deduplication, ownership; the fetch policy maths."""
from __future__ import annotations

import asyncio

import pytest
from telegram import Bot, Update
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from chatbot.flow.fetch import attempt_timeout, budget, download_timeout, pause, transient
from chatbot.delivery.journal import UpdateJournal, ids_of, replayable, skeleton
from chatbot.delivery.statedb import StateDB
from settings import FetchConfig

PHOTO_UPDATE = {
    "update_id": 501,
    "message": {
        "message_id": 7, "date": 1764547200,
        "chat": {"id": 42, "type": "private", "first_name": "Anna", "username": "anna_k"},
        "from": {"id": 42, "is_bot": False, "first_name": "Anna", "last_name": "K", "username": "anna_k",
                 "language_code": "ru"},
        "photo": [{"file_id": "AgAC-small", "file_unique_id": "u1", "width": 90, "height": 67, "file_size": 1200},
                  {"file_id": "AgAC-big", "file_unique_id": "u2", "width": 1280, "height": 960, "file_size": 90000}],
        "caption": "me at the beach, call me +7 900 000 00 00",
    },
}


def test_skeleton_keeps_what_an_answer_needs_and_nothing_personal():
    body = skeleton(PHOTO_UPDATE)
    text = str(body)
    for private in ("Anna", "anna_k", "beach", "+7 900", "last_name"):
        assert private not in text
    assert ids_of(body) == (42, "AgAC-big")
    update = Update.de_json(body, Bot("1:x"))
    assert update.message.chat.id == 42 and update.message.from_user.language_code == "ru"
    assert [p.file_id for p in update.message.photo] == ["AgAC-small", "AgAC-big"]
    assert update.message.caption is None


def test_skeleton_keeps_commands_and_the_group_tag_only():
    command = skeleton({"update_id": 1, "message": {
        "message_id": 1, "date": 1, "chat": {"id": 5, "type": "private"},
        "from": {"id": 5, "is_bot": False, "first_name": "B"}, "text": "/start ref-from-a-friend secret words",
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}})
    assert command["message"]["text"] == "/start" and command["message"]["entities"][0]["length"] == 6
    chatter = skeleton({"update_id": 2, "message": {
        "message_id": 2, "date": 1, "chat": {"id": 5, "type": "private"}, "text": "my address is ..."}})
    assert chatter["message"]["text"] == ""
    tagged = skeleton({"update_id": 3, "message": {
        "message_id": 3, "date": 1, "chat": {"id": -100, "type": "supergroup", "title": "Family"},
        "caption": "look at this /lookalike please", "photo": [{"file_id": "p", "file_unique_id": "q",
                                                                  "width": 1, "height": 1}]}})
    assert tagged["message"]["caption"] == "/lookalike" and "title" not in tagged["message"]["chat"]
    doc = skeleton({"update_id": 4, "message": {
        "message_id": 4, "date": 1, "chat": {"id": 5, "type": "private"},
        "document": {"file_id": "d", "file_unique_id": "e", "file_name": "passport scan of Ivan.JPG",
                     "mime_type": "image/jpeg", "file_size": 5}}})
    assert doc["message"]["document"]["file_name"] == "file.JPG"


def test_inline_queries_are_recorded_but_not_replayed():
    body = skeleton({"update_id": 9, "inline_query": {"id": "1", "from": {"id": 1, "is_bot": False,
                                                                         "first_name": "x"},
                                                      "query": "who am I", "offset": ""}})
    assert body == {"update_id": 9} and not replayable(body)


async def test_journal_deduplicates_survives_reopen_and_belongs_to_one_bot(tmp_path):
    path = tmp_path / "state.sqlite3"
    db = StateDB(path, bot_id=111)
    await db.open()
    journal = UpdateJournal(db, keep_s=3600)
    assert await journal.accept(PHOTO_UPDATE) is True
    assert await journal.accept(PHOTO_UPDATE) is False  # Telegram's re-delivery
    second = {**PHOTO_UPDATE, "update_id": 502}
    assert await journal.accept(second) is True
    await journal.finish(501)
    await db.close()

    db = StateDB(path, bot_id=111)  # the same bot after a crash
    await db.open()
    journal = UpdateJournal(db, keep_s=3600)
    assert [row[0] for row in await journal.unfinished()] == [502]
    assert await journal.accept(PHOTO_UPDATE) is False  # still known as answered
    assert await journal.prune() == 0  # answered just now: kept
    await db.close()

    db = StateDB(path, bot_id=222)  # another bot's token: its ids mean nothing here
    await db.open()
    journal = UpdateJournal(db, keep_s=0)
    assert await journal.unfinished() == []
    assert await journal.accept(PHOTO_UPDATE) is True
    await journal.finish(501)
    await asyncio.sleep(0.01)
    assert await journal.prune() == 1
    await db.close()


def test_fetch_budget_always_fits_two_attempts_of_the_file():
    policy = FetchConfig(budget_s=60, read_timeout_s=5, min_rate=262_144)
    assert download_timeout(262_144, policy) == pytest.approx(6.0)
    assert download_timeout(20 * 2**20, policy) == pytest.approx(85.0)  # 20 MB at 256 KB/s is no stall
    assert budget(50_000, policy) == 60
    assert budget(20 * 2**20, policy) == pytest.approx(2 * attempt_timeout(20 * 2**20, policy))
    assert budget(20 * 2**20, policy) > 170
    assert budget(None, policy) == budget(20 * 2**20, policy)  # unknown size: assume the largest


def test_what_is_worth_another_attempt():
    assert transient(TimedOut()) and transient(NetworkError("Bad Gateway")) and transient(RetryAfter(3))
    assert transient(asyncio.TimeoutError()) and transient(ConnectionResetError())
    assert not transient(BadRequest("invalid file_id")) and not transient(ValueError())
    assert pause(RetryAfter(3), 0.5) == pytest.approx(3.1)
    assert pause(NetworkError("x"), 0.5) == 0.5
