#!/usr/bin/env python
"""Embed the celebrity photo folders into the gallery in assets/.

    python build_embeddings.py [--photos DIR] [--config FILE] [--workers N] [--jitters N]
                               [--dask tcp://scheduler:8786 | --dask local:N]

Reads DIR/<Person Name>/*.{jpg,jpeg,png,webp} (+ optional info.json), keeps
photos with exactly one clear face, and writes embeddings, people metadata and
one thumbnail per kept photo. Before that the selection is cleaned (rebuild/clean.py,
`gallery.clean`): likely mislabelled photos and copies of one photo under several people are
dropped, and they and people whose photos split into two groups are listed in
assets/gallery_review.csv. Results are committed to the embedding cache
every build.batch_size photos, so an interrupted run resumes where it stopped
and a re-run only embeds photos not seen before. --dask runs the embedding on a
Dask cluster (docs/scale.md); the photos must be at the same path on every worker.

The work is rebuild/embeddings.py's; this script only reads the command line.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rebuild import embeddings
from settings import load_config


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, help="photo folder (default: paths.photos in the config)")
    parser.add_argument("--config", type=Path, help="config file (default: config.yaml)")
    parser.add_argument("--workers", type=int, help="worker processes (default: pool.workers)")
    parser.add_argument("--jitters", type=int, help="descriptor jitters (default: gallery.jitters)")
    parser.add_argument("--dask", metavar="ADDRESS",
                        help="embed on a Dask cluster: a scheduler address (tcp://host:8786) or local:N")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = load_config(args.config)
    return embeddings.run(config, args.photos or config.paths.photos, args.workers, args.jitters, args.dask)


if __name__ == "__main__":
    sys.exit(main())
