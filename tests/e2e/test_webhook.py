"""The webhook as Telegram and an attacker see it: an answer per class, never open, never stopped by an update.

The real bot (BotRunner) serves its webhook on loopback; the fake Bot API
delivers updates to it, and the tests also post raw requests to it.
"""
from __future__ import annotations

import asyncio
import sqlite3

import aiohttp
import pytest
import ujson
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from testkit.bot import answers, only_answer, restarted, running_bot
from testkit.hostile_updates import POISON, UPDATE

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def text_update(update_id: int, chat_id: int = 50100, text: str = "hello") -> dict:
    return {"update_id": update_id, "message": {"message_id": update_id, "date": 1764547200, "text": text,
                                                "chat": {"id": chat_id, "type": "private"},
                                                "from": {"id": chat_id, "is_bot": False, "first_name": "A"}}}


def state_db(runner) -> sqlite3.Connection:
    return sqlite3.connect(runner.config.paths.assets / runner.config.telegram.state_db, timeout=30)


async def test_every_class_of_request_gets_its_answer(demo_config, tmp_path):
    """2xx when taken or a re-delivery, 4xx when malformed (never a 5xx Telegram would re-send for
    ever), 403 without the secret, 5xx only while it passes: journal locked, bot stopping."""
    async with running_bot(demo_config, webhook=True, secret="s3cret", assets=tmp_path / "assets") as (fake, runner):
        url = f"http://127.0.0.1:{runner.http.port}{runner.config.telegram.webhook.path}"
        signed = {SECRET_HEADER: "s3cret", "Content-Type": "application/json"}

        async def post(body, headers=signed, method="POST", to=url) -> int:
            data = body if isinstance(body, bytes) else ujson.dumps(body).encode()
            async with aiohttp.ClientSession() as session:
                async with session.request(method, to, data=data, headers=headers) as response:
                    return response.status

        assert await post(text_update(1)) == 200                       # taken
        assert await post(text_update(1)) == 200                       # Telegram's re-delivery: 200, not twice
        assert await post(text_update(2), headers={}) == 403           # no secret
        assert await post(text_update(2), headers={SECRET_HEADER: "s3creT"}) == 403
        assert await post(b"{not json") == 400
        assert await post([1, 2]) == 400 and await post(7) == 400
        assert await post({"update_id": "3"}) == 400 and await post({"update_id": True}) == 400
        assert await post(text_update(2**63)) == 400                   # was 500 "journal unavailable" for ever
        assert await post(text_update(2**64 + 1)) == 400
        assert await post({"update_id": 4, "message": {"message_id": 1}}) == 400  # not parseable as a message
        assert await post(b"x" * (runner.config.telegram.webhook.max_body + 1)) == 413
        assert await post(text_update(5), method="GET") == 405
        assert await post(text_update(5), to=url + "/../metrics-x") == 404
        # a locked journal passes: 500 (Telegram re-sends), and the re-delivery is taken once it is free
        locker = state_db(runner)
        locker.execute("BEGIN EXCLUSIVE")
        try:
            assert await post(text_update(6)) == 500
        finally:
            locker.rollback()
            locker.close()
        assert await post(text_update(6)) == 200
        runner.http.accepting = False  # stopping
        assert await post(text_update(7)) == 503
        runner.http.accepting = True
        await answers(fake, 2, timeout=60)  # updates 1 and 6, each once
        assert {c.chat_id for c in fake.sent()} == {50100} and len(fake.sent()) == 2


async def test_with_no_secret_configured_the_webhook_makes_one_keeps_it_and_refuses_forgeries(demo_config, photo,
                                                                                               tmp_path):
    """No WEBHOOK_SECRET (the default config): before, setWebhook carried no secret_token and anyone
    who found the URL could post updates."""
    async with running_bot(demo_config, webhook=True, secret=None, assets=tmp_path / "assets") as (fake, runner):
        secret = fake.webhook_secret
        assert secret and len(secret) >= 32 and secret == runner.webhook_secret
        assert all(c.params.get("secret_token") == secret for c in fake.calls("setWebhook"))
        forged = text_update(11, chat_id=50200, text="/start")
        assert (await fake.post_to_webhook_async(forged))[0] == 403
        assert (await fake.post_to_webhook_async(forged, headers={SECRET_HEADER: "guess"}))[0] == 403
        mid = fake.send_photo(50201, photo("obama2.jpg"))  # Telegram, which knows the secret
        await answers(fake, 1, chat_id=50201)
        assert "Barack Obama" in only_answer(fake, 50201, mid).text
        await runner.stop()
        async with restarted(runner, fake) as again:
            assert again.webhook_secret == secret and fake.webhook_secret == secret  # kept across restarts
        assert fake.sent(50200) == []  # the forged /start was never answered
        with state_db(runner) as conn:
            assert conn.execute("SELECT value FROM meta WHERE key = 'webhook_secret'").fetchone() == (secret,)


GENERATED = {"posted": 0, "taken": 0, "examples": 0}


@settings(max_examples=6, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate],  # a bot start per example: no shrinking
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(updates=st.lists(UPDATE, min_size=40, max_size=40))
@example(updates=[dict(u) for u in POISON])  # the updates that once stopped every start
def test_generated_updates_then_a_crash_the_bot_starts_again_and_answers_a_photo_once(demo_config, photo, tmp_path,
                                                                                      updates):
    """Generated updates through the real webhook; then a crash before any was marked done (each
    row is reopened, as a kill -9 leaves them); then a start, which replays all of them. The bot
    must start, give up what it cannot handle, and answer a normal photo exactly once."""
    assets = tmp_path / f"assets-{GENERATED['examples']}"
    GENERATED["examples"] += 1
    asyncio.run(crash_and_restart(demo_config, photo, assets, updates))


async def crash_and_restart(demo_config, photo, assets, updates: list[dict]) -> None:
    async with running_bot(demo_config, webhook=True, assets=assets) as (fake, runner):
        headers = {SECRET_HEADER: runner.webhook_secret}
        for number, update in enumerate(updates):
            if isinstance(update.get("update_id"), int) and not isinstance(update["update_id"], bool):
                update["update_id"] += number  # distinct ids, as Telegram's are
            status, _ = await fake.post_to_webhook_async(update, headers=headers)
            assert status in (200, 400, 413), (status, update)  # taken, malformed, over max_body
            GENERATED["posted"] += 1
            GENERATED["taken"] += status == 200
        await asyncio.sleep(0.5)
        await runner.stop()
        with state_db(runner) as conn:
            reopened = conn.execute("UPDATE updates SET done = NULL, failed = NULL").rowcount
        async with restarted(runner, fake) as again:
            assert again.health() is not None  # it started
            mid = fake.send_photo(50300, photo("obama2.jpg"))
            await answers(fake, 1, chat_id=50300)
            await asyncio.sleep(0.5)
            assert "Barack Obama" in only_answer(fake, 50300, mid).text
            await asyncio.wait_for(drained(again), timeout=60)
        with state_db(runner) as conn:
            assert conn.execute("SELECT count(*) FROM updates WHERE done IS NULL").fetchone() == (0,)
    print(f"\ngenerated: {GENERATED['posted']} posted so far, {GENERATED['taken']} taken; "
          f"{reopened} journaled rows reopened and replayed")


async def drained(runner) -> None:
    while runner.dispatch.in_progress:
        await asyncio.sleep(0.1)
