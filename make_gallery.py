#!/usr/bin/env python
"""A real gallery in one command: scrape_photos -> build_embeddings -> build_index, with one summary.

    python make_gallery.py [--size N] [--per-person K] [--occupation actor,singer] [--config FILE]

(`make gallery`, `GALLERY_SIZE=N make gallery`.) Resumable: run it again after an
interruption and finished people cost no request, embedded photos are not
embedded again. A running bot picks the new index up by itself (it watches
assets/index.json, which build_index.py writes last).

The work is rebuild/make.py's; this script only reads the command line.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from collect.wikidata import parse_occupations
from rebuild.make import make
from settings import load_config


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
    return make(config, args.size, args.per_person, occupations)


if __name__ == "__main__":
    sys.exit(main())
