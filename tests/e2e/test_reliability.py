"""Faults end to end: dying workers, a flaky Bot API, slow replies, hot reloads.

Every scenario checks the same promise: each photo gets exactly one answer."""
from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time

from testkit.bot import answers, running_bot
from testkit.fake_telegram import FaultSpec, random_faults


def answered_once(fake, sent: list[tuple[int, int]]) -> bool:
    counts = fake.answered_message_ids()
    return all(counts[(chat, mid)] == 1 for chat, mid in sent)


async def test_worker_killed_during_a_burst_loses_no_photo(demo_config, photo):
    async with running_bot(demo_config, own_pool=True) as (fake, runner):
        data = photo("obama2.jpg")
        sent = [(chat, fake.send_photo(chat, data)) for chat in range(11000, 11030)]
        await fake.wait_for_async(lambda: len(fake.sent()) >= 5, timeout=60)
        victim = runner.pool.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        await answers(fake, 30, timeout=120)
        await asyncio.sleep(0.5)
        assert answered_once(fake, sent)
        assert all("Barack Obama" in c.text for c in fake.sent())  # the lost job was retried
        assert victim not in runner.pool.worker_pids() and len(runner.pool.worker_pids()) == 2


async def test_random_500s_and_429s_from_telegram(demo_config, photo):
    limits = {"max_retries": 6}
    async with running_bot(demo_config, limits=limits) as (fake, runner):
        fake.set_fault(random_faults(0.25, seed=3, statuses=(500, 429, 502), retry_after=1,
                                     methods=("sendMessage", "sendPhoto")))
        data = photo("obama2.jpg")
        sent = [(chat, fake.send_photo(chat, data)) for chat in range(12000, 12020)]
        sent += [(chat, fake.send_text(chat, "hello")) for chat in range(12100, 12110)]
        await answers(fake, 30, timeout=120)
        await asyncio.sleep(0.5)
        failed = [c for c in fake.calls() if c.method in ("sendMessage", "sendPhoto") and not c.ok]
        assert failed  # faults really happened
        assert answered_once(fake, sent)
        assert fake.max_sends_in_any_second() <= 30


async def test_edited_messages_and_unknown_updates_get_no_answer(demo_config, photo):
    async with running_bot(demo_config) as (fake, runner):
        mid = fake.send_text(14000, "/help")
        await answers(fake, 1, 14000)
        fake.send_edited_text(14000, mid, "/start")
        fake.enqueue_raw_update({"update_id": 0, "poll": {"id": "1", "question": "?", "options": [],
                                                           "total_voter_count": 0, "is_closed": False,
                                                           "is_anonymous": True, "type": "regular",
                                                           "allows_multiple_answers": False}})
        probe = fake.send_text(14001, "/start")  # the bot is still alive and answering
        await answers(fake, 1, 14001)
        await asyncio.sleep(0.5)
        assert len(fake.sent(14000)) == 1 and fake.replies_to(14001, probe)


async def test_a_stale_cached_file_id_is_replaced_by_an_upload(demo_config, photo):
    async with running_bot(demo_config, result_card=False) as (fake, runner):
        first = fake.send_photo(15000, photo("obama2.jpg"))
        await answers(fake, 1, 15000)
        await fake.wait_for_async(lambda: runner.deps.fileids.ids, timeout=10)  # set once the reply returns
        key = next(iter(runner.deps.fileids.ids))
        runner.deps.fileids.ids[key] = "AgACAgIAAxkBAAIBbm-no-such-file"  # expired, or another bot's
        second = fake.send_photo(15001, photo("obama2.jpg"))
        await answers(fake, 1, 15001)
        reply = fake.replies_to(15001, second)
        assert len(reply) == 1 and "photo" in reply[0].files  # uploaded again
        assert runner.deps.fileids.get(key) != "AgACAgIAAxkBAAIBbm-no-such-file"
        assert fake.replies_to(15000, first)


def test_bot_killed_mid_burst_loses_nothing_and_answers_nothing_twice(demo_config, photo, tmp_path):
    """In polling and webhook mode at once, each bot with its own fake Telegram and state files:
    most of either run is a bot process starting, which the two can share."""
    import concurrent.futures

    runs = {"polling": killed_mid_burst_polling, "webhook": killed_mid_burst_webhook}
    for mode in runs:
        (tmp_path / mode).mkdir()
    with concurrent.futures.ThreadPoolExecutor(len(runs)) as threads:
        done = {mode: threads.submit(run, demo_config, photo, tmp_path / mode, tmp_path / f"{mode}-assets")
                for mode, run in runs.items()}
        for future in done.values():
            future.result()  # a failed assertion in either run fails the test


