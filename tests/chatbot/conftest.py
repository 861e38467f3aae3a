"""The fast layer's fixtures: the real Application on the offline Bot API, with a stand-in photo service.

``bot`` is the bot as it runs (``build_application``: its Defaults, context
type and handlers), initialized (getMe answered), with a ``Deps`` of real
collaborators (ResultStore, Metrics, InFlight, FileIdCache in tmp_path) and
the stand-in photo service. Tests feed it updates and read what reached the
Bot API. No worker process, no network, no model.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from chatbot.app import build_application
from chatbot.delivery.fileids import FileIdCache
from chatbot.delivery.inflight import InFlight
from chatbot.delivery.prefs import LanguagePrefs
from chatbot.delivery.statedb import StateDB
from chatbot.deps import KEY, Deps
from chatbot.flow.results import ResultStore
from chatbot.metrics import Metrics
from settings import Config
from tests.chatbot.harness import OfflineBot
from tests.chatbot.offline import TOKEN, OfflineBotAPI
from tests.chatbot.standin import StandInPhotos


@pytest.fixture
def api() -> OfflineBotAPI:
    return OfflineBotAPI()


@pytest.fixture
async def bot(api: OfflineBotAPI, config: Config, tmp_path: Path):
    app = build_application(TOKEN, config.telegram, request=api)
    await app.initialize()  # getMe, from the offline Bot API
    results = ResultStore(config.telegram.results_ttl_s, 100)
    photos = StandInPhotos(app.bot, results, tmp_path / "assets")
    deps = Deps(photos, results, Metrics(), config.telegram, config.engine.detect_size,
                config.similarity.strong_match, InFlight(), username=app.bot.username,
                fileids=FileIdCache(tmp_path / "telegram_file_ids.json", app.bot.id))
    app.bot_data[KEY] = deps
    api.clear()
    yield OfflineBot(app, api, deps, photos, tmp_path / "assets")
    await deps.fileids.flush()
    await app.shutdown()


@pytest.fixture
async def prefs(bot: OfflineBot, tmp_path: Path):
    """The real language store (SQLite on its own thread), put into the bot's Deps."""
    db = StateDB(tmp_path / "state.sqlite3", bot.app.bot.id)
    await db.open()
    bot.deps.prefs = await LanguagePrefs.load(db)
    yield bot.deps.prefs
    await db.close()
