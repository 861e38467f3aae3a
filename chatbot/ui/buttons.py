"""The inline buttons: more lookalikes, a group photo's face cards, the language switch.

A press is always answered (answerCallbackQuery), also when its result has
expired, its data is not ours, or it comes from someone other than the one who
asked about the photo (Result.may_press): the client's spinner must stop and the user
learn what to do. Work that takes a moment (a face card needs the photo from
Telegram again) is answered first and done after.
"""
from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from chatbot.deps import Context, Deps
from chatbot.flow.fetch import FetchFailed
from chatbot.flow.results import Result, parse_callback
from chatbot.texts import text
from chatbot.ui import replies
from chatbot.ui.language import lang_of, set_language
from chatbot.ui.send import answer_press, send_shown, try_reply

log = logging.getLogger(__name__)


async def on_button(update: Update, context: Context) -> None:
    deps = context.deps
    query = update.callback_query
    press = parse_callback(query.data)
    lang = lang_of(update, deps)
    if press is None or query.message is None:
        await answer_press(query, text(lang, "button_invalid"), alert=True)
        return
    if press.kind == "l":
        if not await set_language(query, deps, press.lang):
            await answer_press(query, text(lang, "button_invalid"), alert=True)
        return
    result = deps.results.get(press.token, query.message.chat.id)
    if result is None or press.face >= len(result.faces):
        deps.metrics.photos.labels("button_expired").inc()
        await answer_press(query, text(lang, "expired"), alert=True)
        return
    if not result.may_press(query.from_user.id if query.from_user else None):
        deps.metrics.photos.labels("button_not_yours").inc()
        await answer_press(query, text(lang, "not_yours"), alert=True)
        return
    await answer_press(query)
    try:
        if press.kind == "m":
            await more(update, deps, result, press.face, lang)
        else:
            await face_card(update, deps, result, press.face, lang)
    except FetchFailed:
        await try_reply(query.message, text(lang, "fetch_failed"))
    except TelegramError as exc:
        deps.metrics.errors.labels(f"button_{type(exc).__name__}").inc()
        log.warning("button answer failed: %s", type(exc).__name__)


async def more(update: Update, deps: Deps, result: Result, face: int, lang: str) -> None:
    """The next people for this face: a new search with the stored vector, no embedding."""
    matches, shown = deps.photos.more(result, face, replies.MORE)
    await update.callback_query.message.reply_text(replies.more_text(lang, face, matches, shown))


async def face_card(update: Update, deps: Deps, result: Result, face: int, lang: str) -> None:
    """One face of a group photo as its own card, under the group photo."""
    shown = await deps.photos.face_card(
        result, face, lambda match, meta: replies.card_text(lang, match, meta, deps.username, deps.strong))
    await send_shown(update.callback_query.message, shown,
                     replies.one_face_caption(lang, shown.matches, shown.meta, deps.strong),
                     replies.result_keyboard(lang, result.token, face, shown.person), deps.fileids)
