"""The gallery scraper pointed at the fake Wikimedia (see :mod:`testkit.fake_wikimedia`)."""
from __future__ import annotations

from pathlib import Path

from collect.scrape import Options, Summary, scrape
from settings import ScrapeConfig
from testkit.fake_wikimedia import FakeWikimedia

CONTACT = "lookalike-tests@example.org"


def config_for(fake: FakeWikimedia, **changes: object) -> ScrapeConfig:
    values = dict(sparql_endpoint=fake.sparql_endpoint, commons_api=fake.commons_api, contact=CONTACT,
                  thumb_width=300, concurrency=2, retries=2, timeout_s=10.0, backoff_s=0.01,
                  download_mbps=10_000.0)
    values.update(changes)
    return ScrapeConfig(**values)  # type: ignore[arg-type]


async def run(fake: FakeWikimedia, out: Path, **options: object) -> Summary:
    opts = Options(out=out, progress=False, **options)  # type: ignore[arg-type]
    return await scrape(config_for(fake), opts)
