"""chatbot/ui/photos.py: every photo gets exactly one answer, whatever fails on the way.

The stand-in service fetches through the real fetch_photo, so getFile and the
download are Bot API calls the offline seam can fail; sends are the real
handlers' own. Faults are told per call, so nothing here waits on a clock.
"""
from __future__ import annotations

import asyncio

import pytest

from chatbot.flow.fairqueue import FairQueue
from chatbot.texts import text
from chatbot.ui import replies
from tests.chatbot.harness import OfflineBot, count, quoted
from tests.chatbot.offline import BOT_USERNAME, DOWNLOAD, eventually
from tests.chatbot.standin import ANNOTATED, CARD, META, PEOPLE, PHOTO, RANKED, RETRY_AT_ONCE, THUMB_KEY
from tests.chatbot.updates import (GROUP, OTHER_USER, USER, document_message, edited, message, photo_message,
                                   update)
from worker.outcome import Outcome


def photo_update(bot: OfflineBot, file_id: str = "photo-1", **kw) -> tuple[dict, dict]:
    """A photo update whose file the offline Bot API serves; (update, message)."""
    bot.api.serve_file(file_id, PHOTO)
    said = photo_message(file_id, **kw)
    return update(said), said


def buttons(call) -> list[dict]:
    return [b for row in call["reply_markup"]["inline_keyboard"] for b in row]


def the_reply(bot: OfflineBot, to: dict):
    """The one answer; into the photo's chat, in HTML, quoting the photo."""
    [sent] = bot.answers()
    assert sent["chat_id"] == to["chat"]["id"]
    assert sent["parse_mode"] == "HTML"
    assert quoted(sent) == to["message_id"]
    return sent


# -- the answers ---------------------------------------------------------------------------

async def test_one_face_gets_the_card_with_the_lookalikes_and_buttons(bot: OfflineBot):
    upd, said = photo_update(bot)
    await bot.feed(upd)
    sent = the_reply(bot, said)
    assert sent.method == "sendPhoto"
    assert sent.files["photo"][0] == "lookalike.jpg" and sent.files["photo"][1] == CARD
    assert sent["caption"] == replies.one_face_caption("en", RANKED[:3], META, bot.deps.strong)
    assert "Ada Lovelace" in sent["caption"] and "Adam &lt;Smith&gt; &amp; Sons" not in sent["caption"]
    [result] = bot.photos.stored
    assert sent["reply_markup"] == replies.result_keyboard("en", result.token, 0, PEOPLE[0]).to_dict()
    more, who, share = buttons(sent)
    assert more["callback_data"] == f"m:{result.token}:0"
    assert who["url"] == PEOPLE[0]["wikipedia"]
    assert share["switch_inline_query"] == f"share {result.token} 0"
    assert bot.photos.fetched == [PHOTO]


async def test_the_photo_is_fetched_at_the_size_the_detector_needs_and_the_user_sees_progress(bot: OfflineBot):
    upd, said = photo_update(bot)
    await bot.feed(upd)
    methods = [c.method for c in bot.api.calls]
    assert methods == ["sendChatAction", "getFile", DOWNLOAD, "sendPhoto"]
    action, get_file = bot.api.calls[:2]
    assert action["action"] == "upload_photo" and action["chat_id"] == USER
    assert get_file["file_id"] == "photo-1"  # 800 px: not the thumbnail, not the largest size
    [request] = bot.photos.requests
    assert (request.chat_id, request.user, request.lang) == (USER, USER, "en")


async def test_the_card_is_worded_in_the_users_language_and_names_the_bot(bot: OfflineBot):
    upd, said = photo_update(bot, lang="ru")
    await bot.feed(upd)
    [words] = bot.photos.card_words
    assert words.title == text("ru", "card_title") and words.you == text("ru", "card_you")
    assert words.name == "Ada Lovelace" and words.percent == "87%"
    assert words.footer == f"@{BOT_USERNAME}"
    assert the_reply(bot, said)["caption"] == replies.one_face_caption("ru", RANKED[:3], META, bot.deps.strong)


async def test_several_faces_get_the_numbered_photo_and_a_button_per_face(bot: OfflineBot):
    bot.photos.faces, bot.photos.detected = 3, 12
    upd, said = photo_update(bot)
    await bot.feed(upd)
    sent = the_reply(bot, said)
    assert sent.method == "sendPhoto" and sent.files["photo"][:2] == ("faces.jpg", ANNOTATED)
    best = [RANKED[0], RANKED[1], RANKED[2]]
    assert sent["caption"] == replies.group_caption("en", best, 12, bot.deps.strong)
    assert text("en", "more_faces", count=9) in sent["caption"]
    [result] = bot.photos.stored
    assert [b["callback_data"] for b in buttons(sent)] == [f"f:{result.token}:{i}" for i in range(3)]
    assert count(bot.deps.metrics.faces) == 3


