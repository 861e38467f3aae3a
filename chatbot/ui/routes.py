"""Which update goes to which handler.

Private chats: any photo or image file is answered, and anything else gets a
hint. Groups: only a photo whose caption has /lookalike, or /lookalike as a
reply to a photo. Edited messages are ignored: an edited caption is not a new
photo, and every photo gets exactly one answer.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import (Application, CallbackQueryHandler, CommandHandler, InlineQueryHandler, MessageHandler,
                          filters)

from chatbot.deps import Context
from chatbot.tags import LOOKALIKE_TAG
from chatbot.ui import buttons, commands, inline, language, photos

log = logging.getLogger(__name__)

NEW = filters.UpdateType.MESSAGE
PRIVATE = filters.ChatType.PRIVATE
TAGGED = filters.ChatType.GROUPS & filters.CaptionRegex(LOOKALIKE_TAG)

Handler = Callable[[Update, Context], Awaitable[None]]


def counted(kind: str, handler: Handler) -> Handler:
    """The handler, counting its updates in the ``lookalike_updates`` metric."""
    @functools.wraps(handler)
    async def wrapper(update: Update, context: Context) -> None:
        context.deps.metrics.updates.labels(kind).inc()
        await handler(update, context)
    return wrapper


def register(app: Application) -> None:
    for name, handler in (("start", commands.on_start), ("help", commands.on_help), ("about", commands.on_about),
                          ("privacy", commands.on_privacy), ("language", language.on_language_command),
                          ("lookalike", commands.on_lookalike)):
        app.add_handler(CommandHandler(name, counted("command", handler), filters=NEW))
    # photos count themselves: "photo" or "document"
    app.add_handler(MessageHandler(NEW & (filters.PHOTO | filters.Document.ALL) & (PRIVATE | TAGGED), photos.on_image))
    app.add_handler(MessageHandler(NEW & PRIVATE, counted("other", commands.on_other)))
    app.add_handler(CallbackQueryHandler(counted("button", buttons.on_button)))
    app.add_handler(InlineQueryHandler(counted("inline", inline.on_query)))
    app.add_error_handler(on_error)


async def on_error(update: object, context: Context) -> None:
    # Only the type: messages of some errors quote request data.
    context.deps.metrics.errors.labels(type(context.error).__name__).inc()
    log.error("unhandled error in a handler: %s", type(context.error).__name__)
