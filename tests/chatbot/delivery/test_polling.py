"""chatbot/delivery/polling.py: an update is confirmed to Telegram only once it was handled.

The real Application and its handlers, long-polling the offline Bot API,
which keeps updates until an offset confirms them, as Telegram does.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from telegram.error import Conflict, NetworkError

from chatbot.delivery import polling
from chatbot.delivery.polling import ConfirmingPoller
from chatbot.texts import text
from tests.chatbot.harness import OfflineBot, quoted
from tests.chatbot.offline import BOT_ID, eventually
from tests.chatbot.standin import PHOTO
from tests.chatbot.updates import message, photo_message, update


@pytest.fixture(autouse=True)
def quick_repoll(monkeypatch):
    """Re-polls that only repeat updates in progress need no pause here (the pause is against busy-looping Telegram)."""
    monkeypatch.setattr(polling, "IDLE_REPOLL", 0.001)


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "telegram_updates.json"


@pytest.fixture
async def pollers(bot: OfflineBot, state_path: Path):
    """Make pollers on the bot; any left polling are stopped at the end."""
    made: list[ConfirmingPoller] = []
    errors: list[Exception] = []

    def make() -> ConfirmingPoller:
        made.append(ConfirmingPoller(bot.app, state_path, timeout=30, on_error=errors.append))
        return made[-1]
    make.errors = errors
    yield make
    for poller in made:
        if poller.polling:
            await poller.stop(grace=5)


def saved(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def texts(update_id: int) -> dict:
    return update(message(f"hello {update_id}"), update_id=update_id)


async def test_the_webhook_is_deleted_before_the_first_poll(bot: OfflineBot, pollers):
    poller = pollers()
    await poller.start()
    await eventually(lambda: bot.api.sent("getUpdates"))
    first, second = bot.api.calls[:2]
    assert first.method == "deleteWebhook" and first["drop_pending_updates"] is False
    assert second.method == "getUpdates" and second["timeout"] == 30
    assert second.get("offset") is None  # no state yet: whatever Telegram has


async def test_the_offset_moves_only_past_updates_that_were_handled(bot: OfflineBot, pollers, state_path: Path):
    bot.api.serve_file("photo-11", PHOTO)
    photo = photo_message("photo-11")
    gate = bot.api.hold("getFile")  # the photo's handler waits here
    bot.api.push_update(texts(10), update(photo, update_id=11), texts(12))
    poller = pollers()
    await poller.start()
    await eventually(lambda: saved(state_path).get("offset") == 11 and saved(state_path).get("done") == [12])
    assert [c["text"] for c in bot.api.sent("sendMessage")] == [text("en", "send_photo")] * 2
    assert poller.in_progress == 1
    # while 11 runs, every poll still asks from 11: Telegram keeps 11 and 12 and may send them again
    assert max(o for o in bot.api.offsets if o is not None) == 11
    assert {u["update_id"] for u in bot.api.updates} == {11, 12}
    assert saved(state_path)["bot_id"] == BOT_ID

    gate.set()
    await eventually(lambda: saved(state_path).get("offset") == 13)
    assert saved(state_path)["done"] == []
    assert await poller.stop(grace=5) is True
    assert bot.api.offsets[-1] == 13 and bot.api.updates == []  # confirmed: Telegram forgets them
    # each update answered once, although polls repeated 11 and 12 while 11 was in progress
    answers = bot.answers()
    assert len(answers) == 3
    assert [c.method for c in answers].count("sendPhoto") == 1
    assert quoted(bot.api.sent("sendPhoto")[0]) == photo["message_id"]


async def test_a_restart_skips_the_updates_the_last_run_handled(bot: OfflineBot, pollers, state_path: Path):
    # the last run handled 21 but was killed while 20 was in progress
    state_path.write_text(json.dumps({"bot_id": BOT_ID, "offset": 20, "done": [21]}))
    bot.api.push_update(texts(20), texts(21), texts(22))
    poller = pollers()
    await poller.start()
    await eventually(lambda: saved(state_path).get("offset") == 23)
    assert bot.api.offsets[0] == 20
    sent = bot.api.sent("sendMessage")
    assert len(sent) == 2  # 20 and 22; 21 was answered by the last run
    await poller.stop(grace=5)


async def test_a_clean_stop_confirms_and_the_next_run_goes_on_from_there(bot: OfflineBot, pollers, state_path):
    bot.api.push_update(texts(40), texts(41))
    first = pollers()
    await first.start()
    await eventually(lambda: len(bot.api.sent("sendMessage")) == 2)
    assert await first.stop(grace=5) is True
    assert saved(state_path)["offset"] == 42
    # even if Telegram never got the confirmation, the next run starts past what was handled
    bot.api.push_update(texts(40), texts(41))
    polls = len(bot.api.offsets)
    second = pollers()
    await second.start()
    await eventually(lambda: len(bot.api.offsets) > polls)
    assert bot.api.offsets[polls] == 42
    await second.stop(grace=5)
    assert len(bot.api.sent("sendMessage")) == 2


async def test_another_bots_state_is_not_used(bot: OfflineBot, pollers, state_path: Path):
    state_path.write_text(json.dumps({"bot_id": BOT_ID + 1, "offset": 50, "done": [51]}))
    bot.api.push_update(texts(51))
    poller = pollers()
    await poller.start()
    await eventually(lambda: saved(state_path).get("bot_id") == BOT_ID and saved(state_path)["offset"] == 52)
    assert len(bot.api.sent("sendMessage")) == 1
    await poller.stop(grace=5)


async def test_a_handler_that_fails_still_lets_the_offset_move_on(bot: OfflineBot, pollers, state_path, monkeypatch):
    def broken() -> tuple[int, int]:
        raise RuntimeError("gallery gone")
    monkeypatch.setattr(bot.photos, "gallery_size", broken)
    bot.api.push_update(update(message("/about"), update_id=60), texts(61))
    poller = pollers()
    await poller.start()
    await eventually(lambda: saved(state_path).get("offset") == 62)
    assert len(bot.api.sent("sendMessage")) == 1
    await poller.stop(grace=5)


async def test_a_stop_whose_grace_runs_out_leaves_the_unfinished_update_unconfirmed(bot: OfflineBot, pollers,
                                                                                    state_path: Path):
    bot.api.serve_file("photo-71", PHOTO)
    gate = bot.api.hold("getFile")
    bot.api.push_update(update(photo_message("photo-71"), update_id=71), texts(72))
    poller = pollers()
    await poller.start()
    await eventually(lambda: saved(state_path).get("done") == [72])
    assert await poller.stop(grace=0.01) is False  # 71 cannot finish: its getFile is held
    assert bot.api.offsets[-1] == 71 and saved(state_path) == {"bot_id": BOT_ID, "offset": 71, "done": [72]}
    gate.set()  # let the handler end before the loop closes
    await eventually(lambda: poller.in_progress == 0)


@pytest.mark.parametrize("status, error", [(502, NetworkError), (409, Conflict)])
async def test_poll_failures_are_reported(bot: OfflineBot, pollers, status: int, error: type):
    bot.api.fail("getUpdates", status)
    poller = pollers()
    await poller.start()
    await eventually(lambda: pollers.errors)
    [reported] = pollers.errors
    assert isinstance(reported, error)
    assert await poller.stop(grace=5) is True  # the wait before the next poll does not hold up a stop


async def test_polling_goes_on_after_a_network_error(bot: OfflineBot, pollers, monkeypatch):
    monkeypatch.setattr(polling, "backoff", lambda first, failures, cap=0: 0.0)
    bot.api.fail("getUpdates", 502)
    bot.api.push_update(texts(80))
    poller = pollers()
    await poller.start()
    await eventually(lambda: bot.api.sent("sendMessage"))
    assert len(pollers.errors) == 1
    await poller.stop(grace=5)


async def test_stop_before_anything_arrived_confirms_nothing(bot: OfflineBot, pollers, state_path: Path):
    poller = pollers()
    await poller.start()
    await eventually(lambda: bot.api.sent("getUpdates"))
    assert await poller.stop(grace=5) is True
    assert len(bot.api.sent("getUpdates")) == 1  # no offset to confirm
    assert saved(state_path) == {"bot_id": BOT_ID, "offset": None, "done": []}
    assert not poller.polling
