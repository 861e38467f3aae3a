"""What the "you and them" card adds per photo: the aligned chip in the embedding job
plus rendering the card, measured side by side with the plain embedding, medians.

    python -m bench.card [--repeats N] [--size 1280]

Uses the photos of bench.pipeline (face_recognition test photos and ../shared/faces/) and
the gallery in assets/ for the celebrity side. Each celebrity's aligned face is cached per
worker, as in the bot, so the first card of a celebrity is reported apart.
"""
from __future__ import annotations

import argparse
import statistics
import time

from bench.pipeline import photos_at
from chatbot.ui.replies import card_text
from search.index import FaceIndex
from settings import load_config
from worker.engine import FaceEngine


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, default=1280)
    args = parser.parse_args(argv)
    config = load_config()
    engine = FaceEngine(config.engine)
    index = FaceIndex.load(config)
    photos = photos_at(args.size)
    plain, chipped, cards, first_cards = [], [], [], []
    for _ in range(args.repeats):
        for _, data in photos:
            t0 = time.perf_counter()
            result = engine.embed(data)
            t1 = time.perf_counter()
            with_chip = engine.embed(data, chips=1)
            t2 = time.perf_counter()
            if len(result.faces) != 1 or with_chip.faces[0].chip is None:
                continue
            best = index.search([with_chip.faces[0].vector], 1)[0][0]
            path = str(index.gallery.thumbnail(best.face))
            words = card_text("en", best, index.gallery.faces[best.face], "lookalike_bot")
            misses = FaceEngine.celebrity_chip.cache_info().misses
            t3 = time.perf_counter()
            card = engine.card(with_chip.faces[0].chip, path, words)
            t4 = time.perf_counter()
            assert card is not None
            plain.append(t1 - t0)
            chipped.append(t2 - t1)
            first = FaceEngine.celebrity_chip.cache_info().misses > misses
            (first_cards if first else cards).append(t4 - t3)
    n = len(plain)
    chip_cost = statistics.median([c - p for c, p in zip(chipped, plain)])
    render = statistics.median(cards) if cards else float("nan")
    print(f"{len(photos)} photos at {args.size} px, {args.repeats} repeats, {n} single-face runs (medians)")
    print(f"  embed, as before           {statistics.median(plain) * 1000:7.1f} ms")
    print(f"  embed with the face chip   {statistics.median(chipped) * 1000:7.1f} ms  (+{chip_cost * 1000:.1f} ms)")
    print(f"  card render (cached celebrity face) {render * 1000:7.1f} ms over {len(cards)} cards")
    if first_cards:
        print(f"  card render, first of a celebrity   {statistics.median(first_cards) * 1000:7.1f} ms "
              f"over {len(first_cards)} cards (face found once per worker)")
    print(f"  added per photo: {(chip_cost + render) * 1000:.1f} ms (goal: <= 15 ms)")


if __name__ == "__main__":
    main()