@pytest.mark.parametrize("outcome, key", [(Outcome.NO_FACE, "no_face"), (Outcome.NOT_AN_IMAGE, "not_an_image"),
                                          (Outcome.TOO_LARGE, "too_large"), (Outcome.INTERNAL, "failed"),
                                          (Outcome.TIMEOUT, "failed")])
async def test_a_photo_without_a_result_gets_one_reply_saying_why(bot: OfflineBot, outcome: Outcome, key: str):
    bot.photos.outcome = outcome
    upd, said = photo_update(bot)
    await bot.feed(upd)
    sent = the_reply(bot, said)
    assert sent.method == "sendMessage" and sent["text"] == text("en", key)
    assert count(bot.deps.metrics.photos, outcome.value) == 1
    assert bot.photos.stored == []


async def test_an_image_sent_as_a_file_is_answered(bot: OfflineBot):
    bot.api.serve_file("doc-1", PHOTO)
    said = document_message("doc-1")
    await bot.feed(update(said))
    assert the_reply(bot, said).method == "sendPhoto"
    assert bot.photos.requests[0].file_id == "doc-1"
    assert count(bot.deps.metrics.updates, "document") == 1


@pytest.mark.parametrize("mime, name, key", [("image/heic", "IMG_1.HEIC", "heic"), ("", "photo.heif", "heic"),
                                             ("application/pdf", "cv.pdf", "not_image_document")])
async def test_a_file_that_is_no_image_we_read_gets_a_hint_and_no_fetch(bot: OfflineBot, mime, name, key):
    said = document_message("doc-2", mime=mime, file_name=name)
    await bot.feed(update(said))
    assert the_reply(bot, said)["text"] == text("en", key)
    assert bot.api.sent("getFile") == [] and bot.photos.requests == []
    assert count(bot.deps.metrics.photos, key) == 1


async def test_a_photo_over_the_bots_download_limit_is_refused_without_a_fetch(bot: OfflineBot):
    upd, said = photo_update(bot, file_size=60 * 1024 * 1024)  # the size fetched: 24 MB
    await bot.feed(upd)
    assert the_reply(bot, said)["text"] == text("en", "too_big_file")
    assert bot.api.sent("getFile") == []
    assert count(bot.deps.metrics.photos, "too_big_file") == 1


async def test_a_file_that_getfile_says_is_too_big_is_refused_without_a_download(bot: OfflineBot):
    bot.api.serve_file("doc-3", PHOTO, reported_size=25 * 1024 * 1024)
    said = document_message("doc-3", file_size=None)
    await bot.feed(update(said))
    assert the_reply(bot, said)["text"] == text("en", "too_big_file")
    assert len(bot.api.sent("getFile")) == 1 and bot.api.sent(DOWNLOAD) == []
    assert count(bot.deps.metrics.photos, "too_big_file") == 1


# -- admission -----------------------------------------------------------------------------

async def test_a_user_with_a_photo_in_progress_is_told_busy_and_both_photos_get_one_answer(bot: OfflineBot):
    first_upd, first = photo_update(bot, "photo-a")
    second_upd, second = photo_update(bot, "photo-b")
    gate = bot.api.hold("getFile")
    running = asyncio.create_task(bot.feed(first_upd))
    await eventually(lambda: bot.api.sent("getFile"))
    assert len(bot.deps.answering) == 1 and bot.photos.in_progress == 1
    await bot.feed(second_upd)
    [busy] = bot.answers()
    assert busy["text"] == text("en", "busy") and quoted(busy) == second["message_id"]
    gate.set()
    await running
    busy, answer = bot.answers()
    assert answer.method == "sendPhoto" and quoted(answer) == first["message_id"]
    assert len(bot.deps.answering) == 0 and bot.photos.in_progress == 0
    assert count(bot.deps.metrics.photos, "busy") == 1 and count(bot.deps.metrics.photos, "ok") == 1


async def test_when_everyone_has_used_the_capacity_a_new_user_is_told_overloaded(bot: OfflineBot):
    bot.photos.queue = FairQueue(slots=1, per_user=5, max_total=1)
    first_upd, _ = photo_update(bot, "photo-a")
    second_upd, second = photo_update(bot, "photo-b", chat_id=OTHER_USER, from_id=OTHER_USER)
    gate = bot.api.hold("getFile")
    running = asyncio.create_task(bot.feed(first_upd))
    await eventually(lambda: bot.api.sent("getFile"))
    await bot.feed(second_upd)
    [overloaded] = bot.answers()
    assert overloaded["chat_id"] == OTHER_USER and overloaded["text"] == text("en", "overloaded")
    assert quoted(overloaded) == second["message_id"]
    gate.set()
    await running
    assert len(bot.answers()) == 2


