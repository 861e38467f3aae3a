"""Inline mode: sharing a result into any chat, and celebrity search by name.

"@bot share <token> <face>" (what the Share button types) offers the user's
result, "I look like X (87%)", with the celebrity's photo: never the user's
own face, and only to the user whose result it is. Any other text searches
the gallery's names. Photos are sent by Telegram file_id (sending by URL
would need a public server): the thumbnail file_ids the bot has cached, and,
where ``telegram.media_chat_id`` names a private channel, thumbnails it
uploads there on demand. Without either, the result is a text invitation.
Telegram drops inline answers that come late, so uploads get a short budget.
"""
from __future__ import annotations

import asyncio
import html
import logging
import re
from pathlib import Path

import numpy as np
from telegram import (InlineKeyboardButton, InlineKeyboardMarkup, InlineQueryResultArticle,
                      InlineQueryResultCachedPhoto, InputTextMessageContent, Update)
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from chatbot.handlers import DEEP_LINK
from chatbot.texts import text
from search.similarity import percent

log = logging.getLogger(__name__)

SHARE = re.compile(r"^share ([A-Za-z0-9_-]{12}) (\d{1,2})$")
MAX_RESULTS = 10
MAX_QUERY = 64
UPLOAD_BUDGET_S = 3.0
UPLOADS_PER_QUERY = 3


def search_names(names: list[str], query: str, limit: int) -> list[int]:
    """People whose name contains the query (case-insensitive); names that start with it first."""
    q = query.casefold().strip()
    if not q:
        return []
    hits = [(not name.casefold().startswith(q), len(name), i) for i, name in enumerate(names) if q in name.casefold()]
    return [i for *_, i in sorted(hits)[:limit]]


class InlineSearch:
    def __init__(self, front) -> None:
        self.front = front

    @property
    def deep_link(self) -> str:
        return f"https://t.me/{self.front.username}?start={DEEP_LINK}"

    def try_markup(self, lang: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton(text(lang, "try_button"), url=self.deep_link)]])

    async def on_query(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        front = self.front
        query = update.inline_query
        front.metrics.updates.labels("inline").inc()
        lang = front.lang(update)
        words = (query.query or "")[:MAX_QUERY]
        share = SHARE.fullmatch(words)
        personal = share is not None
        if share:
            results = await self.shared_result(query.from_user.id, share.group(1), int(share.group(2)), lang)
        else:
            results = await self.people(words, lang)
        if not results:
            results = [self.invitation(lang)]
        try:
            await query.answer(results, cache_time=0 if personal else 60, is_personal=personal)
        except TelegramError as exc:  # too late or a bad result: nothing a user can be told here
            front.metrics.errors.labels(f"inline_{type(exc).__name__}").inc()
            log.warning("inline answer failed: %s", type(exc).__name__)

    def invitation(self, lang: str) -> InlineQueryResultArticle:
        bot = f"@{self.front.username}"
        return InlineQueryResultArticle(
            id="try", title=text(lang, "inline_try_title"), description=text(lang, "inline_try_text", bot=bot),
            input_message_content=InputTextMessageContent(html.escape(text(lang, "inline_try_text", bot=bot)),
                                                          parse_mode=ParseMode.HTML),
            reply_markup=self.try_markup(lang))

    async def shared_result(self, user_id: int, token: str, face: int, lang: str) -> list:
        front = self.front
        result = front.results.get(token)
        if result is None or result.user_id != user_id or face >= len(result.faces):
            return []  # expired, or someone else's: offer the plain invitation
        best = result.faces[face].matches[0]
        bot = f"@{front.username}"
        caption = text(lang, "share_caption", name=html.escape(best.name), percent=percent(best.similarity),
                       bot=html.escape(bot))
        title = text(lang, "share_title", name=best.name, percent=percent(best.similarity))
        return [await self.person_result(f"s{token}{face}", best.face, title, text(lang, "share_description"),
                                         caption, lang, allow_upload=True)]

    async def people(self, words: str, lang: str) -> list:
        gallery = self.front.service.index.gallery
        found = search_names(gallery.names, words, MAX_RESULTS)
        bot = f"@{self.front.username}"
        results = []
        uploads = UPLOADS_PER_QUERY
        for person in found:
            faces = np.flatnonzero(gallery.person_ids == person)
            if not len(faces):
                continue
            name = gallery.name(person)
            caption = text(lang, "inline_person_caption", name=html.escape(name), bot=html.escape(bot))
            result = await self.person_result(f"p{person}", int(faces[0]), name,
                                              text(lang, "inline_person_description", name=name), caption, lang,
                                              allow_upload=uploads > 0)
            uploads -= isinstance(result, InlineQueryResultCachedPhoto)
            results.append(result)
        return results

    async def person_result(self, result_id: str, face: int, title: str, description: str, caption: str,
                            lang: str, allow_upload: bool):
        """The celebrity's photo when a file_id is at hand (or can be had quickly), else words."""
        gallery = self.front.service.index.gallery
        key = gallery.faces[face]["thumbnail"]
        file_id = await self.photo_id(key, gallery.thumbnail(face)) if allow_upload else self.cached(key)
        if file_id:
            return InlineQueryResultCachedPhoto(id=result_id, photo_file_id=file_id, title=title,
                                                description=description, caption=caption,
                                                parse_mode=ParseMode.HTML, reply_markup=self.try_markup(lang))
        return InlineQueryResultArticle(
            id=result_id, title=title, description=description,
            input_message_content=InputTextMessageContent(caption, parse_mode=ParseMode.HTML),
            reply_markup=self.try_markup(lang))

    def cached(self, key: str) -> str | None:
        fileids = self.front.fileids
        return fileids.get(key) if fileids else None

    async def photo_id(self, key: str, path: Path) -> str | None:
        """A file_id for a celebrity thumbnail: cached, or uploaded to the media channel now."""
        front = self.front
        file_id = self.cached(key)
        chat = front.config.telegram.media_chat_id
        if file_id or not chat or front.fileids is None:
            return file_id
        try:
            data = await asyncio.to_thread(path.read_bytes)
            sent = await asyncio.wait_for(front.bot.send_photo(chat, data, filename=path.name), UPLOAD_BUDGET_S)
        except (OSError, TelegramError, asyncio.TimeoutError) as exc:
            log.warning("media channel upload failed: %s", type(exc).__name__)
            return None
        if sent.photo:
            front.fileids.put(key, sent.photo[-1].file_id)
            return sent.photo[-1].file_id
        return None
