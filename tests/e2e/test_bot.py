"""The bot end to end: real python-telegram-bot client, real models and index,
the local fake Bot API speaking the real HTTP protocol."""
from __future__ import annotations

import asyncio
import io
import logging
import os
import signal
import subprocess
import sys

import aiohttp
from PIL import Image

from chatbot.ui.photos import pick_photo
from chatbot.redact import setup_logging
from testkit.scripts import ROOT
from testkit.bot import TOKEN, answers, bot_process, only_answer, running_bot
from testkit.fake_telegram import FakeTelegram
from testkit.images import jpeg, side_by_side


async def test_photo_gets_the_celebrity_with_a_percentage_and_photo(demo_config, photo):
    async with running_bot(demo_config) as (fake, runner):
        mid = fake.send_photo(1001, photo("obama2.jpg"))
        await answers(fake, 1, 1001)
        reply = only_answer(fake, 1001, mid)
        assert reply.method == "sendPhoto"
        assert "Barack Obama" in reply.text and "%" in reply.text and "Joe Biden" in reply.text
        assert "photo" in reply.files  # the thumbnail was uploaded...
        # ...the detector got the 800 px size, not the largest one
        got = [c.params["file_id"] for c in fake.calls("getFile")]
        sizes = fake.message(1001, mid)["photo"]
        assert got == [next(s["file_id"] for s in sizes if max(s["width"], s["height"]) == 800)]

        card = Image.open(io.BytesIO(reply.files["photo"]))  # the "you and them" card
        assert card.size == (1080, 640)
        assert fake.calls("sendChatAction")


async def test_without_the_card_the_celebrity_photo_is_sent_by_cached_file_id(demo_config, photo):
    async with running_bot(demo_config, result_card=False) as (fake, runner):
        first = fake.send_photo(1003, photo("obama2.jpg"))
        await answers(fake, 1, 1003)
        reply = only_answer(fake, 1003, first)
        assert "Barack Obama" in reply.text and "photo" in reply.files
        assert Image.open(io.BytesIO(reply.files["photo"])).size != (1080, 640)  # the thumbnail itself
        second = fake.send_photo(1002, photo("obama.jpg"))
        await answers(fake, 1, 1002)
        again = only_answer(fake, 1002, second)
        assert "photo" not in again.files and isinstance(again.params["photo"], str)  # cached file_id


async def test_image_document_bad_files_and_other_messages(demo_config, photo):
    async with running_bot(demo_config) as (fake, runner):
        biden = fake.send_document(2001, photo("biden.jpg"), "biden.jpg", "image/jpeg")
        png = io.BytesIO()
        Image.open(io.BytesIO(photo("obama.jpg"))).save(png, "PNG")
        png_doc = fake.send_document(2002, png.getvalue(), "me.png", "image/png")
        wall = fake.send_photo(2003, jpeg(Image.new("RGB", (900, 700), "beige")))
        corrupt = fake.send_document(2004, b"\xff\xd8\xff\xe0 broken", "x.jpg", "image/jpeg")
        pdf = fake.send_document(2005, b"%PDF-1.4 ...", "cv.pdf", "application/pdf")
        heic = fake.send_document(2006, b"\x00\x00\x00\x18ftypheic", "IMG_1.HEIC", "image/heic")
        huge = fake.send_document(2007, b"x", "big.jpg", "image/jpeg", declared_size=25 * 1024 * 1024)
        hello = fake.send_text(2008, "hello")
        sticker = fake.send_sticker(2009)
        start = fake.send_text(2010, "/start")
        await answers(fake, 10)
        assert "Joe Biden" in only_answer(fake, 2001, biden).text
        assert "Barack Obama" in only_answer(fake, 2002, png_doc).text
        assert "couldn't find a face" in only_answer(fake, 2003, wall).text
        assert "couldn't read this file" in only_answer(fake, 2004, corrupt).text
        assert "not an image" in only_answer(fake, 2005, pdf).text
        assert "HEIC" in only_answer(fake, 2006, heic).text
        assert "too big" in only_answer(fake, 2007, huge).text
        assert "Send me a photo" in only_answer(fake, 2008, hello).text
        assert "Send me a photo" in only_answer(fake, 2009, sticker).text
        assert "Hi!" in only_answer(fake, 2010, start).text
        downloaded = {c.params.get("file_id") for c in fake.calls("getFile")}
        assert fake.message(2007, huge)["document"]["file_id"] not in downloaded  # no download attempted


async def test_russian_user_is_answered_in_russian(demo_config, photo):
    async with running_bot(demo_config) as (fake, runner):
        mid = fake.send_photo(3001, photo("obama2.jpg"), language_code="ru")
        helped = fake.send_text(3002, "/help", language_code="ru-RU")
        await answers(fake, 2)
        assert "Вы похожи на" in only_answer(fake, 3001, mid).text
        assert "Приватность" in only_answer(fake, 3002, helped).text


