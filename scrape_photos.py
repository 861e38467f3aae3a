#!/usr/bin/env python
"""Collect celebrity photos with licence and author from Wikidata and Wikimedia Commons.

    python scrape_photos.py [--limit N] [--per-person K] [--occupation actor,singer,...]
                            [--names FILE] [--out DIR] [--config FILE]

Writes DIR/<Name>/<file>.jpg and DIR/<Name>/info.json (the input of
build_embeddings.py). Resumable: people whose info.json is complete are skipped.

The run is collect/'s (collect/run.py); this script only reads the command line.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

from collect import run
from collect.scrape import Options
from collect.wikidata import parse_occupations, read_names
from settings import load_config


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, help="people to collect, most famous first (default 100; "
                                                  "with --names: the first N lines, default all)")
    parser.add_argument("--per-person", type=int, default=3, metavar="K", help="photos per person (default 3)")
    parser.add_argument("--occupation", default="", help="comma-separated words (actor, singer, musician, "
                        "politician, athlete, footballer, film director, writer, model, comedian) or Q-ids")
    parser.add_argument("--names", type=Path, help="file of names or Q-ids, one per line, instead of the top list")
    parser.add_argument("--out", type=Path, help="output folder (default: paths.photos in the config)")
    parser.add_argument("--config", type=Path, help="config file (default: config.yaml)")
    parser.add_argument("--thumb-width", type=int, help="thumbnail width in px (default: scrape.thumb_width)")
    parser.add_argument("--concurrency", type=int, help="requests at once (default: scrape.concurrency)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every skipped file")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1 or args.per_person < 1:
        parser.error("--limit and --per-person must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    config = load_config(args.config)
    scrape_cfg = config.scrape
    overrides = {k: v for k, v in (("thumb_width", args.thumb_width), ("concurrency", args.concurrency)) if v}
    scrape_cfg = dataclasses.replace(scrape_cfg, **overrides)
    try:
        occupations = parse_occupations(args.occupation)
        names = read_names(args.names) if args.names else None
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    options = Options(out=args.out or config.paths.photos, per_person=args.per_person,
                      limit=args.limit if names is not None else (args.limit or 100),
                      occupations=occupations, names=names, progress=not args.no_progress)
    return run.scrape_and_report(scrape_cfg, options)


if __name__ == "__main__":
    sys.exit(main())
