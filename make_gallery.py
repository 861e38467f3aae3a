#!/usr/bin/env python
"""A real gallery in one command: scrape_photos -> build_embeddings -> build_index, with one summary.

    python make_gallery.py [--size N] [--per-person K] [--occupation actor,singer] [--config FILE]

(`make gallery`, `GALLERY_SIZE=N make gallery`.) Resumable: run it again after an
interruption and finished people cost no request, embedded photos are not
embedded again. A running bot picks the new index up by itself (it watches
assets/index.json, which build_index.py writes last).
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import build_embeddings
import build_index
import scrape_photos
from collect.scrape import Options, Summary
from collect.wikidata import parse_occupations
from settings import load_config


def retryable(summary: Summary) -> int:
    """People a later run may still get (retries ran out, or a host asked for a long pause)."""
    return sum("run again" in f for f in summary.failures)


def summary_lines(asked: int, scraped: Summary, report: build_embeddings.Report, seconds: dict[str, float]) -> list[str]:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1000, help="people, most famous first (default 1000)")
    parser.add_argument("--per-person", type=int, default=3, metavar="K", help="photos per person (default 3)")
    parser.add_argument("--occupation", default="", help="as scrape_photos.py --occupation")
    parser.add_argument("--config", type=Path, help="config file (default: config.yaml)")
    args = parser.parse_args(argv)
    if args.size < 1 or args.per_person < 1:
        parser.error("--size and --per-person must be at least 1")
    config = load_config(args.config)
    try:
        occupations = parse_occupations(args.occupation)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    photos = config.paths.photos
    seconds: dict[str, float] = {}

    print(f"1/3 collecting {args.size} people x {args.per_person} photos into {photos}")
    started = time.perf_counter()
    scraped = scrape_photos.collect(config.scrape, Options(out=photos, per_person=args.per_person,
                                                           limit=args.size, occupations=occupations))
    if isinstance(scraped, int):
        return scraped
    seconds["collect"] = time.perf_counter() - started

    print("2/3 embedding faces")
    started = time.perf_counter()
    try:
        report = build_embeddings.build(config, photos)
    except build_embeddings.BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    seconds["embed"] = time.perf_counter() - started

    print("3/3 building the index")
    started = time.perf_counter()
    code = build_index.main(["--config", str(config.source)] if config.source else [])
    seconds["index"] = time.perf_counter() - started
    if code:
        return code

    print()
    for line in summary_lines(args.size, scraped, report, seconds):
        print(line)
    return 1 if scraped.stopped or retryable(scraped) else 0


if __name__ == "__main__":
    sys.exit(main())
