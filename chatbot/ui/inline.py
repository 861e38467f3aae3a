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

from telegram import (InlineKeyboardButton, InlineKeyboardMarkup, InlineQueryResultArticle,
                      InlineQueryResultCachedPhoto, InputTextMessageContent, Update)
from telegram.error import TelegramError

from chatbot.deps import Context, Deps
from chatbot.tags import DEEP_LINK
from chatbot.texts import text
from chatbot.ui.language import lang_of
from search.similarity import percent

log = logging.getLogger(__name__)

SHARE = re.compile(r"^share ([A-Za-z0-9_-]{12}) (\d{1,2})$")
MAX_RESULTS = 10
MAX_QUERY = 64
UPLOAD_BUDGET_S = 3.0
UPLOADS_PER_QUERY = 3

InlineResult = InlineQueryResultArticle | InlineQueryResultCachedPhoto


async def on_query(update: Update, context: Context) -> None:
    deps = context.deps
    query = update.inline_query
    lang = lang_of(update, deps)
    words = (query.query or "")[:MAX_QUERY]
    share = SHARE.fullmatch(words)
    personal = share is not None
    if share:
        results = await shared_result(context, query.from_user.id, share.group(1), int(share.group(2)), lang)
    else:
        results = await people(context, words, lang)
    if not results:
        results = [invitation(deps, lang)]
    try:
        await query.answer(results, cache_time=0 if personal else 60, is_personal=personal)
    except TelegramError as exc:  # too late or a bad result: nothing a user can be told here
        deps.metrics.errors.labels(f"inline_{type(exc).__name__}").inc()
        log.warning("inline answer failed: %s", type(exc).__name__)


def try_markup(deps: Deps, lang: str) -> InlineKeyboardMarkup:
    link = f"https://t.me/{deps.username}?start={DEEP_LINK}"
    return InlineKeyboardMarkup([[InlineKeyboardButton(text(lang, "try_button"), url=link)]])


def invitation(deps: Deps, lang: str) -> InlineQueryResultArticle:
    bot = f"@{deps.username}"
    return InlineQueryResultArticle(
        id="try", title=text(lang, "inline_try_title"), description=text(lang, "inline_try_text", bot=bot),
        input_message_content=InputTextMessageContent(html.escape(text(lang, "inline_try_text", bot=bot))),
        reply_markup=try_markup(deps, lang))


async def shared_result(context: Context, user_id: int, token: str, face: int, lang: str) -> list[InlineResult]:
    deps = context.deps
    result = deps.results.get(token)
    if result is None or result.user_id != user_id or face >= len(result.faces):
        return []  # expired, or someone else's: offer the plain invitation
    best = result.faces[face].matches[0]
    bot = f"@{deps.username}"
    caption = text(lang, "share_caption", name=html.escape(best.name), percent=percent(best.similarity),
                   bot=html.escape(bot))
    title = text(lang, "share_title", name=best.name, percent=percent(best.similarity))
    key, path = deps.photos.thumbnail(best.face)
    return [await person_result(context, f"s{token}{face}", key, path, title, text(lang, "share_description"),
                                caption, lang, allow_upload=True)]


async def people(context: Context, words: str, lang: str) -> list[InlineResult]:
    deps = context.deps
    bot = f"@{deps.username}"
    results = []
    uploads = UPLOADS_PER_QUERY
    for person in deps.photos.find_people(words, MAX_RESULTS):
        caption = text(lang, "inline_person_caption", name=html.escape(person.name), bot=html.escape(bot))
        result = await person_result(context, f"p{person.index}", person.thumbnail_key, person.thumbnail,
                                     person.name, text(lang, "inline_person_description", name=person.name),
                                     caption, lang, allow_upload=uploads > 0)
        uploads -= isinstance(result, InlineQueryResultCachedPhoto)
        results.append(result)
    return results


async def person_result(context: Context, result_id: str, key: str, path: Path, title: str, description: str,
                        caption: str, lang: str, allow_upload: bool) -> InlineResult:
    """The celebrity's photo when a file_id is at hand (or can be had quickly), else words."""
    deps = context.deps
    file_id = await photo_id(context, key, path) if allow_upload else cached(deps, key)
    if file_id:
        return InlineQueryResultCachedPhoto(id=result_id, photo_file_id=file_id, title=title,
                                            description=description, caption=caption,
                                            reply_markup=try_markup(deps, lang))
    return InlineQueryResultArticle(id=result_id, title=title, description=description,
                                    input_message_content=InputTextMessageContent(caption),
                                    reply_markup=try_markup(deps, lang))


def cached(deps: Deps, key: str) -> str | None:
    return deps.fileids.get(key) if deps.fileids else None


async def photo_id(context: Context, key: str, path: Path) -> str | None:
    """A file_id for a celebrity thumbnail: cached, or uploaded to the media channel now."""
    deps = context.deps
    file_id = cached(deps, key)
    chat = deps.telegram.media_chat_id
    if file_id or not chat or deps.fileids is None:
        return file_id
    try:
        data = await asyncio.to_thread(path.read_bytes)
        sent = await asyncio.wait_for(context.bot.send_photo(chat, data, filename=path.name), UPLOAD_BUDGET_S)
    except (OSError, TelegramError, asyncio.TimeoutError) as exc:
        log.warning("media channel upload failed: %s", type(exc).__name__)
        return None
    if sent.photo:
        deps.fileids.put(key, sent.photo[-1].file_id)
        return sent.photo[-1].file_id
    return None