async def test_commands_about_and_help(demo_config):
    async with running_bot(demo_config) as (fake, runner):
        about = fake.send_text(3101, "/about")
        helped = fake.send_text(3102, "/help")
        await answers(fake, 2)
        assert "2 celebrities, 3 photos" in only_answer(fake, 3101, about).text
        assert "never stored" in only_answer(fake, 3102, helped).text
        assert fake.calls("setMyCommands")


async def test_groups_answer_only_when_asked(demo_config, photo):
    async with running_bot(demo_config) as (fake, runner):
        group = -100555
        ignored = fake.send_photo(group, photo("obama.jpg"), chat_type="supergroup", user_id=1)
        tagged = fake.send_photo(group, photo("biden.jpg"), caption="who? /lookalike", chat_type="supergroup", user_id=2)
        plain = fake.send_photo(group, photo("obama2.jpg"), chat_type="supergroup", user_id=3)
        command = fake.send_reply(group, "/lookalike@lookalike_test_bot", plain, chat_type="supergroup", user_id=4)
        await answers(fake, 2, group)
        await asyncio.sleep(1.0)  # nothing else may follow
        assert "Joe Biden" in only_answer(fake, group, tagged).text
        assert "Barack Obama" in only_answer(fake, group, plain).text  # answers the photo it was asked about
        assert fake.replies_to(group, ignored) == [] and fake.replies_to(group, command) == []
        assert len(fake.sent(group)) == 2


async def test_several_faces_get_one_numbered_image(demo_config, photo):
    left = Image.open(io.BytesIO(photo("obama.jpg")))
    right = Image.open(io.BytesIO(photo("biden.jpg"))).resize((500, 1137))
    async with running_bot(demo_config) as (fake, runner):
        mid = fake.send_photo(4001, jpeg(side_by_side(left, right)))
        await answers(fake, 1, 4001)
        reply = only_answer(fake, 4001, mid)
        assert reply.method == "sendPhoto" and "photo" in reply.files
        assert "2 faces" in reply.text
        assert "1. <b>Barack Obama</b>" in reply.text and "2. <b>Joe Biden</b>" in reply.text
        boxed = Image.open(io.BytesIO(reply.files["photo"]))
        assert boxed.format == "JPEG" and max(boxed.size) <= 1280


async def test_burst_from_50_chats_is_answered_once_within_limits(demo_config, photo):
    async with running_bot(demo_config) as (fake, runner):
        data = photo("obama2.jpg")
        sent = [(chat, fake.send_photo(chat, data)) for chat in range(5000, 5050)]
        await answers(fake, 50, timeout=180)
        await asyncio.sleep(0.5)
        counts = fake.answered_message_ids()
        assert all(counts[(chat, mid)] == 1 for chat, mid in sent)
        assert len(fake.sent()) == 50
        assert fake.max_sends_in_any_second() <= 30
        assert all("Barack Obama" in c.text for c in fake.sent())


async def test_429_is_retried_without_a_double_answer(demo_config, photo):
    async with running_bot(demo_config) as (fake, runner):
        fake.fail_next("sendPhoto", status=429, retry_after=1)
        fake.fail_next("sendMessage", status=500)
        mid = fake.send_photo(6001, photo("obama2.jpg"))
        text_mid = fake.send_text(6002, "hi")
        await answers(fake, 2)
        assert "Barack Obama" in only_answer(fake, 6001, mid).text
        assert only_answer(fake, 6002, text_mid)
        failed = [c for c in fake.calls("sendPhoto") if c.status == 429]
        assert len(failed) == 1
        metrics = runner.metrics.render().decode()
        assert 'lookalike_telegram_retries_total{method="sendPhoto"} 1.0' in metrics
        assert 'lookalike_telegram_retries_total{method="sendMessage"} 1.0' in metrics


async def test_private_chat_is_limited_to_about_one_message_per_second(demo_config):
    async with running_bot(demo_config, limits={"private_per_second": 1, "private_burst": 1}) as (fake, runner):
        for _ in range(4):
            fake.send_text(6101, "hello")
        await answers(fake, 4, 6101)
        times = sorted(c.time for c in fake.sent(6101))
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert min(gaps) >= 0.9


async def test_busy_user_and_fair_turns(demo_config, photo):
    limits = {"per_user_pending": 4}
    async with running_bot(demo_config, limits=limits) as (fake, runner):
        album = fake.send_album(7001, [photo("obama2.jpg")] * 8)
        await asyncio.sleep(0.3)
        single = fake.send_photo(7002, photo("biden.jpg"))
        await answers(fake, 9, timeout=120)
        album_answers = [only_answer(fake, 7001, m) for m in album]
        busy = [a for a in album_answers if "busy" in a.text]
        assert len(busy) == 4  # 4 in progress at most; the rest are told to retry
        mine = only_answer(fake, 7002, single)
        processed = [a for a in album_answers if "Barack Obama" in a.text]
        assert "Joe Biden" in mine.text and len(processed) == 4
        assert mine.time < max(a.time for a in processed)  # not stuck behind the album