def killed_mid_burst_polling(demo_config, photo, tmp_path, assets):
    """SIGKILL in polling mode, then a restart: Telegram re-sends what was not confirmed."""
    import subprocess
    import time

    from testkit.bot import TOKEN, bot_process
    from testkit.fake_telegram import FakeTelegram

    with FakeTelegram(token=TOKEN) as fake:
        start = bot_process(demo_config, fake, tmp_path, assets=assets, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)

        # After ten downloads Telegram's file server stalls: twenty photos are in
        # progress, none of them mid-answer, when the bot is killed.
        stall, downloads = stalled_get_file(after=10)
        fake.set_fault(stall)
        bot = start()
        try:
            fake.wait_for(lambda: fake.polling, timeout=120)
            sent = [(chat, fake.send_photo(chat, photo("obama2.jpg"))) for chat in range(17000, 17030)]
            fake.wait_for(lambda: len(fake.sent()) >= 10, timeout=120)
            fake.wait_for(lambda: downloads["n"] >= 30, timeout=60)  # every update fetched
            # The ten answers are saved as handled in the bot's polling state (a kill between a
            # send and that save is the window that remains).
            fake.wait_for(lambda: polling_handled(assets) == 10, timeout=30)
            bot.kill()
            bot.wait(timeout=30)
            assert len(fake.sent()) == 10
            fake.set_fault(None)
            bot = start()
            fake.wait_for(lambda: len(fake.sent()) >= 30, timeout=180)
            time.sleep(2)
        finally:
            bot.terminate()
            bot.wait(timeout=60)
        counts = fake.answered_message_ids()
        assert [counts[(chat, mid)] for chat, mid in sent] == [1] * 30
        assert all("Barack Obama" in c.text for c in fake.sent())


def stalled_get_file(after: int):
    """A fault hook: the first ``after`` getFile calls are answered, every later one stalls 8 s
    (past the client's read time-out, so retries stall too); and the count of calls."""
    downloads = {"n": 0}

    def stall(call):
        if call.method == "getFile":
            downloads["n"] += 1
            if downloads["n"] > after:
                return FaultSpec(status=None, delay=8.0)
        return None

    return stall, downloads


def polling_handled(assets, first_update_id: int = 10_000) -> int:
    """How many updates the bot's own polling state records as handled: those below its offset
    (the fake numbers updates from 10,000) and those handled beyond it."""
    import ujson
    try:
        state = ujson.loads(open(f"{assets}/telegram_updates.json").read())
    except (OSError, ValueError):
        return -1
    return (state.get("offset") or first_update_id) - first_update_id + len(state.get("done", []))


def journal_done(assets) -> int:
    """How many updates the bot's own journal has marked answered (read-only, as the bot runs)."""
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(f"file:{assets}/telegram_state.sqlite3?mode=ro", uri=True)) as db:
            return db.execute("SELECT count(*) FROM updates WHERE done IS NOT NULL").fetchone()[0]
    except sqlite3.Error:
        return -1


def killed_mid_burst_webhook(demo_config, photo, tmp_path, assets):
    """SIGKILL in webhook mode, then a restart: what was accepted is replayed from the journal,
    what Telegram could not deliver meanwhile arrives later, nothing is answered twice."""
    import subprocess

    from testkit.bot import TOKEN, bot_process, free_port
    from testkit.fake_telegram import FakeTelegram

    # Telegram keeps re-delivering to a dead webhook; so does this fake, for a couple of minutes.
    with FakeTelegram(token=TOKEN, webhook_retries=150, webhook_retry_delay=0.2, webhook_max_delay=1.0) as fake:
        start = bot_process(demo_config, fake, tmp_path, webhook_port=free_port(), assets=assets,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stall, downloads = stalled_get_file(after=10)  # then Telegram's file server stalls for everyone
        fake.set_fault(stall)
        bot = start()
        try:
            fake.wait_for(lambda: fake.webhook_url, timeout=120)
            sent = [(chat, fake.send_photo(chat, photo("obama2.jpg"))) for chat in range(18000, 18030)]
            fake.wait_for(lambda: len(fake.sent()) >= 10, timeout=120)
            fake.wait_for(lambda: downloads["n"] >= 30, timeout=60)  # all 30 accepted (200) and in progress
            assert fake.pending_update_count == 0  # Telegram has forgotten them: only the journal knows
            # The ten answers are marked done in the journal (a kill between a send and its
            # "done" is the window that remains: that one update would be answered again).
            fake.wait_for(lambda: journal_done(assets) == 10, timeout=30)
            bot.kill()
            bot.wait(timeout=30)
            assert len(fake.sent()) == 10
            # While the bot is down, more photos arrive: Telegram retries their delivery.
            sent += [(chat, fake.send_photo(chat, photo("obama2.jpg"))) for chat in range(18100, 18105)]
            fake.set_fault(None)
            bot = start()
            fake.wait_for(lambda: len(fake.sent()) >= 35, timeout=180)
            time.sleep(2)
        finally:
            bot.terminate()
            bot.wait(timeout=60)
        counts = fake.answered_message_ids()
        assert [counts[(chat, mid)] for chat, mid in sent] == [1] * 35
        assert len(fake.sent()) == 35
        assert all("Barack Obama" in c.text for c in fake.sent())
