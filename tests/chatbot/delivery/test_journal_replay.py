"""Nothing the webhook accepts can stop the bot: hostile updates through the journal and its replay.

Each test journals updates the way the webhook does, "crashes" (the rows stay
unfinished), and replays them on the real Application over the offline Bot
API. The bot must start, give up what cannot be handled, and answer the next
photo as always.
"""
from __future__ import annotations

import sqlite3

import pytest
import ujson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatbot.delivery.journal import MAX_REPLAYS, JournaledDispatch, Malformed, UpdateJournal, journal_row
from chatbot.delivery.statedb import StateDB
from chatbot.metrics import Metrics
from telegram import Update

from chatbot.texts import text
from chatbot.ui.photos import given_up
from testkit.hostile_updates import POISON, UPDATE, message
from tests.chatbot.harness import OfflineBot, count, quoted
from tests.chatbot.updates import photo_message, update as make_update

PERSON = {"id": 42, "is_bot": False, "first_name": "Anna"}


def photo_update(update_id: int, chat_id: int, message_id: int) -> dict:
    return make_update(photo_message(chat_id=chat_id, from_id=chat_id, message_id=message_id), update_id=update_id)


def answered_once(bot: OfflineBot, message_id: int) -> bool:
    return [quoted(call) for call in bot.answers()].count(message_id) == 1




async def open_journal(bot: OfflineBot) -> tuple[StateDB, UpdateJournal]:
    db = StateDB(bot.assets / "state.sqlite3", bot.app.bot.id)
    await db.open()
    return db, UpdateJournal(db, keep_s=3600)


async def rows(db: StateDB) -> list[tuple]:
    return await db.run(lambda conn: conn.execute(
        "SELECT update_id, done IS NOT NULL, failed, attempts FROM updates ORDER BY update_id").fetchall())


async def restart_and_replay(bot: OfflineBot, journal: UpdateJournal, metrics: Metrics) -> JournaledDispatch:
    dispatch = JournaledDispatch(bot.app, journal, metrics)
    await dispatch.replay()
    assert await dispatch.stop(grace=10)
    return dispatch


async def test_poison_updates_are_replayed_or_given_up_and_the_bot_starts(bot: OfflineBot):
    db, journal = await open_journal(bot)
    for update in POISON:
        assert await journal.accept(update) is True
    metrics = Metrics()
    await restart_and_replay(bot, journal, metrics)
    assert all(done for _, done, _, _ in await rows(db))  # answered, dropped or given up: never left to loop
    # ...and the next photo is answered as always
    dispatch = JournaledDispatch(bot.app, journal, metrics)
    update = photo_update(update_id=99, chat_id=42, message_id=70)
    assert await dispatch.accept(update, Update.de_json(update, bot.app.bot)) is True
    assert await dispatch.stop(grace=10)
    assert answered_once(bot, 70)
    await db.close()


@pytest.mark.parametrize("update_id", [2**63, 2**64 + 5, -1, True, 1.5, "12", None])
def test_an_update_id_sqlite_cannot_store_is_malformed_not_a_journal_failure(update_id):
    with pytest.raises(Malformed):
        journal_row({"update_id": update_id, "message": message(text="hi")})


def test_ids_past_sqlite_are_not_stored_as_ids():
    chat_id, file_id = journal_row({"update_id": 5, "message": message(chat={"id": 2**70, "type": "private"},
                                                                      photo=[{"file_id": 3}])})[1:3]
    assert chat_id is None and file_id is None
    row = journal_row({"update_id": 6, "message": message(photo=[{"file_id": "p", "file_unique_id": "q",
                                                                   "width": 10**40, "height": 1}])})
    assert row.update_id == 6 and row.chat_id == 42 and row.replayable  # a huge width is kept: it parses again


def test_a_skeleton_that_would_not_parse_again_keeps_the_update_id_only():
    row = journal_row({"update_id": 7, "message": message(**{"from": {"id": "not a number"}})})
    assert row.update_id == 7 and not row.replayable and row.body == '{"update_id":7}'  # answered live, never replayed


async def test_an_update_that_kills_the_bot_on_every_replay_is_given_up(bot: OfflineBot):
    db, journal = await open_journal(bot)
    update = photo_update(update_id=21, chat_id=42, message_id=71)
    await journal.accept(update)
    for _ in range(MAX_REPLAYS):  # each start takes it and dies before it is done
        assert [r[0] for r in await journal.unfinished()] == [21]
    metrics = Metrics()
    dispatch = JournaledDispatch(bot.app, journal, metrics, give_up=lambda update: given_up(update, bot.deps))
    assert await dispatch.replay() == 0
    assert await rows(db) == [(21, 1, "replayed_too_often", MAX_REPLAYS + 1)]
    assert count(metrics.errors, "replay_replayed_too_often") == 1
    [apology] = bot.answers()  # not processed again, and not silence either
    assert quoted(apology) == 71 and apology["text"] == text("en", "failed")
    await db.close()


async def test_a_body_that_no_longer_parses_is_marked_failed_by_kind(bot: OfflineBot):
    db, journal = await open_journal(bot)
    await journal.accept(photo_update(update_id=31, chat_id=42, message_id=72))
    await db.run(lambda conn: conn.execute("UPDATE updates SET body = '{\"update_id\": 31, \"message\": 5}'"))
    metrics = Metrics()
    await restart_and_replay(bot, journal, metrics)
    assert (await rows(db))[0][:3] == (31, 1, "AttributeError")
    assert count(metrics.errors, "replay_AttributeError") == 1
    await db.close()


async def test_a_database_of_the_previous_release_gains_the_new_columns(tmp_path):
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO meta VALUES ('bot_id', '7'), ('schema', '1');
        CREATE TABLE updates (update_id INTEGER PRIMARY KEY, chat_id INTEGER, file_id TEXT, body TEXT NOT NULL,
                              accepted REAL NOT NULL, done REAL);
        INSERT INTO updates VALUES (1, 42, NULL, '{"update_id": 1}', 0, NULL);
        CREATE TABLE languages (user_id INTEGER PRIMARY KEY, lang TEXT NOT NULL);""")
    conn.commit()
    conn.close()
    db = StateDB(path, bot_id=7)
    await db.open()
    assert await UpdateJournal(db, 3600).unfinished() == [(1, '{"update_id": 1}', 1)]
    await db.close()


# -- generated updates: any field missing, null, of the wrong type or huge (testkit.hostile_updates) --------
@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(update=UPDATE)
def test_every_generated_update_is_malformed_or_stored_in_a_form_replay_accepts(update):
    """The webhook's check, on its own: a 400, or a row whose body parses again (or is the id only)."""
    try:
        update_id, chat_id, file_id, body, replay = journal_row(update)
    except Malformed:
        return
    data = ujson.loads(body)
    assert data["update_id"] == update_id and (chat_id is None or isinstance(chat_id, int))
    if replay:
        assert Update.de_json(data, None).update_id == update_id

