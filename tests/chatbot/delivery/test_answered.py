"""An update is marked done the moment its answer is out, before its handler goes on.

The real Application, rate limiter, journal and dispatcher over the offline
Bot API; the handler looks at its own journal row right after its answer.
"""
from __future__ import annotations

from telegram import Update
from telegram.ext import MessageHandler, filters

from chatbot.app import build_application
from chatbot.delivery.journal import JournaledDispatch, UpdateJournal
from chatbot.delivery.ratelimit import ChatRateLimiter
from chatbot.delivery.statedb import StateDB
from chatbot.metrics import Metrics
from settings import Config
from tests.chatbot.offline import TOKEN, OfflineBotAPI
from tests.chatbot.updates import message, update


async def test_the_journal_marks_an_update_done_as_soon_as_its_answer_is_sent(config: Config, tmp_path):
    api = OfflineBotAPI()
    app = build_application(TOKEN, config.telegram, ChatRateLimiter(config.telegram.limits), request=api)
    await app.initialize()
    db = StateDB(tmp_path / "state.sqlite3", app.bot.id)
    await db.open()
    seen: list[tuple] = []

    async def done_now() -> tuple:
        return await db.run(lambda conn: conn.execute("SELECT update_id, done IS NOT NULL FROM updates").fetchall())

    async def answer_then_look(upd: Update, _) -> None:
        seen.append(("before", await done_now()))
        await upd.message.reply_text("your answer")
        seen.append(("after the answer", await done_now()))
        await upd.message.reply_text("a second message changes nothing")

    app.handlers.clear()
    app.add_handler(MessageHandler(filters.ALL, answer_then_look))
    dispatch = JournaledDispatch(app, UpdateJournal(db, 3600), Metrics())
    data = update(message("hello", chat_id=77, from_id=77), update_id=700)
    assert await dispatch.accept(data, Update.de_json(data, app.bot))
    assert await dispatch.stop(grace=10)
    assert seen == [("before", [(700, 0)]), ("after the answer", [(700, 1)])]
    assert [c.method for c in api.answers()] == ["sendMessage", "sendMessage"]
    await db.close()
    await app.shutdown()
