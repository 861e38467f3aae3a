"""The one small object every handler gets its collaborators from.

It lives in ``application.bot_data`` and handlers read it as
``context.deps`` (a custom CallbackContext), so a handler names exactly what
it uses and reaches through nothing: the photo flow, the result store, the
caches, the metrics and a few settings.
"""
from __future__ import annotations

from dataclasses import dataclass

from telegram.ext import CallbackContext, ExtBot

from chatbot.delivery.fileids import FileIdCache
from chatbot.delivery.inflight import InFlight
from chatbot.delivery.prefs import LanguagePrefs
from chatbot.flow.photos import PhotoService
from chatbot.flow.results import ResultStore
from chatbot.metrics import Metrics
from settings import TelegramConfig

KEY = "deps"


@dataclass
class Deps:
    photos: PhotoService
    results: ResultStore
    metrics: Metrics
    telegram: TelegramConfig
    detect_size: int              # the photo size that gives the detector its full resolution
    strong: float                 # below this similarity: "no strong lookalike", then the nearest one anyway
    answering: InFlight           # photos being answered: a shutdown waits for them
    username: str = "lookalike_bot"     # the bot's, once getMe answered
    prefs: LanguagePrefs | None = None  # once the state store is open
    fileids: FileIdCache | None = None  # once the bot's id is known (file_ids are per bot)


class Context(CallbackContext[ExtBot, dict, dict, dict]):
    @property
    def deps(self) -> Deps:
        return self.bot_data[KEY]
