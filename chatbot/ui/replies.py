"""What a result looks like: captions, the card's words and the buttons under it.

Pure functions of the matches and the gallery's metadata, so every reply can
be checked without a bot. Anything from outside (names, authors) is escaped
here for Telegram's HTML parse mode.
"""
from __future__ import annotations

import html
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from chatbot.flow.results import callback_data
from chatbot.texts import text
from search.index import Match
from search.similarity import percent
from worker.card import CardText

CAPTION_LIMIT = 1024
MORE = 5            # "More lookalikes" shows this many further people
FACE_BUTTONS_PER_ROW = 5
WIKIPEDIA = re.compile(r"^https://[a-z-]{2,12}\.(m\.)?wikipedia\.org/wiki/\S+$")


def fit_caption(lines: list[str]) -> str:
    """Join lines, dropping trailing ones to stay within Telegram's caption limit."""
    while len(lines) > 1 and len("\n".join(lines)) > CAPTION_LIMIT:
        lines = lines[:-1]
    return "\n".join(lines)[:CAPTION_LIMIT]


def credit_of(face: dict) -> str:
    return ", ".join(face[k] for k in ("author", "license") if face.get(k))[:200]


def one_face_caption(lang: str, matches: list[Match], face: dict, strong: float = 0.0) -> str:
    """``strong``: below this similarity the reply says there is no strong lookalike first."""
    best, *others = matches
    key = "one_face" if best.similarity >= strong else "one_face_weak"
    lines = [text(lang, key, name=html.escape(best.name), percent=percent(best.similarity))]
    if others:
        lines.append(text(lang, "also", others=", ".join(
            text(lang, "other", name=html.escape(m.name), percent=percent(m.similarity)) for m in others)))
    credit = credit_of(face)
    if credit:
        lines.append(text(lang, "credit", credit=html.escape(credit)))
    lines.append(text(lang, "what_percent", percent=percent(best.similarity)))
    return fit_caption(lines)


def group_caption(lang: str, best: list[Match], detected: int, strong: float = 0.0) -> str:
    lines = [text(lang, "several_faces", count=len(best))]
    for number, match in enumerate(best, 1):
        lines.append(text(lang, "face_line" if match.similarity >= strong else "face_line_weak", number=number,
                          name=html.escape(match.name), percent=percent(match.similarity)))
    if detected > len(best):
        lines.append(text(lang, "more_faces", count=detected - len(best)))
    return fit_caption(lines)


def card_text(lang: str, match: Match, face: dict, bot_username: str, strong: float = 0.0) -> CardText:
    """The card's words; Pillow draws them as they are, so nothing is escaped."""
    credit = credit_of(face)
    return CardText(title=text(lang, "card_title" if match.similarity >= strong else "card_title_weak"), you=text(lang, "card_you"), name=match.name,
                    percent=f"{percent(match.similarity)}%",
                    credit=text(lang, "credit", credit=credit) if credit else "", footer=f"@{bot_username}")


def wikipedia_url(person: dict) -> str | None:
    """The person's Wikipedia page, if the gallery has a well-formed one (it becomes a button)."""
    url = str(person.get("wikipedia") or "")
    return url if WIKIPEDIA.match(url) else None


def result_keyboard(lang: str, token: str, face: int, person: dict) -> InlineKeyboardMarkup:
    """Under one face's result: more lookalikes, who this is, share."""
    first = [InlineKeyboardButton(text(lang, "btn_more"), callback_data=callback_data("m", token, face))]
    url = wikipedia_url(person)
    if url:
        first.append(InlineKeyboardButton(text(lang, "btn_who"), url=url))
    share = InlineKeyboardButton(text(lang, "btn_share"), switch_inline_query=f"share {token} {face}")
    return InlineKeyboardMarkup([first, [share]])


def group_keyboard(lang: str, token: str, faces: int) -> InlineKeyboardMarkup:
    """Under a group photo: one button per face, for that face's card."""
    buttons = [InlineKeyboardButton(text(lang, "btn_face", number=i + 1), callback_data=callback_data("f", token, i))
               for i in range(faces)]
    rows = [buttons[i:i + FACE_BUTTONS_PER_ROW] for i in range(0, len(buttons), FACE_BUTTONS_PER_ROW)]
    return InlineKeyboardMarkup(rows)


def more_text(lang: str, face: int, matches: list[Match], shown: int) -> str:
    """The next people after the ``shown`` ones the result already named."""
    further = matches[shown:shown + MORE]
    if not further:
        return text(lang, "no_more")
    lines = [text(lang, "more_title", number=face + 1)]
    lines += [text(lang, "more_line", rank=shown + i + 1, name=html.escape(m.name), percent=percent(m.similarity))
              for i, m in enumerate(further)]
    return "\n".join(lines)
