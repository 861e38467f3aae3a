"""chatbot/ui/commands.py: the commands and the hint for anything else, as the Bot API sees them."""
from __future__ import annotations

import pytest

from chatbot.texts import text
from tests.chatbot.harness import OfflineBot, count, quoted
from tests.chatbot.offline import BOT_USERNAME
from tests.chatbot.standin import PEOPLE
from tests.chatbot.updates import GROUP, USER, edited, message, photo_message, update


def only_reply(bot: OfflineBot, to: dict):
    """The one message the bot sent: HTML, into the chat, quoting ``to`` (also if it was deleted)."""
    [sent] = bot.answers()
    assert sent.method == "sendMessage"
    assert sent["chat_id"] == to["chat"]["id"]
    assert sent["parse_mode"] == "HTML"
    assert quoted(sent) == to["message_id"]
    return sent


@pytest.mark.parametrize("command, key", [("/start", "start"), ("/help", "help"), ("/privacy", "privacy")])
async def test_a_command_is_answered_with_its_text(bot: OfflineBot, command: str, key: str):
    said = message(command)
    await bot.feed(update(said))
    assert only_reply(bot, said)["text"] == text("en", key)
    assert count(bot.deps.metrics.updates, "command") == 1


async def test_start_from_a_shared_result_welcomes_the_friend(bot: OfflineBot):
    said = message("/start share")
    await bot.feed(update(said))
    assert only_reply(bot, said)["text"] == text("en", "welcome_shared")


async def test_start_with_another_payload_is_a_plain_start(bot: OfflineBot):
    said = message("/start something")
    await bot.feed(update(said))
    assert only_reply(bot, said)["text"] == text("en", "start")


async def test_about_gives_the_gallery_size(bot: OfflineBot):
    said = message("/about")
    await bot.feed(update(said))
    assert only_reply(bot, said)["text"] == text("en", "about", people=len(PEOPLE), faces=3 * len(PEOPLE))


async def test_commands_are_answered_in_the_clients_language(bot: OfflineBot):
    said = message("/help", lang="ru")
    await bot.feed(update(said))
    assert only_reply(bot, said)["text"] == text("ru", "help")
    assert text("ru", "help") != text("en", "help")


async def test_an_unknown_client_language_gets_english(bot: OfflineBot):
    said = message("/help", lang="de")
    await bot.feed(update(said))
    assert only_reply(bot, said)["text"] == text("en", "help")


async def test_text_in_a_private_chat_gets_the_send_a_photo_hint(bot: OfflineBot):
    said = message("hello there")
    await bot.feed(update(said))
    assert only_reply(bot, said)["text"] == text("en", "send_photo")
    assert count(bot.deps.metrics.updates, "other") == 1


async def test_text_in_a_group_is_not_answered(bot: OfflineBot):
    await bot.feed(update(message("hello all", chat_id=GROUP)))
    assert bot.api.calls == []


async def test_a_command_addressed_to_the_bot_in_a_group_is_answered(bot: OfflineBot):
    said = message(f"/help@{BOT_USERNAME}", chat_id=GROUP)
    await bot.feed(update(said))
    assert only_reply(bot, said)["text"] == text("en", "help")


async def test_a_command_for_another_bot_is_not_answered(bot: OfflineBot):
    await bot.feed(update(message("/help@other_bot", chat_id=GROUP)))
    assert bot.api.calls == []


async def test_an_edited_command_is_not_answered_again(bot: OfflineBot):
    await bot.feed(edited(message("/help")))
    assert bot.api.calls == []
    assert count(bot.deps.metrics.updates, "command") == 0


async def test_lookalike_as_a_reply_to_a_photo_answers_that_photo(bot: OfflineBot):
    photo = photo_message("group-photo", chat_id=GROUP, from_id=USER + 7)
    bot.api.serve_file("group-photo", b"\xff\xd8 a photo")
    ask = message("/lookalike", chat_id=GROUP, reply_to_message=photo)
    await bot.feed(update(ask))
    [request] = bot.photos.requests
    assert request.file_id == "group-photo" and request.chat_id == GROUP and request.user == USER
    [sent] = bot.answers()
    assert sent.method == "sendPhoto"
    assert sent["chat_id"] == GROUP
    assert quoted(sent) == photo["message_id"]


async def test_lookalike_without_a_photo_asks_for_a_reply_to_one(bot: OfflineBot):
    ask = message("/lookalike", chat_id=GROUP, reply_to_message=message("just words", chat_id=GROUP))
    await bot.feed(update(ask))
    assert only_reply(bot, ask)["text"] == text("en", "reply_to_photo")
    assert bot.photos.requests == []


async def test_lookalike_on_its_own_asks_for_a_reply_to_a_photo(bot: OfflineBot):
    ask = message("/lookalike", chat_id=GROUP)
    await bot.feed(update(ask))
    assert only_reply(bot, ask)["text"] == text("en", "reply_to_photo")


async def test_a_failing_command_reaches_the_error_handler_and_is_counted(bot: OfflineBot, monkeypatch):
    def broken() -> tuple[int, int]:
        raise RuntimeError("gallery gone")
    monkeypatch.setattr(bot.photos, "gallery_size", broken)
    await bot.feed(update(message("/about")))
    assert bot.answers() == []
    assert count(bot.deps.metrics.errors, "RuntimeError") == 1
