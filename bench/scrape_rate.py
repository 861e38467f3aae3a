"""Photos per second and requests per 1,000 people of scrape_photos.py against the local fake Wikimedia.

    python -m bench.scrape_rate [--people 1000] [--per-person 3] [--runs 3] [--concurrency N]
                                [--thumb-width PX] [--mbps M]

The fake server runs in its own process (testkit/fake_wikimedia.py), so the
figure is the scraper's own cost (HTTP, JPEG check, atomic writes, info.json)
on loopback: an upper bound, with no network latency. The download cap is
lifted by default (--mbps 100000) to measure the code, not the cap; the
request count does not depend on it.
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

from collect.http import authority
from collect.scrape import Options, scrape
from settings import load_config

ROOT = Path(__file__).resolve().parent.parent


def per_thousand(count: int, people: int) -> float:
    return 1000 * count / people if people else 0.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--per-person", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, help="default: scrape.concurrency in config.yaml")
    parser.add_argument("--thumb-width", type=int, help="default: scrape.thumb_width in config.yaml")
    parser.add_argument("--mbps", type=float, default=100_000.0, help="download cap (default: practically none)")
    args = parser.parse_args(argv)

    server = subprocess.Popen([sys.executable, "-m", "testkit.fake_wikimedia", "--people", str(args.people),
                               "--files", str(args.per_person)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        urls = (server.stdout.readline() if server.stdout else "").split()
        if len(urls) != 2:
            raise SystemExit("the fake server did not start")
        sparql, api = urls
        cfg = load_config().scrape
        cfg = dataclasses.replace(cfg, sparql_endpoint=sparql, commons_api=api, download_mbps=args.mbps,
                                  contact=cfg.contact or "https://localhost.localdomain/bench",
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
            n = summary.people_done
            wdqs = summary.by_host.get(authority(sparql), 0)
            commons = summary.by_host.get(authority(api), 0)
            print(f"run {run + 1}: {n} people, {summary.photos_saved} photos ({size / 1e6:.1f} MB), "
                  f"{summary.requests} requests in {summary.seconds:.2f} s: {rate:.1f} photos/s")
            print(f"  per 1,000 people: {per_thousand(summary.requests, n):.0f} requests = "
                  f"{per_thousand(wdqs, n):.0f} SPARQL + {per_thousand(commons, n):.0f} Commons API + "
                  f"{per_thousand(summary.requests - wdqs - commons, n):.0f} downloads")
        print(f"median: {statistics.median(rates):.1f} photos/s "
              f"(concurrency {cfg.concurrency}, thumb width {cfg.thumb_width} px)")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