async def test_webhook_mode_secret_health_and_metrics(demo_config, photo):
    async with running_bot(demo_config, webhook=True, secret="s3cret-token") as (fake, runner):
        base = f"http://127.0.0.1:{runner.http.port}"
        path = runner.config.telegram.webhook.path
        assert fake.webhook_url == base + path
        mid = fake.send_photo(8001, photo("obama2.jpg"))
        await answers(fake, 1, 8001)
        assert "Barack Obama" in only_answer(fake, 8001, mid).text
        assert any(d.status == 200 for d in fake.webhook_deliveries())
        update = {"update_id": 999, "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"},
                                                "text": "hi"}}
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                async with http.post(base + path, json=update, headers=headers) as r:
                    assert r.status == 403
            good = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}
            async with http.post(base + path, data=b"{not json", headers=good) as r:
                assert r.status == 400
            async with http.post(base + path, data=b"x" * 2_000_000, headers=good) as r:
                assert r.status == 413
            async with http.get(base + "/healthz") as r:
                assert r.status == 200 and (await r.json())["faces"] == 3
            # The reply reaches Telegram a moment before the bot counts the photo as answered.
            await fake.wait_for_async(lambda: len(runner.deps.answering) == 0, timeout=30)
            async with http.get(base + "/metrics") as r:
                body = await r.text()
        assert r.status == 200
        assert 'lookalike_photos_total{outcome="ok"} 1.0' in body
        assert "lookalike_photo_latency_seconds_bucket" in body and "lookalike_queue_depth" in body


async def test_token_never_logged_even_with_request_logging(demo_config, photo):
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    setup_logging([TOKEN], stream=stream)
    logging.getLogger("httpx").setLevel(logging.DEBUG)  # worst case: every request URL is logged
    try:
        async with running_bot(demo_config) as (fake, runner):
            fake.fail_next("sendPhoto", status=500)
            fake.send_photo(9001, photo("obama2.jpg"))
            await answers(fake, 1, 9001)
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
        logging.getLogger("httpx").setLevel(logging.WARNING)
    output = stream.getvalue()
    assert "HTTP Request" in output and "/bot<redacted>/sendPhoto" in output
    assert TOKEN not in output and TOKEN.split(":")[1] not in output


def test_pick_photo_prefers_the_smallest_size_that_is_big_enough():
    from telegram import PhotoSize
    sizes = tuple(PhotoSize(f"id{w}", f"u{w}", w, w * 3 // 4) for w in (90, 320, 800, 1280, 2560))
    assert pick_photo(sizes, 800).file_id == "id800"
    assert pick_photo(sizes, 1000).file_id == "id1280"
    assert pick_photo(sizes[:2], 800).file_id == "id320"


async def test_rebuilt_gallery_is_loaded_without_dropping_photos(demo_config, photo, images, tmp_path):
    import shutil

    import yaml

    from testkit.scripts import run_script
    demo = yaml.safe_load(demo_config.read_text())
    photos, assets = tmp_path / "photos", tmp_path / "assets"
    shutil.copytree(demo["paths"]["photos"], photos)
    shutil.copytree(demo["paths"]["assets"], assets)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({**demo, "paths": {"photos": str(photos), "assets": str(assets)}}))
    async with running_bot(cfg, reload_check_s=0.3) as (fake, runner):
        fake.send_text(9101, "/about")
        await answers(fake, 1, 9101)
        assert "2 celebrities, 3 photos" in fake.sent(9101)[0].text
        shutil.copy(images / "obama_partial_face.jpg", photos / "Barack Obama" / "partial.jpg")
        in_flight = [fake.send_photo(9200 + i, photo("obama2.jpg")) for i in range(4)]
        for script in ("build_embeddings.py", "build_index.py"):
            done = await asyncio.to_thread(run_script, script, "--config", cfg)
            assert done.returncode == 0, done.stderr
        await fake.wait_for_async(lambda: runner.index.current.meta["faces"] == 4, timeout=30)
        fake.send_text(9102, "/about")
        await answers(fake, 1, 9102)
        assert "2 celebrities, 4 photos" in fake.sent(9102)[0].text
        await answers(fake, 1 + 1 + 4)
        for i, mid in enumerate(in_flight):
            assert "Barack Obama" in only_answer(fake, 9200 + i, mid).text


def test_missing_token_is_one_clear_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    done = subprocess.run([sys.executable, "bot.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "BOT_TOKEN" in done.stderr and "Traceback" not in done.stderr


def test_sigterm_answers_photos_in_progress_then_exits(demo_config, photo, tmp_path):
    with FakeTelegram(token=TOKEN) as fake:
        start = bot_process(demo_config, fake, tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        proc = start()
        try:
            fake.wait_for(lambda: fake.polling, timeout=120)
            fake.fail_next("sendPhoto", status=500)  # an error path too: its log line must not leak the token
            mids = [fake.send_photo(9300 + i, photo("obama2.jpg")) for i in range(20)]
            fake.wait_for(lambda: len(fake.calls("getFile")) >= 20, timeout=60)  # all 20 in progress
            proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, stderr
        for i, mid in enumerate(mids):
            assert "Barack Obama" in only_answer(fake, 9300 + i, mid).text
        assert "stopping" in stderr and "stopped" in stderr
        assert TOKEN not in stderr and TOKEN.split(":")[1] not in stderr
