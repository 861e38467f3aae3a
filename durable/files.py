"""A file written whole or not at all.

The data goes to a temporary name next to the target, is flushed to disk and then renamed over
it: a reader (a bot reloading the gallery, a resumed build) sees the old file or the new one,
never a mix, even when the writer is killed half-way.
"""
from __future__ import annotations

import os
from pathlib import Path


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
