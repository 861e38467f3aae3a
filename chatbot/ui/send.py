"""Sending an answer: the card, or the celebrity's photo by cached file_id; the chat action; button answers.

Replies quote the user's message and use HTML through the Application's
``Defaults`` (chatbot/app.py), so nothing here repeats either.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from telegram import CallbackQuery, InlineKeyboardMarkup, Message
from telegram.constants import ChatAction
from telegram.error import BadRequest, TelegramError

from chatbot.delivery.fileids import FileIdCache
from chatbot.flow.photos import Shown

log = logging.getLogger(__name__)

CHAT_ACTION_S = 4.5  # Telegram shows a chat action for 5 s


async def try_reply(message: Message, body: str) -> bool:
    """A short reply after a failure; False if even that could not be sent."""
    try:
        await message.reply_text(body)
        return True
    except TelegramError:
        return False


async def answer_press(query: CallbackQuery, notice: str | None = None, alert: bool = False) -> None:
    """Stop the client's spinner (and show ``notice``), before any slower work."""
    try:
        await query.answer(notice, show_alert=alert)
    except TelegramError as exc:  # a press older than Telegram's limit can no longer be answered
        log.info("callback answer failed: %s", type(exc).__name__)


@contextlib.asynccontextmanager
async def uploading_photo(message: Message) -> AsyncIterator[None]:
    """Keep "sending photo..." visible while the photo is processed."""
    async def refresh() -> None:
        while True:
            with contextlib.suppress(TelegramError):
                await message.reply_chat_action(ChatAction.UPLOAD_PHOTO)
            await asyncio.sleep(CHAT_ACTION_S)

    task = asyncio.create_task(refresh())
    try:
        yield
    finally:
        task.cancel()


async def send_shown(message: Message, shown: Shown, caption: str, keyboard: InlineKeyboardMarkup,
                     fileids: FileIdCache | None) -> None:
    """One face's answer: the card, else the celebrity's own photo, so the answer never depends on the card."""
    if shown.card is None:
        await send_thumbnail(message, shown.meta["thumbnail"], shown.thumbnail, caption, fileids, keyboard)
        return
    await message.reply_photo(shown.card, caption=caption, filename="lookalike.jpg", reply_markup=keyboard)


async def send_thumbnail(message: Message, key: str, path: Path, caption: str, fileids: FileIdCache | None,
                         keyboard: InlineKeyboardMarkup | None = None) -> None:
    """Send a celebrity thumbnail by cached file_id, uploading it the first time."""
    file_id = fileids.get(key) if fileids else None
    if file_id:
        try:
            await message.reply_photo(file_id, caption=caption, reply_markup=keyboard)
            return
        except BadRequest:
            fileids.forget(key)  # expired or from another bot: upload again
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError:
        await message.reply_text(caption)  # gallery changed under us: the words still help
        return
    sent = await message.reply_photo(data, caption=caption, filename=Path(key).name, reply_markup=keyboard)
    if fileids and sent.photo:
        fileids.put(key, sent.photo[-1].file_id)
