"""A real gallery in one go: collect -> embed -> index, with one closing summary.

The work behind make_gallery.py (`make gallery`). It calls the same steps the three scripts
run (collect/run.py, rebuild/embeddings.py, rebuild/index.py) and sums up their reports, so the
summary can say why photos were left out across all of them.
"""
from __future__ import annotations

import sys
import time
from collections import Counter

from collect.run import scrape_photos
from collect.scrape import Options, Summary
from rebuild import embeddings, index
from settings import Config


def retryable(summary: Summary) -> int:
    """People a later run may still get (retries ran out, or a host asked for a long pause)."""
    return sum("run again" in f for f in summary.failures)


def summary_lines(asked: int, scraped: Summary, report: embeddings.Report, seconds: dict[str, float]) -> list[str]:
    """The closing summary: what was asked for, what the gallery holds, why photos were left out."""
    collected = scraped.people_done + scraped.people_skipped
    skipped = Counter(scraped.skipped) + Counter(report.skipped)
    reasons = "; ".join(f"{n} {why}" for why, n in skipped.most_common()) or "none"
    total = sum(seconds.values())
    steps = ", ".join(f"{name} {_duration(s)}" for name, s in seconds.items())
    lines = [
        f"asked for: {asked} people",
        f"collected: {collected} people ({scraped.people_done} this run), {scraped.people_failed} failed, "
        f"{scraped.photos_saved} photos downloaded, {scraped.requests} requests",
        f"in the gallery: {report.people_kept} people, {report.photos_kept} photos",
        f"skipped photos: {reasons}",
        f"time: {_duration(total)} ({steps})",
    ]
    if report.review_rows:
        lines.append(f"to review: {report.review_rows} photos dropped or flagged by cleaning, listed in {report.review}")
    if scraped.stopped:
        lines.append(f"stopped early: {scraped.stopped}")
    if retryable(scraped):
        lines.append(f"{retryable(scraped)} people may still come: run the same command again later")
    return lines


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def make(config: Config, size: int, per_person: int, occupations: list[str]) -> int:
    """Collect ``size`` people x ``per_person`` photos, build the gallery and the index; the exit status."""
    photos = config.paths.photos
    seconds: dict[str, float] = {}

    print(f"1/3 collecting {size} people x {per_person} photos into {photos}")
    started = time.perf_counter()
    scraped = scrape_photos(config.scrape, Options(out=photos, per_person=per_person,
                                                   limit=size, occupations=occupations))
    if isinstance(scraped, int):
        return scraped
    seconds["collect"] = time.perf_counter() - started

    print("2/3 embedding faces")
    started = time.perf_counter()
    try:
        report = embeddings.build(config, photos)
    except embeddings.BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    seconds["embed"] = time.perf_counter() - started

    print("3/3 building the index")
    started = time.perf_counter()
    code = index.run(config)
    seconds["index"] = time.perf_counter() - started
    if code:
        return code

    print()
    for line in summary_lines(size, scraped, report, seconds):
        print(line)
    return 1 if scraped.stopped or retryable(scraped) else 0