async def test_an_answered_photo_frees_its_place_for_the_next(bot: OfflineBot):
    for name in ("photo-a", "photo-b", "photo-c"):  # per_user is 1 in the stand-in
        upd, _ = photo_update(bot, name)
        await bot.feed(upd)
    assert [c.method for c in bot.answers()] == ["sendPhoto"] * 3
    assert count(bot.deps.metrics.photos, "ok") == 3


# -- faults while fetching: one "please send it again", never more ---------------------------

@pytest.mark.parametrize("method, fault, error", [
    ("getFile", 500, "NetworkError"), ("getFile", 502, "NetworkError"), ("getFile", "timeout", "TimedOut"),
    ("getFile", 403, "Forbidden"), (DOWNLOAD, 502, "NetworkError"), (DOWNLOAD, 403, "Forbidden"),
    (DOWNLOAD, "timeout", "TimedOut"), (DOWNLOAD, 404, "InvalidToken")])
async def test_a_fetch_that_keeps_failing_gets_one_fetch_failed_reply(bot: OfflineBot, method, fault, error):
    if fault == "timeout":
        bot.api.time_out(method)
    else:
        bot.api.fail(method, fault)
    upd, said = photo_update(bot)
    await bot.feed(upd)
    sent = the_reply(bot, said)
    assert sent.method == "sendMessage" and sent["text"] == text("en", "fetch_failed")
    assert count(bot.deps.metrics.photos, "fetch_failed") == 1
    assert count(bot.deps.metrics.errors, f"fetch_{error}") == 1


async def test_a_download_that_ends_early_counts_as_a_failed_fetch(bot: OfflineBot):
    bot.api.serve_file("photo-1", PHOTO[:-100], reported_size=len(PHOTO))
    said = photo_message("photo-1")
    await bot.feed(update(said))
    assert the_reply(bot, said)["text"] == text("en", "fetch_failed")
    assert count(bot.deps.metrics.errors, "fetch_Truncated") == 1


async def test_transient_fetch_faults_are_retried_and_the_photo_answered_once(bot: OfflineBot):
    bot.photos.fetch = RETRY_AT_ONCE
    bot.api.fail("getFile", 502)
    bot.api.time_out(DOWNLOAD)
    upd, said = photo_update(bot)
    await bot.feed(upd)
    assert the_reply(bot, said).method == "sendPhoto"
    assert len(bot.api.sent("getFile")) == 3 and len(bot.api.sent(DOWNLOAD)) == 2
    assert bot.photos.fetched == [PHOTO]


async def test_a_file_telegram_refuses_for_good_gets_one_failed_reply(bot: OfflineBot):
    bot.api.fail("getFile", 400, "Bad Request: wrong file_id")
    upd, said = photo_update(bot)
    await bot.feed(upd)
    assert the_reply(bot, said)["text"] == text("en", "failed")
    assert len(bot.api.sent("getFile")) == 1 and bot.api.sent(DOWNLOAD) == []
    assert count(bot.deps.metrics.errors, "BadRequest") == 1


# -- faults while sending --------------------------------------------------------------------

@pytest.mark.parametrize("status, error", [(400, "BadRequest"), (403, "Forbidden"), (429, "RetryAfter"),
                                           (500, "NetworkError")])
async def test_a_send_that_fails_gets_one_short_failed_reply(bot: OfflineBot, status: int, error: str):
    bot.api.fail("sendPhoto", status, retry_after=3 if status == 429 else None)
    upd, said = photo_update(bot)
    await bot.feed(upd)
    photo, reply = bot.answers()
    assert photo.method == "sendPhoto"
    assert reply.method == "sendMessage" and reply["text"] == text("en", "failed")
    assert quoted(reply) == said["message_id"]
    assert count(bot.deps.metrics.errors, error) == 1
    # the user saw the apology: counted as failed, not as the photo's own outcome
    assert count(bot.deps.metrics.photos, "failed") == 1 and count(bot.deps.metrics.photos, "ok") == 0


async def test_a_send_that_timed_out_may_have_arrived_so_nothing_more_is_sent(bot: OfflineBot):
    bot.api.time_out("sendPhoto")
    upd, _ = photo_update(bot)
    await bot.feed(upd)
    assert [c.method for c in bot.answers()] == ["sendPhoto"]
    assert count(bot.deps.metrics.errors, "TimedOut") == 1
    assert count(bot.deps.metrics.photos, "unanswered") == 1


