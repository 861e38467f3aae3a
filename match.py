#!/usr/bin/env python
"""Which celebrities do the faces in these photos look like? (local CLI)

    python match.py PHOTO [PHOTO ...] [--top K] [--json] [--config FILE] [--card OUT.jpg]

--card writes the bot's "you and them" card for the first face of the first photo.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import ujson

from search.index import FaceIndex
from settings import load_config
from worker.outcome import Outcome
from worker.pool import FacePool

MESSAGES = {
    Outcome.NO_FACE: "no face found",
    Outcome.NOT_AN_IMAGE: "not a readable image",
    Outcome.TOO_LARGE: "image too large",
    Outcome.TIMEOUT: "took too long",
    Outcome.WORKER_DIED: "worker crashed",
    Outcome.INTERNAL: "internal error",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("photos", nargs="+", type=Path, metavar="PHOTO")
    parser.add_argument("--top", type=int, default=None, help="lookalikes per face (default: search.top_k)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--config", type=Path, help="config file (default: config.yaml)")
    parser.add_argument("--card", type=Path, metavar="OUT.jpg", help="write the card the bot would send")
    parser.add_argument("--lang", default="en", help="language of the card (default: en)")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    try:
        index = FaceIndex.load(config)
    except FileNotFoundError:
        print(f"error: no index in {config.paths.assets}; run `make install` or build_index.py", file=sys.stderr)
        return 2
    top = args.top or config.search.top_k

    report = []
    workers = min(config.pool.worker_count, len(args.photos))
    with FacePool(config.engine, config.pool, workers=workers) as pool:
        results = dict(pool.map_files(args.photos))
    for photo in args.photos:
        result = results[photo]
        entry = {"photo": str(photo), "error": None if result.ok else result.outcome.value, "faces": []}
        if result.faces:
            matches = index.search([f.vector for f in result.faces], top)
            for face, found in zip(result.faces, matches):
                entry["faces"].append({
                    "box": list(face.box),
                    "matches": [{"name": m.name, "similarity": round(m.similarity * 100, 1),
                                 "distance": round(m.distance, 4)} for m in found],
                })
        report.append(entry)

    if args.card:
        made = write_card(config, index, args.photos[0], args.card, args.lang)
        print(f"card: {args.card}" if made else "card: no face in the first photo", file=sys.stderr)
    if args.json:
        print(ujson.dumps(report, ensure_ascii=False, escape_forward_slashes=False, indent=2))
        return 0
    for entry, photo in zip(report, args.photos):
        print(f"{photo}:")
        if entry["error"]:
            print(f"  {MESSAGES.get(Outcome(entry['error']), entry['error'])}")
        for n, face in enumerate(entry["faces"], 1):
            left, top_, right, bottom = face["box"]
            print(f"  face {n} at ({left},{top_})-({right},{bottom}):")
            for m in face["matches"]:
                print(f"    {m['similarity']:5.1f}%  {m['name']}  (distance {m['distance']:.3f})")
    return 0


def write_card(config, index: FaceIndex, photo: Path, out: Path, lang: str) -> bool:
    """The card for the photo's first face, made the way the bot makes it (in this process)."""
    from chatbot.ui.replies import card_text
    from worker.engine import FaceEngine

    engine = FaceEngine(config.engine)
    data = photo.read_bytes()
    result = engine.embed(data)
    if not result.faces:
        return False
    face = result.faces[0]
    best = index.search([face.vector], 1)[0][0]
    words = card_text(lang, best, index.gallery.faces[best.face], "lookalike_bot")
    card = engine.card_from_photo(data, face.box, str(index.gallery.thumbnail(best.face)), words)
    if card is None:
        return False
    out.write_bytes(card)
    return True


if __name__ == "__main__":
    sys.exit(main())
