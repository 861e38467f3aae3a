"""chatbot/ui/buttons.py: every press is answered (the spinner stops), then the work is done."""
from __future__ import annotations

import pytest

from chatbot.texts import text
from chatbot.ui import replies
from tests.chatbot.harness import OfflineBot, count, quoted
from tests.chatbot.offline import DOWNLOAD
from tests.chatbot.standin import CARD, META, PEOPLE, PHOTO, RANKED
from tests.chatbot.updates import GROUP, OTHER_USER, USER, bot_message, photo_message, press, update

ANONYMOUS_ADMIN = 1087968824  # Telegram's GroupAnonymousBot: the sender of an anonymous admin's message


async def answered_photo(bot: OfflineBot, faces: int = 1, chat_id: int = USER) -> tuple[str, dict]:
    """A photo answered as the user saw it: the result's token and the bot's message with the buttons."""
    bot.photos.faces = faces
    bot.api.serve_file("photo-1", PHOTO)
    await bot.feed(update(photo_message("photo-1", chat_id=chat_id,
                                        caption="/lookalike" if chat_id < 0 else None)))
    [result] = bot.photos.stored
    under = bot_message(chat_id, photo=[{"file_id": "sent", "file_unique_id": "us", "width": 9, "height": 9}])
    bot.api.clear()
    return result.token, under


def spinner_stopped(bot: OfflineBot, update_: dict, notice: str | None = None, alert: bool = False) -> None:
    [answer] = bot.api.sent("answerCallbackQuery")
    assert answer["callback_query_id"] == update_["callback_query"]["id"]
    assert answer.get("text") == notice
    assert answer["show_alert"] is alert


async def test_more_lookalikes_names_the_next_people(bot: OfflineBot):
    token, under = await answered_photo(bot)
    pressed = press(f"m:{token}:0", under)
    await bot.feed(pressed)
    assert [c.method for c in bot.api.calls] == ["answerCallbackQuery", "sendMessage"]
    spinner_stopped(bot, pressed)
    [sent] = bot.answers()
    assert sent["chat_id"] == USER and sent["parse_mode"] == "HTML" and quoted(sent) == under["message_id"]
    assert sent["text"] == replies.more_text("en", 0, RANKED[:3 + replies.MORE], 3)
    assert "Adam &lt;Smith&gt; &amp; Sons" in sent["text"]  # the fourth person, escaped
    assert count(bot.deps.metrics.updates, "button") == 1


async def test_more_for_a_face_of_a_group_photo_starts_after_its_best_match(bot: OfflineBot):
    token, under = await answered_photo(bot, faces=3)
    await bot.feed(press(f"m:{token}:1", under))
    [sent] = bot.answers()
    assert sent["text"] == replies.more_text("en", 1, RANKED[1:1 + 1 + replies.MORE], 1)
    assert sent["text"].startswith(text("en", "more_title", number=2))


async def test_more_when_nobody_else_is_near(bot: OfflineBot, monkeypatch):
    token, under = await answered_photo(bot)
    monkeypatch.setattr(bot.photos, "more", lambda result, face, extra: (RANKED[:3], 3))
    await bot.feed(press(f"m:{token}:0", under))
    [sent] = bot.answers()
    assert sent["text"] == text("en", "no_more")


async def test_a_face_button_sends_that_faces_card_under_the_group_photo(bot: OfflineBot):
    token, under = await answered_photo(bot, faces=3, chat_id=GROUP)
    pressed = press(f"f:{token}:2", under)
    await bot.feed(pressed)
    assert [c.method for c in bot.api.calls] == ["answerCallbackQuery", "getFile", DOWNLOAD, "sendPhoto"]
    spinner_stopped(bot, pressed)
    assert bot.api.sent("getFile")[0]["file_id"] == "photo-1"  # fetched again: the photo is never kept
    [card] = bot.answers()
    assert card["chat_id"] == GROUP and quoted(card) == under["message_id"]
    assert card.files["photo"][:2] == ("lookalike.jpg", CARD)
    assert card["caption"] == replies.one_face_caption("en", RANKED[2:5], META, bot.deps.strong)
    assert card["reply_markup"] == replies.result_keyboard("en", token, 2, PEOPLE[2]).to_dict()
    # Grace Hopper's "wikipedia" is not a Wikipedia link: more and share only
    assert [b.get("callback_data") for row in card["reply_markup"]["inline_keyboard"] for b in row] == \
        [f"m:{token}:2", None]