async def test_when_even_the_failed_reply_cannot_be_sent_the_photo_counts_as_unanswered(bot: OfflineBot):
    bot.api.fail("sendPhoto", 403)
    bot.api.fail("sendMessage", 403)
    upd, _ = photo_update(bot)
    await bot.feed(upd)
    assert [c.method for c in bot.answers()] == ["sendPhoto", "sendMessage"]
    assert count(bot.deps.metrics.photos, "unanswered") == 1
    assert len(bot.deps.answering) == 0 and bot.photos.in_progress == 0


async def test_a_failing_chat_action_does_not_stop_the_answer(bot: OfflineBot):
    bot.api.fail("sendChatAction", 400)
    upd, said = photo_update(bot)
    await bot.feed(upd)
    assert the_reply(bot, said).method == "sendPhoto"


# -- without a card: the celebrity's photo, by cached file_id after the first upload --------------

async def test_without_a_card_the_thumbnail_is_uploaded_once_then_sent_by_file_id(bot: OfflineBot):
    bot.photos.card = None
    upd, said = photo_update(bot, "photo-a")
    await bot.feed(upd)
    first = the_reply(bot, said)
    assert first.files["photo"][0] == "ada.jpg"
    assert first.files["photo"][1] == (bot.assets / THUMB_KEY).read_bytes()
    assert first["caption"] == replies.one_face_caption("en", RANKED[:3], META, bot.deps.strong)
    cached = bot.deps.fileids.get(THUMB_KEY)
    assert cached and cached.startswith("sent-photo-")

    bot.api.clear()
    upd, said = photo_update(bot, "photo-b")
    await bot.feed(upd)
    second = the_reply(bot, said)
    assert second["photo"] == cached and second.files == {}
    await bot.deps.fileids.flush()
    assert cached in (bot.deps.fileids.path.read_text())


async def test_a_stale_file_id_is_forgotten_and_the_thumbnail_uploaded_again(bot: OfflineBot):
    bot.photos.card = None
    bot.deps.fileids.put(THUMB_KEY, "expired-id")
    bot.api.fail("sendPhoto", 400, "Bad Request: wrong file identifier/HTTP URL specified")
    upd, said = photo_update(bot)
    await bot.feed(upd)
    by_id, upload = bot.answers()
    assert by_id["photo"] == "expired-id"
    assert upload.files["photo"][0] == "ada.jpg" and quoted(upload) == said["message_id"]
    assert bot.deps.fileids.get(THUMB_KEY) not in (None, "expired-id")


async def test_a_thumbnail_gone_from_disk_still_gets_the_words(bot: OfflineBot):
    bot.photos.card = None
    (bot.assets / THUMB_KEY).unlink()
    upd, said = photo_update(bot)
    await bot.feed(upd)
    sent = the_reply(bot, said)
    assert sent.method == "sendMessage"
    assert sent["text"] == replies.one_face_caption("en", RANKED[:3], META, bot.deps.strong)


# -- which photos are answered at all --------------------------------------------------------

async def test_a_group_photo_without_lookalike_is_left_alone(bot: OfflineBot):
    upd, _ = photo_update(bot, chat_id=GROUP, caption="our trip")
    await bot.feed(upd)
    upd, _ = photo_update(bot, "photo-2", chat_id=GROUP)
    await bot.feed(upd)
    assert bot.api.calls == [] and bot.photos.requests == []


@pytest.mark.parametrize("caption", ["/lookalike", f"/lookalike@{BOT_USERNAME}", "who is this? /lookalike"])
async def test_a_group_photo_with_lookalike_in_its_caption_is_answered(bot: OfflineBot, caption: str):
    upd, said = photo_update(bot, chat_id=GROUP, caption=caption)
    await bot.feed(upd)
    assert the_reply(bot, said).method == "sendPhoto"


async def test_an_edited_photo_message_is_not_answered_again(bot: OfflineBot):
    bot.api.serve_file("photo-1", PHOTO)
    await bot.feed(edited(photo_message("photo-1", caption="new caption")))
    await bot.feed(edited(photo_message("photo-1", chat_id=GROUP, caption="/lookalike")))
    assert bot.api.calls == []
    assert count(bot.deps.metrics.updates, "photo") == 0


async def test_an_answered_photo_is_counted(bot: OfflineBot):
    upd, _ = photo_update(bot)
    await bot.feed(upd)
    metrics = bot.deps.metrics
    assert count(metrics.updates, "photo") == 1 and count(metrics.photos, "ok") == 1
    assert count(metrics.faces) == 1
    assert b"lookalike_photo_latency_seconds_count 1.0" in metrics.render()


async def test_a_text_message_with_a_photo_is_not_mistaken_for_one(bot: OfflineBot):
    said = message("look at this")
    await bot.feed(update(said))
    assert the_reply(bot, said)["text"] == text("en", "send_photo")
    assert bot.photos.requests == []
