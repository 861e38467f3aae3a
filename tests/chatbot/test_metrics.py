"""chatbot/metrics.py: what /metrics shows, and the handlers' counting of updates, answers and errors."""
from __future__ import annotations

from chatbot.metrics import Metrics
from tests.chatbot.harness import OfflineBot, count
from tests.chatbot.standin import PHOTO
from tests.chatbot.updates import bot_message, document_message, inline, message, photo_message, press, update

NAMES = ("lookalike_updates", "lookalike_photos", "lookalike_faces", "lookalike_errors",
         "lookalike_telegram_retries", "lookalike_photo_latency_seconds", "lookalike_queue_depth",
         "lookalike_pool_pending", "lookalike_gallery_faces")


def test_every_metric_is_rendered_in_the_prometheus_text_format():
    metrics = Metrics()
    shown = metrics.render().decode()
    for name in NAMES:
        assert f"# HELP {name}" in shown
    assert metrics.content_type.startswith("text/plain")


def test_each_metrics_object_has_its_own_registry():
    one, two = Metrics(), Metrics()
    one.updates.labels("command").inc()
    assert count(one.updates, "command") == 1 and count(two.updates, "command") == 0


def test_the_watched_gauges_are_read_when_rendered():
    metrics = Metrics()
    depth = [3]
    metrics.watch(lambda: depth[0], lambda: 7)
    assert b"lookalike_queue_depth 3.0" in metrics.render()
    depth[0] = 5
    shown = metrics.render()
    assert b"lookalike_queue_depth 5.0" in shown and b"lookalike_pool_pending 7.0" in shown


async def test_updates_are_counted_by_kind(bot: OfflineBot):
    bot.api.serve_file("photo-1", PHOTO)
    bot.api.serve_file("doc-1", PHOTO)
    for upd in (update(message("/help")), update(message("/start")), update(message("hi")),
                update(photo_message("photo-1")), update(document_message("doc-1")),
                press("m:AAAAAAAAAAAA:0", bot_message()), inline("ada")):
        await bot.feed(upd)
    updates = bot.deps.metrics.updates
    assert [count(updates, kind) for kind in ("command", "other", "photo", "document", "button", "inline")] == \
        [2, 1, 1, 1, 1, 1]
    shown = bot.deps.metrics.render()
    assert b'lookalike_updates_total{kind="command"} 2.0' in shown
    assert b'lookalike_photos_total{outcome="ok"} 2.0' in shown


async def test_an_unhandled_error_is_counted_by_type_only(bot: OfflineBot, monkeypatch):
    def broken() -> tuple[int, int]:
        raise RuntimeError("user 1001 said something private")
    monkeypatch.setattr(bot.photos, "gallery_size", broken)
    await bot.feed(update(message("/about")))
    shown = bot.deps.metrics.render()
    assert b'lookalike_errors_total{kind="RuntimeError"} 1.0' in shown
    assert b"private" not in shown and b"1001" not in shown
