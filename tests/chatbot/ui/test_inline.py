"""chatbot/ui/inline.py: sharing a result, and celebrity search by name, as answerInlineQuery sees them."""
from __future__ import annotations

import html

import pytest

from chatbot.texts import text
from chatbot.ui import inline
from search.similarity import percent
from tests.chatbot.harness import OfflineBot, count
from tests.chatbot.offline import BOT_USERNAME
from tests.chatbot.standin import PEOPLE, PHOTO, RANKED, THUMB_KEY, person_key
from tests.chatbot.updates import OTHER_USER, USER, inline as inline_query, photo_message, update

MEDIA_CHAT = -1001234
TRY_URL = f"https://t.me/{BOT_USERNAME}?start=share"
BOT = f"@{BOT_USERNAME}"


def the_answer(bot: OfflineBot, query: dict):
    [answer] = bot.api.sent("answerInlineQuery")
    assert answer["inline_query_id"] == query["inline_query"]["id"]
    return answer


def try_button(result: dict) -> str:
    [[button]] = result["reply_markup"]["inline_keyboard"]
    return button["url"]


async def shared_token(bot: OfflineBot) -> str:
    bot.api.serve_file("photo-1", PHOTO)
    await bot.feed(update(photo_message("photo-1")))
    bot.api.clear()
    return bot.photos.stored[-1].token


async def test_an_empty_query_offers_the_invitation(bot: OfflineBot):
    query = inline_query("")
    await bot.feed(query)
    answer = the_answer(bot, query)
    [result] = answer["results"]
    assert result["type"] == "article" and result["id"] == "try"
    assert result["title"] == text("en", "inline_try_title")
    assert result["input_message_content"]["message_text"] == html.escape(text("en", "inline_try_text", bot=BOT))
    assert try_button(result) == TRY_URL
    assert answer["cache_time"] == 60 and answer["is_personal"] is False
    assert count(bot.deps.metrics.updates, "inline") == 1


async def test_a_name_finds_people_names_that_start_with_it_first(bot: OfflineBot):
    query = inline_query("ada")
    await bot.feed(query)
    results = the_answer(bot, query)["results"]
    assert [r["id"] for r in results] == ["p0", "p3"]  # Ada Lovelace, then "Adam <Smith> & Sons"
    ada, adam = results
    assert ada["type"] == "article" and ada["title"] == "Ada Lovelace"
    assert ada["description"] == text("en", "inline_person_description", name="Ada Lovelace")
    assert adam["input_message_content"]["message_text"] == text(
        "en", "inline_person_caption", name=html.escape(PEOPLE[3]["name"]), bot=BOT)
    assert adam["input_message_content"]["parse_mode"] == "HTML"
    assert try_button(ada) == TRY_URL


async def test_a_person_with_a_cached_thumbnail_is_offered_with_the_photo(bot: OfflineBot):
    bot.deps.fileids.put(person_key(0), "cached-ada")
    query = inline_query("lovelace")
    await bot.feed(query)
    [result] = the_answer(bot, query)["results"]
    assert result["type"] == "photo" and result["photo_file_id"] == "cached-ada"
    assert result["caption"] == text("en", "inline_person_caption", name="Ada Lovelace", bot=BOT)
    assert result["parse_mode"] == "HTML"
    assert bot.api.sent("sendPhoto") == []


async def test_a_name_nobody_has_offers_the_invitation(bot: OfflineBot):
    query = inline_query("zzz")
    await bot.feed(query)
    [result] = the_answer(bot, query)["results"]
    assert result["id"] == "try"


async def test_with_a_media_channel_a_few_thumbnails_are_uploaded_per_query(bot: OfflineBot):
    bot.configure(media_chat_id=MEDIA_CHAT)
    query = inline_query("a")  # every name has an "a"
    await bot.feed(query)
    uploads = bot.api.sent("sendPhoto")
    assert len(uploads) == inline.UPLOADS_PER_QUERY
    assert all(u["chat_id"] == MEDIA_CHAT and u.files["photo"][0] == "ada.jpg" for u in uploads)
    results = the_answer(bot, query)["results"]
    assert len(results) == inline.MAX_RESULTS
    kinds = [r["type"] for r in results]
    assert kinds == ["photo"] * inline.UPLOADS_PER_QUERY + ["article"] * (inline.MAX_RESULTS - inline.UPLOADS_PER_QUERY)
    first = results[0]
    assert first["photo_file_id"] == bot.deps.fileids.get(person_key(int(first["id"][1:])))


