"""A local fake of the Telegram Bot API that the real python-telegram-bot client talks to."""

from .formatting import command_entities, utf16_len
from .media import photo_sizes
from .models import SEND_METHODS, Call, FaultSpec, WebhookDelivery, random_faults
from .server import FakeTelegram

__all__ = [
    "SEND_METHODS",
    "Call",
    "FakeTelegram",
    "FaultSpec",
    "WebhookDelivery",
    "command_entities",
    "photo_sizes",
    "random_faults",
    "utf16_len",
]
