"""The fast layer's test harness: the bot on the offline Bot API, and reading its metrics."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from telegram import Update
from telegram.ext import Application

from chatbot.deps import Deps
from tests.chatbot.offline import Call, OfflineBotAPI
from tests.chatbot.standin import StandInPhotos


@dataclasses.dataclass
class OfflineBot:
    app: Application
    api: OfflineBotAPI
    deps: Deps
    photos: StandInPhotos
    assets: Path

    async def feed(self, update: dict) -> None:
        """One update, handled to the end, as the poller or the webhook hands it over."""
        await self.app.process_update(Update.de_json(update, self.app.bot))

    def answers(self) -> list[Call]:
        return self.api.answers()

    def configure(self, **telegram: object) -> None:
        """Change telegram settings the handlers read (media_chat_id...)."""
        self.deps.telegram = dataclasses.replace(self.deps.telegram, **telegram)


def count(counter, *labels: str) -> float:
    """A prometheus counter's value (for a label set)."""
    metric = counter.labels(*labels) if labels else counter
    return metric._value.get()


def quoted(call: Call) -> int:
    """The message_id a reply quotes; the reply is sent also if that message is gone (the Defaults)."""
    reply = call["reply_parameters"]
    assert reply["allow_sending_without_reply"] is True
    return reply["message_id"]
