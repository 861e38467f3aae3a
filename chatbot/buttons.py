"""The inline buttons: more lookalikes, a group photo's face cards, the language switch.

A press is always answered (answerCallbackQuery), also when its result has
expired or its data is not ours: the client's spinner must stop and the user
learn what to do. Work that takes a moment (a face card needs the photo from
Telegram again) is answered first and done after.
"""
from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from chatbot import replies
from chatbot.fetch import FetchFailed, fetch_photo
from chatbot.handlers import reply_to
from chatbot.results import Callback, Result, parse_callback
from chatbot.texts import languages, text

log = logging.getLogger(__name__)


class Buttons:
    def __init__(self, front) -> None:
        self.front = front

    async def on_language_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        front = self.front
        front.metrics.updates.labels("command").inc()
        lang = front.lang(update)
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(text(code, "language_name"), callback_data=f"l:{code}")
                                          for code in languages()]])
        await front.bot.send_message(update.effective_chat.id, text(lang, "language_choose"),
                                     reply_markup=keyboard, reply_parameters=reply_to(update.effective_message))

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        front = self.front
        query = update.callback_query
        front.metrics.updates.labels("button").inc()
        press = parse_callback(query.data)
        lang = front.lang(update)
        if press is None or query.message is None:
            await self.answer(query, text(lang, "button_invalid"), alert=True)
            return
        if press.kind == "l":
            await self.set_language(update, press)
            return
        result = front.results.get(press.token, query.message.chat.id)
        if result is None or press.face >= len(result.faces):
            front.metrics.photos.labels("button_expired").inc()
            await self.answer(query, text(lang, "expired"), alert=True)
            return
        await self.answer(query)
        try:
            if press.kind == "m":
                await self.more(update, result, press.face, lang)
            else:
                await self.face_card(update, result, press.face, lang)
        except FetchFailed:
            await front.try_reply(query.message, text(lang, "fetch_failed"))
        except TelegramError as exc:
            front.metrics.errors.labels(f"button_{type(exc).__name__}").inc()
            log.warning("button answer failed: %s", type(exc).__name__)

    async def more(self, update: Update, result: Result, face: int, lang: str) -> None:
        """The next people for this face: a new search with the stored vector, no embedding."""
        front = self.front
        shown = len(result.faces[face].matches) if len(result.faces) == 1 else 1
        [matches] = front.service.index.search([result.faces[face].vector], shown + replies.MORE)
        await front.reply_text(update.callback_query.message, replies.more_text(lang, face, matches, shown))

    async def face_card(self, update: Update, result: Result, face: int, lang: str) -> None:
        """One face of a group photo as a card: the photo is fetched from Telegram again by file_id."""
        front = self.front
        message = update.callback_query.message
        data = await fetch_photo(front.bot, result.file_id, None, front.config.telegram.fetch)
        stored = result.faces[face]
        await front.send_face_result(message, front.service.index, stored.matches, lang, result.token, face,
                                     photo=data, box=stored.box)

    async def set_language(self, update: Update, press: Callback) -> None:
        front = self.front
        query = update.callback_query
        if press.lang not in languages() or front.prefs is None:
            await self.answer(query, text(front.lang(update), "button_invalid"), alert=True)
            return
        await front.prefs.set(query.from_user.id, press.lang)
        await self.answer(query)
        done = text(press.lang, "language_set")
        try:
            await query.edit_message_text(done, parse_mode=ParseMode.HTML)
        except TelegramError:  # too old to edit: say it in a new message
            await front.bot.send_message(query.message.chat.id, done, parse_mode=ParseMode.HTML)

    @staticmethod
    async def answer(query, notice: str | None = None, alert: bool = False) -> None:
        try:
            await query.answer(notice, show_alert=alert)
        except TelegramError as exc:  # a press older than Telegram's limit can no longer be answered
            log.info("callback answer failed: %s", type(exc).__name__)
