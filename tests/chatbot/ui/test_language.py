"""chatbot/ui/language.py: which language a user is answered in, and /language to choose it."""
from __future__ import annotations

from chatbot.delivery.prefs import LanguagePrefs
from chatbot.texts import languages, text
from tests.chatbot.harness import OfflineBot, count, quoted
from tests.chatbot.updates import OTHER_USER, USER, bot_message, message, press, update


async def test_language_offers_a_button_per_catalog_language(bot: OfflineBot, prefs: LanguagePrefs):
    said = message("/language")
    await bot.feed(update(said))
    [sent] = bot.answers()
    assert sent["text"] == text("en", "language_choose") and quoted(sent) == said["message_id"]
    [row] = sent["reply_markup"]["inline_keyboard"]
    assert [(b["text"], b["callback_data"]) for b in row] == [(text(code, "language_name"), f"l:{code}")
                                                              for code in languages()]
    assert {"en", "ru"} <= set(languages())
    assert count(bot.deps.metrics.updates, "command") == 1


async def test_choosing_a_language_edits_the_menu_and_is_stored(bot: OfflineBot, prefs: LanguagePrefs):
    menu = bot_message(USER, text="choose")
    pressed = press("l:ru", menu)
    await bot.feed(pressed)
    assert [c.method for c in bot.api.calls] == ["answerCallbackQuery", "editMessageText"]
    [edit] = bot.api.sent("editMessageText")
    assert edit["chat_id"] == USER and edit["message_id"] == menu["message_id"]
    assert edit["text"] == text("ru", "language_set") and edit["parse_mode"] == "HTML"
    assert prefs.get(USER) == "ru"
    # stored in the database, not only in memory: a restart reads it back
    assert (await LanguagePrefs.load(prefs.db)).get(USER) == "ru"


async def test_a_chosen_language_wins_over_the_clients(bot: OfflineBot, prefs: LanguagePrefs):
    await prefs.set(USER, "ru")
    said = message("/help", lang="en")
    await bot.feed(update(said))
    [sent] = bot.answers()
    assert sent["text"] == text("ru", "help")


async def test_one_users_choice_is_not_anothers(bot: OfflineBot, prefs: LanguagePrefs):
    await prefs.set(USER, "ru")
    await bot.feed(update(message("/help", chat_id=OTHER_USER, from_id=OTHER_USER, lang="en")))
    [sent] = bot.answers()
    assert sent["text"] == text("en", "help")


async def test_a_menu_too_old_to_edit_gets_the_confirmation_as_a_new_message(bot: OfflineBot, prefs):
    bot.api.fail("editMessageText", 400, "Bad Request: message can't be edited")
    await bot.feed(press("l:ru", bot_message(USER, text="choose")))
    [sent] = bot.api.sent("sendMessage")
    assert sent["chat_id"] == USER and sent["text"] == text("ru", "language_set")
    assert prefs.get(USER) == "ru"


async def test_a_language_we_have_no_catalog_for_gets_an_alert(bot: OfflineBot, prefs: LanguagePrefs):
    pressed = press("l:xx", bot_message(USER, text="choose"))
    await bot.feed(pressed)
    [answer] = bot.api.sent("answerCallbackQuery")
    assert answer["text"] == text("en", "button_invalid") and answer["show_alert"] is True
    assert bot.api.sent("editMessageText") == [] and prefs.get(USER) is None


async def test_before_the_store_is_open_a_choice_is_refused_not_lost_silently(bot: OfflineBot):
    assert bot.deps.prefs is None
    pressed = press("l:ru", bot_message(USER, text="choose"))
    await bot.feed(pressed)
    [answer] = bot.api.sent("answerCallbackQuery")
    assert answer["show_alert"] is True
    assert bot.api.sent("editMessageText") == []


async def test_without_a_choice_the_clients_language_is_used_and_its_region_ignored(bot: OfflineBot, prefs):
    await bot.feed(update(message("/help", lang="ru-RU")))
    await bot.feed(update(message("/help", lang=None)))
    ru, default = bot.answers()
    assert ru["text"] == text("ru", "help") and default["text"] == text("en", "help")
