"""The fake Bot API, checked with the real python-telegram-bot client that the bot uses."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
import pytest_asyncio
import telegram
from aiohttp import web
from PIL import Image
from telegram import Bot, ReplyParameters
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from testkit.fake_telegram import Call, FakeTelegram, FaultSpec, random_faults

TOKEN = "123456:TEST-fake-token"
USER = 4242


def gradient_jpeg(width: int = 1600, height: int = 1200) -> bytes:
    """A real JPEG with structure (not a flat colour), so re-encoding is meaningful."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    r, g, b = image.split()
    image = Image.merge("RGB", (r, g.transpose(Image.Transpose.FLIP_LEFT_RIGHT), b.rotate(90)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(TOKEN) as server:
        yield server


@pytest_asyncio.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url) as client:
        yield client


@pytest.mark.asyncio
async def test_get_me(bot: Bot, fake: FakeTelegram) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.id == 123456 and me.username == "lookalike_test_bot"
    assert fake.calls("getMe")[0].status == 200


@pytest.mark.asyncio
async def test_photo_update_parses_with_telegram_sizes(bot: Bot, fake: FakeTelegram) -> None:
    message_id = fake.send_photo(USER, gradient_jpeg(), caption="/lookalike")
    updates = await bot.get_updates(timeout=0)
    assert len(updates) == 1
    message = updates[0].message
    assert message is not None and message.message_id == message_id
    assert message.chat.type == "private" and message.from_user.id == USER
    assert [max(p.width, p.height) for p in message.photo] == [90, 320, 800, 1280, 1600]
    assert len({p.file_id for p in message.photo}) == len({p.file_unique_id for p in message.photo}) == 5
    assert message.caption_entities[0].type == "bot_command"

    # Confirming with offset drops it; a later poll gets nothing.
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == ()
    assert fake.pending_update_count == 0


@pytest.mark.asyncio
async def test_large_photo_is_capped_and_thumbnails_keep_aspect(bot: Bot, fake: FakeTelegram) -> None:
    fake.send_photo(USER, gradient_jpeg(3000, 1000))
    (update,) = await bot.get_updates()
    sizes = [(p.width, p.height) for p in update.message.photo]
    assert sizes == [(90, 30), (320, 107), (800, 267), (1280, 427), (2560, 853)]


@pytest.mark.asyncio
async def test_get_file_downloads_the_stored_bytes(bot: Bot, fake: FakeTelegram) -> None:
    fake.send_photo(USER, gradient_jpeg())
    (update,) = await bot.get_updates()
    largest = update.message.photo[-1]
    tg_file = await bot.get_file(largest.file_id)
    data = await tg_file.download_as_bytearray()
    assert bytes(data) == fake.file_bytes(largest.file_id)
    assert len(data) == largest.file_size == tg_file.file_size
    assert Image.open(io.BytesIO(data)).size == (1600, 1200)
    assert fake.calls("file")[-1].ok


@pytest.mark.asyncio
async def test_document_too_big_to_download(bot: Bot, fake: FakeTelegram) -> None:
    fake.send_document(USER, b"", "huge.jpg", "image/jpeg", declared_size=25 * 1024 * 1024)
    (update,) = await bot.get_updates()
    assert update.message.document.file_size == 25 * 1024 * 1024
    with pytest.raises(BadRequest, match="(?i)file is too big"):
        await bot.get_file(update.message.document.file_id)


@pytest.mark.asyncio
async def test_send_message_and_photo_are_recorded(bot: Bot, fake: FakeTelegram) -> None:
    photo_id = fake.send_photo(USER, gradient_jpeg(640, 480))
    await bot.send_chat_action(USER, "upload_photo")
    reply = await bot.send_message(USER, "Hello <b>there</b>", parse_mode="HTML",
                                   reply_parameters=ReplyParameters(photo_id))
    assert reply.text == "Hello there" and reply.reply_to_message.message_id == photo_id

    picture = gradient_jpeg(500, 400)
    sent = await bot.send_photo(USER, picture, caption="you", reply_to_message_id=photo_id)
    assert sent.caption == "you" and max(sent.photo[-1].width, sent.photo[-1].height) == 500
    again = await bot.send_photo(USER, sent.photo[-1].file_id)
    assert {p.file_id for p in again.photo}.isdisjoint(p.file_id for p in sent.photo)
    assert [p.file_unique_id for p in again.photo] == [p.file_unique_id for p in sent.photo]

    calls = fake.sent(USER)
    assert [c.method for c in calls] == ["sendMessage", "sendPhoto", "sendPhoto"]
    assert calls[0].params["parse_mode"] == "HTML" and calls[0].params["chat_id"] == USER
    assert calls[1].files["photo"] == picture
    assert calls[2].params["photo"] == sent.photo[-1].file_id and not calls[2].files
    assert fake.answered_message_ids() == {(USER, photo_id): 2}
    assert fake.user_messages(kind="photo") == [(USER, photo_id)]


@pytest.mark.asyncio
async def test_bad_requests_match_telegram(bot: Bot, fake: FakeTelegram) -> None:
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await bot.send_message(USER, "a <name> b", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)reserved"):
        await bot.send_message(USER, "v1.0", parse_mode="MarkdownV2")
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(USER, "x" * 4097)
    with pytest.raises(BadRequest, match="(?i)message to be replied not found"):
        await bot.send_message(USER, "hi", reply_to_message_id=999)
    with pytest.raises(BadRequest, match="(?i)wrong file identifier"):
        await bot.send_photo(USER, "AgACnope")
    with pytest.raises(BadRequest, match="(?i)IMAGE_PROCESS_FAILED"):
        await bot.send_photo(USER, b"not an image at all")
    with pytest.raises(BadRequest, match="(?i)too big"):
        await bot.send_photo(USER, b"\xff" * (10 * 1024 * 1024 + 1))
    fake.block(USER)
    with pytest.raises(Forbidden, match="(?i)blocked"):
        await bot.send_message(USER, "hi")
    assert fake.sent() == []


@pytest.mark.asyncio
async def test_edit_message_text(bot: Bot, fake: FakeTelegram) -> None:
    msg = await bot.send_message(USER, "working…")
    edited = await bot.edit_message_text("done", chat_id=USER, message_id=msg.message_id)
    assert edited.text == "done" and edited.edit_date is not None
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("done", chat_id=USER, message_id=msg.message_id)
    assert fake.message(USER, msg.message_id)["text"] == "done"
    users = fake.send_text(USER, "mine")
    with pytest.raises(BadRequest, match="(?i)message can't be edited"):
        await bot.edit_message_text("theirs", chat_id=USER, message_id=users)


@pytest.mark.asyncio
async def test_reply_update_carries_the_original_photo(bot: Bot, fake: FakeTelegram) -> None:
    group = -1001234567890
    photo_id = fake.send_photo(group, gradient_jpeg(400, 300), chat_type="supergroup", user_id=7)
    fake.send_reply(group, "/lookalike@lookalike_test_bot", photo_id, chat_type="supergroup", user_id=8)
    fake.send_sticker(USER)
    first_text = fake.send_text(USER, "/start")
    fake.send_edited_text(USER, first_text, "/help")
    updates = await bot.get_updates()
    reply = updates[1].message
    assert reply.chat.type == "supergroup" and reply.from_user.id == 8
    assert reply.reply_to_message.photo[-1].width == 400
    assert reply.entities[0].type == "bot_command" and reply.entities[0].length == 29
    assert updates[2].message.sticker is not None
    assert updates[4].edited_message.text == "/help"


@pytest.mark.asyncio
async def test_long_poll_waits_and_wakes_on_update(bot: Bot, fake: FakeTelegram) -> None:
    started, cpu = time.monotonic(), time.process_time()
    assert await bot.get_updates(timeout=0.5) == ()
    assert time.monotonic() - started >= 0.5
    assert time.process_time() - cpu < 0.25  # the poll sleeps; it doesn't spin

    loop = asyncio.get_running_loop()
    loop.call_later(0.2, fake.send_text, USER, "hello")
    started = time.monotonic()
    updates = await bot.get_updates(timeout=5)
    assert updates[0].message.text == "hello"
    assert time.monotonic() - started < 2


@pytest.mark.asyncio
async def test_second_poller_terminates_the_first(bot: Bot, fake: FakeTelegram) -> None:
    """Two running instances of the bot: Telegram ends the older long poll with 409."""
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await fake.wait_for_async(lambda: fake.polling, timeout=5)
    async with Bot(TOKEN, base_url=fake.base_url) as other:
        second = asyncio.create_task(other.get_updates(timeout=0.2))
        with pytest.raises(Conflict, match="(?i)terminated by other getUpdates"):
            await first
        assert await second == ()
    assert [c.status for c in fake.calls("getUpdates")] == [409, 200]


@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_fail_next_429_raises_retry_after(bot: Bot, fake: FakeTelegram) -> None:
    fake.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(USER, "hi")
    assert info.value.retry_after in (7, dt.timedelta(seconds=7))  # int form is deprecated
    assert fake.calls("sendMessage")[0].status == 429
    await bot.send_message(USER, "hi")  # only the next one failed
    assert len(fake.sent()) == 1


@pytest.mark.asyncio
async def test_server_errors_and_fault_hook(bot: Bot, fake: FakeTelegram) -> None:
    fake.fail_next("sendmessage", status=500)
    with pytest.raises(NetworkError):
        await bot.send_message(USER, "hi")

    fake.set_fault(lambda call: FaultSpec(status=502) if call.method == "getMe" else None)
    with pytest.raises(TelegramError):
        await bot.get_me()
    fake.set_fault(None)

    hook = random_faults(0.5, seed=1, statuses=[500])
    outcomes = []
    fake.set_fault(hook)
    for _ in range(20):
        try:
            await bot.send_chat_action(USER, "typing")
            outcomes.append(True)
        except NetworkError:
            outcomes.append(False)
    assert 3 < outcomes.count(False) < 17
    assert [c.ok for c in fake.calls("sendChatAction")] == outcomes


@pytest.mark.asyncio
async def test_delay_fault_times_out_the_client_but_still_sends(fake: FakeTelegram) -> None:
    fake.fail_next("sendMessage", status=None, delay=0.5)
    async with Bot(TOKEN, base_url=fake.base_url) as bot:
        with pytest.raises(telegram.error.TimedOut):
            await bot.send_message(USER, "slow", read_timeout=0.1)
    sent: list[Call] = await fake.wait_for_sent_async(USER, timeout=3)
    assert sent[0].text == "slow"


@pytest.mark.asyncio
async def test_rate_observation(bot: Bot, fake: FakeTelegram) -> None:
    for i in range(5):
        await bot.send_message(USER, f"m{i}")
    assert fake.max_sends_in_any_second() == 5
    assert fake.max_sends_in_any_second(chat_id=999) == 0


@pytest.mark.asyncio
async def test_wrong_token_and_unknown_method(fake: FakeTelegram) -> None:
    async with Bot(TOKEN, base_url=fake.base_url) as bot:
        with pytest.raises(telegram.error.EndPointNotFound):
            await bot.do_api_request("noSuchMethod")
        assert await bot.do_api_request("GETME") and fake.calls()[-1].method == "getMe"
    with pytest.raises(InvalidToken):
        await Bot("654321:WRONG", base_url=fake.base_url).get_me()
    assert fake.calls()[-1].status == 401


@pytest.mark.asyncio
async def test_commands_and_descriptions_per_scope_and_language(bot: Bot, fake: FakeTelegram) -> None:
    await bot.set_my_commands([("lookalike", "Find your celebrity twin"), ("help", "How it works")])
    await bot.set_my_commands([("start", "Начать")], scope=telegram.BotCommandScopeAllPrivateChats(),
                              language_code="ru")
    assert [c["command"] for c in fake.commands()] == ["lookalike", "help"]
    assert fake.commands("all_private_chats", "ru") == [{"command": "start", "description": "Начать"}]
    assert fake.commands("all_private_chats") == []
    with pytest.raises(BadRequest):
        await bot.set_my_commands([("Bad-Name", "x")])
    assert await bot.set_my_description("Which celebrity?", language_code="en")
    assert await bot.set_my_short_description("Lookalikes")
    assert fake.bot_text("description", "en") == "Which celebrity?" and fake.bot_text("description") is None
    assert fake.bot_text("short_description") == "Lookalikes"


async def serve_webhook(receive: Callable[[web.Request], Awaitable[web.Response]]) -> tuple[web.AppRunner, str]:
    """An HTTP server on a free port answering POST /hook; returns it and the hook's URL."""
    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/hook"


@pytest.mark.asyncio
async def test_webhook_delivery_with_secret(bot: Bot, fake: FakeTelegram) -> None:
    received: list[tuple[dict, str | None]] = []
    fail_first = [True]

    async def receive(request: web.Request) -> web.Response:
        if fail_first[0]:
            fail_first[0] = False
            return web.Response(status=500)
        received.append((await request.json(), request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        return web.Response()

    runner, url = await serve_webhook(receive)
    try:
        fake.send_text(USER, "queued before the webhook")
        assert await bot.set_webhook(url, secret_token="s3cret_-x")
        with pytest.raises(Conflict):
            await bot.get_updates()
        fake.send_text(USER, "second")
        await fake.wait_for_async(lambda: len(fake.webhook_deliveries()) == 3, timeout=5)
        texts = [telegram.Update.de_json(body, bot).message.text for body, _ in received]
        assert texts == ["queued before the webhook", "second"]  # retried, still in order
        assert {secret for _, secret in received} == {"s3cret_-x"}
        statuses = [d.status for d in fake.webhook_deliveries()]
        assert statuses == [500, 200, 200]
        assert fake.webhook_url.endswith("/hook") and fake.pending_update_count == 0

        status, _ = await fake.post_to_webhook_async({"update_id": 1}, headers={"X-Telegram-Bot-Api-Secret-Token": "no"})
        assert status == 200  # this receiver doesn't check; the bot's must

        assert await bot.delete_webhook()
        fake.send_text(USER, "polling again")
        (update,) = await bot.get_updates()
        assert update.message.text == "polling again"
    finally:
        await runner.cleanup()


@pytest.mark.asyncio
async def test_webhook_unreachable_keeps_update_until_retries_run_out(bot: Bot, fake: FakeTelegram) -> None:
    dead = "http://127.0.0.1:9/nothing-listens-here"
    fake.webhook_retry_delay = 0.5
    await bot.set_webhook(dead)
    fake.send_text(USER, "kept")
    await fake.wait_for_async(fake.webhook_deliveries, timeout=5)
    await bot.delete_webhook()  # during the retry pause: the update goes back to getUpdates
    (update,) = await bot.get_updates()
    assert update.message.text == "kept" and fake.webhook_deliveries()[0].status is None

    fake.webhook_retries, fake.webhook_retry_delay = 1, 0.01
    await bot.set_webhook(dead, drop_pending_updates=True)
    fake.send_text(USER, "dropped")
    await fake.wait_for_async(lambda: len(fake.webhook_deliveries()) == 3, timeout=5)
    await fake.wait_for_async(lambda: fake.pending_update_count == 0, timeout=5)
    assert [d.status for d in fake.webhook_deliveries()[-2:]] == [None, None]  # given up after the retry


def test_wait_for_from_another_thread(fake: FakeTelegram) -> None:
    """A bot in a subprocess or thread: the test blocks in wait_for meanwhile."""

    async def run_bot() -> None:
        async with Bot(TOKEN, base_url=fake.base_url) as bot:
            (update,) = await bot.get_updates(timeout=5)
            await bot.send_message(update.message.chat.id, "pong")

    thread = threading.Thread(target=asyncio.run, args=(run_bot(),))
    thread.start()
    fake.send_text(USER, "ping")
    calls = fake.wait_for_sent(USER, timeout=10)
    thread.join()
    assert calls[0].text == "pong"


async def _echo_photo_size(update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    largest = update.message.photo[-1]
    data = await (await largest.get_file()).download_as_bytearray()
    await update.message.reply_text(f"{len(data)} bytes", do_quote=True)


@pytest.mark.asyncio
async def test_application_polling_lifecycle(fake: FakeTelegram) -> None:
    """What run_polling does: getMe, deleteWebhook, long polls, and a confirming poll at the end."""
    app = (
        ApplicationBuilder().token(TOKEN).base_url(fake.base_url).base_file_url(fake.base_file_url).build()
    )
    app.add_handler(MessageHandler(filters.PHOTO, _echo_photo_size))
    photos = [fake.send_photo(USER, gradient_jpeg(300 + i, 200)) for i in range(3)]
    async with app:
        await app.updater.start_polling(timeout=1)
        await app.start()
        await fake.wait_for_sent_async(USER, count=3)
        await app.updater.stop()
        await app.stop()
    assert fake.answered_message_ids() == Counter(fake.user_messages(kind="photo"))
    assert sorted(m for _, m in fake.answered_message_ids()) == photos
    methods = [c.method for c in fake.calls()]
    assert methods[:3] == ["getMe", "deleteWebhook", "getUpdates"]
    assert fake.pending_update_count == 0  # the final poll confirmed everything


def application_webhook(app: Application, secret: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A webhook receiver as bots have one (this bot's is chatbot/http.py): the secret header is
    checked, and each update goes to the Application."""

    async def receive(request: web.Request) -> web.Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != secret:
            return web.Response(status=403)
        await app.update_queue.put(telegram.Update.de_json(await request.json(), app.bot))
        return web.Response()

    return receive


@pytest.mark.asyncio
async def test_application_webhook_lifecycle(fake: FakeTelegram) -> None:
    """Webhook mode: setWebhook with the secret, then updates POSTed to the bot's server reach its handlers."""
    app = ApplicationBuilder().token(TOKEN).base_url(fake.base_url).base_file_url(fake.base_file_url) \
        .updater(None).build()
    app.add_handler(MessageHandler(filters.PHOTO, _echo_photo_size))
    async with app:
        runner, url = await serve_webhook(application_webhook(app, "abc"))
        try:
            await app.start()
            assert await app.bot.set_webhook(url, secret_token="abc")
            assert fake.webhook_url == url
            photo = fake.send_photo(USER, gradient_jpeg(320, 240))
            await fake.wait_for_sent_async(USER)
            status, _ = await fake.post_to_webhook_async(
                {"update_id": 1}, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
            )
            assert status == 403
            await app.stop()
        finally:
            await runner.cleanup()
    assert fake.replies_to(USER, photo)[0].text.endswith("bytes")
    assert fake.webhook_deliveries()[0].status == 200
    assert fake.calls("setWebhook")[0].params["secret_token"] == "abc"
