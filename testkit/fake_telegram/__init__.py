"""A local fake of the Telegram Bot API that the real python-telegram-bot client talks to.

It speaks the real HTTP protocol (JSON, urlencoded and multipart requests, getUpdates long
polls, webhook POSTs, getFile and the download route) and serves the Bot API methods the bot
calls.  One module per section:

- ``server``: the background thread and event loop, start/stop, change notification;
- ``http``: request decoding, dispatch, recording, downloads and the HTTP-level faults;
- ``users``: simulated users, whose messages become updates;
- ``updates`` and ``webhook``: the two ways updates reach the bot;
- ``files``: what Telegram stores, getFile;
- ``sending``, ``editing``, ``profile``, ``inline``: the bot's methods;
- ``faults``: FaultSpec, random_faults, fail_next/set_fault, blocked chats;
- ``observe``: what tests assert on, and ``wait_for``.
"""

from .fake import FakeTelegram
from .faults import FaultSpec, random_faults
from .models import SEND_METHODS, Call, WebhookDelivery

__all__ = [
    "SEND_METHODS",
    "Call",
    "FakeTelegram",
    "FaultSpec",
    "WebhookDelivery",
    "random_faults",
]
