"""FakeTelegram: the Bot API for one bot, plus the users talking to it, put together from its sections."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from .editing import Editing
from .faults import Faults
from .files import Files
from .http import Http
from .inline import Inline
from .models import Call
from .observe import Observe
from .profile import Profile
from .sending import Sending
from .server import Server
from .updates import Updates
from .users import Users
from .webhook import Webhook


class FakeTelegram(Server, Http, Observe, Faults, Users, Files, Updates, Webhook, Sending, Editing, Profile,
                   Inline):
    """Telegram's Bot API for one bot, plus the users talking to it.

    Use as ``with FakeTelegram() as fake:`` and point PTB at ``fake.base_url`` and
    ``fake.base_file_url``.  Simulate users with ``send_*``, observe the bot with ``calls`` /
    ``sent`` / ``wait_for``, break things with ``fail_next`` / ``set_fault``.
    """

    #: The Bot API methods served: those the bot calls (any other answers 404 Not Found, as
    #: Telegram does for an unknown method), each handled by the section's ``_<method>``.
    API_METHODS: tuple[str, ...] = (
        "getMe",                                             # Application.initialize
        "getUpdates", "setWebhook", "deleteWebhook",         # chatbot/delivery/polling.py, chatbot/app.py
        "getFile",                                           # chatbot/fetch.py, then the download route
        "sendMessage", "sendPhoto", "sendChatAction",        # chatbot/handlers.py, buttons.py, inline.py
        "editMessageText", "answerCallbackQuery",            # chatbot/buttons.py
        "answerInlineQuery",                                 # chatbot/inline.py
        "setMyCommands", "setMyDescription", "setMyShortDescription",  # chatbot/menus.py
    )

    def __init__(
        self,
        token: str = "123456:TEST-fake-token",
        *,
        bot_username: str = "lookalike_test_bot",
        bot_first_name: str = "Lookalike",
        host: str = "127.0.0.1",
        webhook_retries: int = 3,
        webhook_retry_delay: float = 0.2,
        webhook_timeout: float = 10.0,
        webhook_max_delay: float = 2.0,
    ) -> None:
        self.token = token
        self.host = host
        self.webhook_retries = webhook_retries
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_timeout = webhook_timeout
        self.webhook_max_delay = webhook_max_delay  # Telegram keeps retrying a dead webhook for hours
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 123456
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,  # inline mode switched on with @BotFather
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        # Shared by every section; all state is guarded by the one lock.
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._async_waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._calls: list[Call] = []
        self._chats: dict[int | str, dict[str, Any]] = {}
        self._messages: dict[tuple[int | str, int], dict[str, Any]] = {}
        self._closing = False
        for section in (Server, Http, Faults, Users, Files, Updates, Webhook, Profile, Inline):
            section.__init__(self)
