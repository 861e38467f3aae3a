"""Photos per second of scrape_photos.py against the local fake Wikimedia, median of runs.

    python -m bench.scrape_rate [--people 200] [--per-person 3] [--runs 3] [--concurrency N] [--thumb-width PX]

The fake server runs in its own process (tests/fake_wikimedia.py), so the
figure is the scraper's own cost (HTTP, JPEG check, atomic writes, info.json)
on loopback: an upper bound, with no network latency and no rate limits.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from collect.scrape import Options, scrape
from settings import load_config

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--per-person", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, help="default: scrape.concurrency in config.yaml")
    parser.add_argument("--thumb-width", type=int, help="default: scrape.thumb_width in config.yaml")
    args = parser.parse_args(argv)

    server = subprocess.Popen([sys.executable, "-m", "tests.fake_wikimedia", "--people", str(args.people),
                               "--files", str(args.per_person)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        base = (server.stdout.readline() if server.stdout else "").strip()
        if not base.startswith("http"):
            raise SystemExit("the fake server did not start")
        cfg = load_config().scrape
        cfg = dataclasses.replace(cfg, sparql_endpoint=f"{base}/sparql", commons_api=f"{base}/w/api.php",
                                  **{k: v for k, v in (("concurrency", args.concurrency),
                                                        ("thumb_width", args.thumb_width)) if v})
        rates = []
        for run in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                summary = asyncio.run(scrape(cfg, Options(out=Path(tmp), per_person=args.per_person,
                                                          limit=args.people, progress=False)))
                size = sum(f.stat().st_size for f in Path(tmp).rglob("*.jpg"))
            rate = summary.photos_saved / summary.seconds
            rates.append(rate)
            print(f"run {run + 1}: {summary.people_done} people, {summary.photos_saved} photos "
                  f"({size / 1e6:.1f} MB), {summary.requests} requests in {summary.seconds:.2f} s: {rate:.1f} photos/s")
        print(f"median: {statistics.median(rates):.1f} photos/s "
              f"(concurrency {cfg.concurrency}, thumb width {cfg.thumb_width} px)")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
