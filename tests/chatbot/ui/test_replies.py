"""Reply wording: what the % says, and the honest "no strong lookalike" below the floor."""
from __future__ import annotations

from chatbot.ui import replies
from search.index import Match


def match(name: str, similarity: float, person: int = 0) -> Match:
    return Match(person=person, name=name, face=0, distance=0.5, similarity=similarity)


def test_a_strong_match_is_announced_and_the_percent_explained_as_a_rank():
    caption = replies.one_face_caption("en", [match("Ada Lovelace", 0.87), match("Marie Curie", 0.5, 1)],
                                       {"author": "A. Painter", "license": "CC BY 4.0"}, strong=0.10)
    first, *rest = caption.split("\n")
    assert first == "✨ You look like <b>Ada Lovelace</b>: 87% resemblance"
    assert "Marie Curie — 50%" in caption and "A. Painter, CC BY 4.0" in caption
    assert "closer to them than 87% of people are to their best lookalike" in caption
    assert "not the chance that you are them" in caption


def test_below_the_floor_the_reply_says_so_first_and_still_names_the_nearest():
    for lang, words in (("en", "No strong lookalike"), ("ru", "Сильного сходства")):
        caption = replies.one_face_caption(lang, [match("Ada Lovelace", 0.04)], {}, strong=0.10)
        assert caption.split("\n")[0].startswith("🤷 " + words)
        assert "<b>Ada Lovelace</b>" in caption and "4%" in caption
        card = replies.card_text(lang, match("Ada Lovelace", 0.04), {}, "bot", strong=0.10)
        assert card.title == replies.text(lang, "card_title_weak") != replies.text(lang, "card_title")
        assert card.name == "Ada Lovelace" and card.percent == "4%"
    strong_card = replies.card_text("en", match("Ada Lovelace", 0.5), {}, "bot", strong=0.10)
    assert strong_card.title == "You look like"


def test_a_group_marks_only_the_faces_without_a_strong_lookalike():
    caption = replies.group_caption("en", [match("Ada Lovelace", 0.6), match("Marie Curie", 0.05, 1)], 2, strong=0.10)
    lines = caption.split("\n")
    assert lines[1] == "1. <b>Ada Lovelace</b> — 60%"
    assert lines[2] == "2. no strong lookalike; nearest <b>Marie Curie</b> — 5%"
