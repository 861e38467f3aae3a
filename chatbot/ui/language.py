"""Which language a user is answered in, and /language to choose it."""
from __future__ import annotations

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from chatbot.deps import Context, Deps
from chatbot.texts import language, languages, text
from chatbot.ui.send import answer_press


def lang_of(update: Update, deps: Deps) -> str:
    """The language the user chose with /language, else their Telegram client's."""
    user = update.effective_user
    if user is None:
        return language(None)
    chosen = deps.prefs.get(user.id) if deps.prefs else None
    return chosen or language(user.language_code)


async def on_language_command(update: Update, context: Context) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(text(code, "language_name"), callback_data=f"l:{code}")
                                      for code in languages()]])
    await update.effective_message.reply_text(text(lang_of(update, context.deps), "language_choose"),
                                              reply_markup=keyboard)


async def set_language(query: CallbackQuery, deps: Deps, chosen: str) -> bool:
    """Store the choice and say so; False if it is not a language of ours (the caller alerts)."""
    if chosen not in languages() or deps.prefs is None:
        return False
    await deps.prefs.set(query.from_user.id, chosen)
    await answer_press(query)
    done = text(chosen, "language_set")
    try:
        await query.edit_message_text(done)
    except TelegramError:  # too old to edit: say it in a new message
        await query.get_bot().send_message(query.message.chat.id, done)
    return True