async def test_a_face_card_whose_photo_cannot_be_fetched_says_so(bot: OfflineBot):
    token, under = await answered_photo(bot, faces=2)
    bot.api.fail("getFile", 502)
    await bot.feed(press(f"f:{token}:1", under))
    [sent] = bot.answers()
    assert sent["text"] == text("en", "fetch_failed") and quoted(sent) == under["message_id"]


async def test_a_face_card_that_cannot_be_sent_is_counted_and_not_repeated(bot: OfflineBot):
    token, under = await answered_photo(bot, faces=2)
    bot.api.fail("sendPhoto", 400)
    await bot.feed(press(f"f:{token}:1", under))
    assert [c.method for c in bot.answers()] == ["sendPhoto"]
    assert count(bot.deps.metrics.errors, "button_BadRequest") == 1


async def test_the_work_is_done_even_if_the_press_is_too_old_to_answer(bot: OfflineBot):
    token, under = await answered_photo(bot)
    bot.api.fail("answerCallbackQuery", 400, "Bad Request: query is too old")
    await bot.feed(press(f"m:{token}:0", under))
    assert [c.method for c in bot.answers()] == ["sendMessage"]


@pytest.mark.parametrize("data", ["m:{token}:5", "m:AAAAAAAAAAAA:0", "f:AAAAAAAAAAAA:0"])
async def test_an_expired_or_unknown_result_gets_an_alert(bot: OfflineBot, data: str):
    token, under = await answered_photo(bot, faces=2)
    pressed = press(data.format(token=token), under)
    await bot.feed(pressed)
    spinner_stopped(bot, pressed, text("en", "expired"), alert=True)
    assert bot.answers() == []
    assert count(bot.deps.metrics.photos, "button_expired") == 1


async def test_a_result_pressed_in_another_chat_is_not_found(bot: OfflineBot):
    token, _ = await answered_photo(bot)
    elsewhere = bot_message(GROUP)
    pressed = press(f"m:{token}:0", elsewhere)
    await bot.feed(pressed)
    spinner_stopped(bot, pressed, text("en", "expired"), alert=True)
    assert bot.answers() == []


@pytest.mark.parametrize("data", ["x" * 65, "m:short:0", "drop table", "m:AAAAAAAAAAAA:100", ""])
async def test_data_this_bot_did_not_make_gets_an_alert(bot: OfflineBot, data: str):
    pressed = press(data, bot_message())
    await bot.feed(pressed)
    spinner_stopped(bot, pressed, text("en", "button_invalid"), alert=True)
    assert bot.answers() == []


async def test_a_press_on_an_inline_message_gets_an_alert(bot: OfflineBot):
    token, _ = await answered_photo(bot)
    pressed = press(f"m:{token}:0", bot_message())
    query = pressed["callback_query"]
    del query["message"]
    query["inline_message_id"] = "inline-1"
    await bot.feed(pressed)
    spinner_stopped(bot, pressed, text("en", "button_invalid"), alert=True)
    assert bot.answers() == []


async def test_the_alert_is_in_the_users_language(bot: OfflineBot):
    pressed = press("m:AAAAAAAAAAAA:0", bot_message(), lang="ru")
    await bot.feed(pressed)
    spinner_stopped(bot, pressed, text("ru", "expired"), alert=True)


@pytest.mark.parametrize("data", ["m:{token}:0", "f:{token}:1"])
async def test_in_a_group_only_the_one_who_asked_may_press_the_buttons(bot: OfflineBot, data: str):
    token, under = await answered_photo(bot, faces=2, chat_id=GROUP)
    pressed = press(data.format(token=token), under, from_id=OTHER_USER)
    await bot.feed(pressed)
    assert [c.method for c in bot.api.calls] == ["answerCallbackQuery"]  # no card, no list for a bystander
    spinner_stopped(bot, pressed, text("en", "not_yours"), alert=True)
    assert count(bot.deps.metrics.photos, "button_not_yours") == 1
    bot.api.clear()
    await bot.feed(press(data.format(token=token), under, from_id=USER))  # the one who asked still may
    assert len(bot.answers()) == 1


async def test_buttons_of_a_photo_sent_anonymously_are_left_to_the_chat(bot: OfflineBot):
    bot.photos.faces = 1
    bot.api.serve_file("photo-1", PHOTO)
    anonymous = photo_message("photo-1", chat_id=GROUP, from_id=ANONYMOUS_ADMIN, caption="/lookalike")
    await bot.feed(update(anonymous))
    [result] = bot.photos.stored
    bot.api.clear()
    await bot.feed(press(f"m:{result.token}:0", bot_message(GROUP), from_id=OTHER_USER))
    assert len(bot.answers()) == 1
