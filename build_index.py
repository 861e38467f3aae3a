#!/usr/bin/env python
"""Build the HNSW index and the similarity calibration from the gallery.

    python build_index.py [--config FILE]

Writes assets/index.bin (+ .dat) and assets/index.json; index.json is written
last, so a bot watching it only ever sees a complete index.

The work is rebuild/index.py's; this script only reads the command line.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rebuild import index
from settings import load_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, help="config file (default: config.yaml)")
    args = parser.parse_args(argv)
    return index.run(load_config(args.config))


if __name__ == "__main__":
    sys.exit(main())
