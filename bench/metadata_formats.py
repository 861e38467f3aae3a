"""Per-face metadata at 1M faces: people.json against SQLite against numpy string columns.

    python -m bench.metadata_formats [--faces 1000000] [--work DIR]

The measurement behind gallery/store.py's choice. Writes the same synthetic
metadata (file, hash, thumbnail, source, author, licence per face; name,
folder, qid, wikipedia per person, 4 faces a person) in three formats, then
loads each in a fresh process as the bot needs it (every name, one face's
credit) and prints the load time and the resident memory it added.
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import ujson

from bench.common import RSS_SOURCE


def face(i: int) -> dict:
    return {"file": f"Person {i // 4:07d}/{i:08d}.jpg", "hash": f"{i:064x}", "thumbnail": f"thumbs/{i:032x}.jpg",
            "source": f"https://commons.wikimedia.org/wiki/File:Face_{i:08d}.jpg",
            "author": f"Photographer {i % 997}", "license": "CC BY-SA 4.0"}


def person(j: int) -> dict:
    return {"name": f"Person {j:07d}", "folder": f"Person {j:07d}", "qid": f"Q{j + 1}",
            "wikipedia": f"https://en.wikipedia.org/wiki/Person_{j:07d}"}


def write(work: Path, n: int) -> None:
    people = n // 4
    (work / "people.json").write_text(ujson.dumps({"people": [person(j) for j in range(people)],
                                                   "faces": [face(i) for i in range(n)]}, indent=1))
    db = sqlite3.connect(work / "gallery.sqlite3")
    db.executescript("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, doc TEXT);"
                     "CREATE TABLE faces (id INTEGER PRIMARY KEY, person INTEGER, doc TEXT);")
    db.executemany("INSERT INTO people VALUES (?, ?, ?)", ((j, person(j)["name"], ujson.dumps(person(j)))
                                                          for j in range(people)))
    db.executemany("INSERT INTO faces VALUES (?, ?, ?)", ((i, i // 4, ujson.dumps(face(i))) for i in range(n)))
    db.commit()
    db.close()
    np.savez(work / "columns.npz", names=np.array([person(j)["name"] for j in range(people)]),
             **{f"face_{k}": np.array([face(i)[k] for i in range(n)]) for k in face(0)})


LOAD = r"""
import json, os, sqlite3, sys, time
import numpy as np, ujson
""" + RSS_SOURCE + r"""
work, fmt = sys.argv[1], sys.argv[2]
before = rss(); t = time.perf_counter()
if fmt == "people.json":
    doc = ujson.loads(open(f"{work}/people.json", encoding="utf-8").read())
    names = [p["name"] for p in doc["people"]]; credit = doc["faces"][12345]["author"]
elif fmt == "sqlite":
    db = sqlite3.connect(f"file:{work}/gallery.sqlite3?mode=ro&immutable=1", uri=True)
    names = [n for (n,) in db.execute("SELECT name FROM people ORDER BY id")]
    credit = ujson.loads(db.execute("SELECT doc FROM faces WHERE id = 12345").fetchone()[0])["author"]
else:
    with np.load(f"{work}/columns.npz") as z:
        cols = {k: z[k] for k in z.files}
    names = cols["names"]; credit = cols["face_author"][12345]
print(json.dumps({"seconds": time.perf_counter() - t, "added": rss() - before}))
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        work = Path(tmp)
        write(work, args.faces)
        sizes = {"people.json": "people.json", "sqlite": "gallery.sqlite3", "npz columns": "columns.npz"}
        print(f"{args.faces:,} faces, {args.faces // 4:,} people")
        for fmt, file in sizes.items():
            out = subprocess.run([sys.executable, "-c", LOAD, str(work), fmt.split()[0]], capture_output=True,
                                 text=True, check=True).stdout
            r = json.loads(out)
            print(f"  {fmt:12s} {(work / file).stat().st_size / 2**20:5.0f} MB on disk, load {r['seconds']:5.2f} s, "
                  f"+{r['added'] / 2**20:5.0f} MB resident")


if __name__ == "__main__":
    main()
