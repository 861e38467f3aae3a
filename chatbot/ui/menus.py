"""The bot's native menus and profile texts, in every catalog language.

Telegram shows a user the command list and descriptions for their client's
language, falling back to the ones set without a language: English is set
both ways. Private chats get the full menu; groups only what works there.
"""
from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeAllGroupChats, BotCommandScopeAllPrivateChats
from telegram.error import TelegramError

from chatbot.texts import DEFAULT, languages, text

log = logging.getLogger(__name__)

PRIVATE_COMMANDS = ("start", "help", "about", "privacy", "language")
GROUP_COMMANDS = ("lookalike", "help")


def commands(lang: str, names: tuple[str, ...]) -> list[BotCommand]:
    return [BotCommand(name, text(lang, f"cmd_{name}")) for name in names]


async def publish_menus(bot: Bot) -> int:
    """Set commands (per scope) and descriptions for each language; returns the calls that failed.

    A failure is logged and left: menus are a convenience and the next start tries again.
    """
    failed = 0
    for lang in languages():
        for code in ([None, lang] if lang == DEFAULT else [lang]):
            calls = (
                (bot.set_my_commands, {"commands": commands(lang, PRIVATE_COMMANDS),
                                       "scope": BotCommandScopeAllPrivateChats()}),
                (bot.set_my_commands, {"commands": commands(lang, GROUP_COMMANDS),
                                       "scope": BotCommandScopeAllGroupChats()}),
                (bot.set_my_description, {"description": text(lang, "description")}),
                (bot.set_my_short_description, {"short_description": text(lang, "short_description")}),
            )
            for method, kwargs in calls:
                try:
                    await method(language_code=code, **kwargs)
                except TelegramError as exc:
                    failed += 1
                    log.warning("menu setup call failed: %s", type(exc).__name__)
    return failed
