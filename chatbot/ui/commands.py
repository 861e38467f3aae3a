"""The commands, and the one answer to anything else said in a private chat."""
from __future__ import annotations

from telegram import Update

from chatbot.deps import Context
from chatbot.tags import DEEP_LINK
from chatbot.texts import text
from chatbot.ui.language import lang_of
from chatbot.ui.photos import answer_photo, image_of


async def on_start(update: Update, context: Context) -> None:
    """/start, or a deep link t.me/<bot>?start=share from someone's shared result."""
    shared = bool(context.args) and context.args[0] == DEEP_LINK
    await update.effective_message.reply_text(text(lang_of(update, context.deps),
                                                   "welcome_shared" if shared else "start"))


async def on_help(update: Update, context: Context) -> None:
    await update.effective_message.reply_text(text(lang_of(update, context.deps), "help"))


async def on_privacy(update: Update, context: Context) -> None:
    await update.effective_message.reply_text(text(lang_of(update, context.deps), "privacy"))


async def on_about(update: Update, context: Context) -> None:
    people, faces = context.deps.photos.gallery_size()
    await update.effective_message.reply_text(text(lang_of(update, context.deps), "about",
                                                   people=people, faces=faces))


async def on_lookalike(update: Update, context: Context) -> None:
    """/lookalike as a reply to a photo: how a group asks for an answer to a photo already sent."""
    deps = context.deps
    message = update.effective_message
    target = message.reply_to_message
    found = image_of(target, deps.detect_size)
    if isinstance(found, tuple):
        await answer_photo(update, deps, target, *found)
    else:
        await message.reply_text(text(lang_of(update, deps), "reply_to_photo"))


async def on_other(update: Update, context: Context) -> None:
    await update.effective_message.reply_text(text(lang_of(update, context.deps), "send_photo"))
