"""End to end through the local fake Bot API: latency, bursts, send rate.

    python -m bench.bot_e2e [--singles 20] [--bursts 100,300] [--workers N]

Runs the real bot (BotRunner, worker pool, index of the demo gallery or the
one in assets/) in-process against testkit.fake_telegram.FakeTelegram over
HTTP on 127.0.0.1. Latency is measured from the moment the fake queues the
update to the moment it receives the answer.
"""
from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import statistics
import time

from chatbot.app import BotRunner
from gallery.demo import test_images
from settings import load_config
from testkit.fake_telegram import FakeTelegram
from testkit.rates import max_in_window

TOKEN = "100000001:BENCH-token-abcdefghijklmnopqrstuv"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(singles: int, bursts: list[int], workers: int | None) -> None:
    photo = (test_images() / "obama2.jpg").read_bytes()
    with FakeTelegram(token=TOKEN) as fake:
        config = load_config().replace(telegram={"base_url": fake.base_url, "base_file_url": fake.base_file_url,
                                                 "polling_timeout": 1, "webhook": {"port": 0},
                                                 "limits": {"max_in_flight": 10_000}})
        if workers:
            config = config.replace(pool={"workers": workers})
        runner = BotRunner(config, TOKEN)
        await runner.start()
        try:
            print(f"bot: {runner.pool.workers} workers, gallery of {len(runner.index.current.gallery)} faces")
            # Single photos, one at a time: the latency a lone user sees.
            latencies = []
            for i in range(singles):
                chat = 10_000 + i
                t0 = time.monotonic()
                fake.send_photo(chat, photo)
                calls = await fake.wait_for_sent_async(chat_id=chat, count=1, timeout=60)
                latencies.append(calls[0].time - t0)
            print(f"single photo latency over {singles}: p50 {statistics.median(latencies) * 1000:.0f} ms, "
                  f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms")
            # Pool throughput for the bound, on the very bytes the bot downloads
            # (the 800-px size it picks), measured in this run.
            picked = fake.calls("getFile")[-1].params["file_id"]
            data = fake.file_bytes(picked)
            jobs = runner.pool.workers * 12
            t0 = time.monotonic()
            concurrent.futures.wait([runner.pool.submit(data) for _ in range(jobs)])
            throughput = jobs / (time.monotonic() - t0)
            print(f"pool throughput alone: {throughput:.2f} photos/s ({jobs} jobs)")
            for n in bursts:
                base = 100_000 * n
                start_calls = len(fake.sent())
                t0 = time.monotonic()
                queued = {base + i: t0 for i in range(n)}
                for chat in queued:
                    queued[chat] = time.monotonic()
                    fake.send_photo(chat, photo)
                await fake.wait_for_async(lambda: len(fake.sent()) - start_calls >= n, timeout=600)
                sends = fake.sent()[start_calls:]
                done = max(c.time for c in sends) - t0
                lat = [c.time - queued[c.chat_id] for c in sends]
                answered = fake.answered_message_ids()
                once = all(answered[(c.chat_id, c.reply_to_message_id)] == 1 for c in sends)
                window = [c for c in fake.sent() if c.time >= t0]
                rate = max_in_window([c.time for c in window])
                bound = max(n / throughput, len(sends) / 30)
                print(f"burst of {n} photos from {n} chats: done in {done:.2f} s "
                      f"({done / bound:.2f} x the bound max(photos/pool rate, sends/30) = {bound:.2f} s; goal <= 1.2), "
                      f"each answered once: {once}, max sends in any 1 s: {rate}, "
                      f"latency p50 {statistics.median(lat):.2f} s, p95 {percentile(lat, 0.95):.2f} s")
        finally:
            await runner.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--singles", type=int, default=20)
    parser.add_argument("--bursts", default="100,300")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    asyncio.run(run(args.singles, [int(b) for b in args.bursts.split(",") if b], args.workers))


if __name__ == "__main__":
    main()