async def test_a_failed_media_channel_upload_falls_back_to_words(bot: OfflineBot):
    bot.configure(media_chat_id=MEDIA_CHAT)
    bot.api.fail("sendPhoto", 403, "Forbidden: bot is not a member of the channel chat")
    query = inline_query("lovelace")
    await bot.feed(query)
    [result] = the_answer(bot, query)["results"]
    assert result["type"] == "article"
    assert bot.deps.fileids.get(person_key(0)) is None


async def test_the_owner_shares_their_result_with_the_celebritys_photo(bot: OfflineBot):
    bot.configure(media_chat_id=MEDIA_CHAT)
    token = await shared_token(bot)
    query = inline_query(f"share {token} 0")
    await bot.feed(query)
    [upload] = bot.api.sent("sendPhoto")
    assert upload["chat_id"] == MEDIA_CHAT  # the celebrity's thumbnail, never the user's photo
    assert upload.files["photo"][1] == (bot.assets / THUMB_KEY).read_bytes()
    answer = the_answer(bot, query)
    assert answer["cache_time"] == 0 and answer["is_personal"] is True
    [result] = answer["results"]
    best = RANKED[0]
    assert result["id"] == f"s{token}0" and result["type"] == "photo"
    assert result["photo_file_id"] == bot.deps.fileids.get(THUMB_KEY)
    assert result["title"] == text("en", "share_title", name=best.name, percent=percent(best.similarity))
    assert result["caption"] == text("en", "share_caption", name=best.name, percent=percent(best.similarity),
                                     bot=BOT)


async def test_without_a_file_id_a_share_is_the_words_alone(bot: OfflineBot):
    token = await shared_token(bot)
    query = inline_query(f"share {token} 0")
    await bot.feed(query)
    [result] = the_answer(bot, query)["results"]
    assert result["type"] == "article" and result["id"] == f"s{token}0"
    assert "Ada Lovelace" in result["input_message_content"]["message_text"]


@pytest.mark.parametrize("who, face", [(OTHER_USER, 0), (USER, 1)])
async def test_someone_elses_or_a_missing_result_is_not_shared(bot: OfflineBot, who: int, face: int):
    token = await shared_token(bot)
    query = inline_query(f"share {token} {face}", from_id=who)
    await bot.feed(query)
    answer = the_answer(bot, query)
    [result] = answer["results"]
    assert result["id"] == "try"
    assert answer["is_personal"] is True  # still a personal answer: never cached for someone else


async def test_an_expired_token_gets_the_invitation(bot: OfflineBot):
    query = inline_query("share AAAAAAAAAAAA 0")
    await bot.feed(query)
    [result] = the_answer(bot, query)["results"]
    assert result["id"] == "try"


async def test_the_answer_is_in_the_users_language(bot: OfflineBot):
    query = inline_query("", lang="ru")
    await bot.feed(query)
    [result] = the_answer(bot, query)["results"]
    assert result["title"] == text("ru", "inline_try_title")


async def test_a_long_query_is_cut_and_still_answered(bot: OfflineBot):
    query = inline_query("a" * 300)
    await bot.feed(query)
    assert the_answer(bot, query)["results"][0]["id"] == "try"


async def test_an_answer_telegram_refuses_is_counted_not_raised(bot: OfflineBot):
    bot.api.fail("answerInlineQuery", 400, "Bad Request: query is too old and response timeout expired")
    await bot.feed(inline_query("ada"))
    assert count(bot.deps.metrics.errors, "inline_BadRequest") == 1
    assert count(bot.deps.metrics.errors, "BadRequest") == 0  # handled, not the error handler's
