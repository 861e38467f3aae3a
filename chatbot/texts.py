"""Every user-facing string, from gettext catalogs in locale/<lang>/LC_MESSAGES/lookalike.po.

The message ids are keys ("one_face"), the catalogs hold the texts, so a
translator adds a language by copying locale/en/ and translating, without
touching code; `make install` compiles the catalogs with Babel. Templates use
HTML parse mode; anything that comes from outside (celebrity names, authors)
is escaped by the caller with ``html.escape``.
"""
from __future__ import annotations

import functools
import gettext
from pathlib import Path

LOCALE = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "lookalike"
DEFAULT = "en"


@functools.lru_cache(maxsize=1)
def catalogs() -> dict[str, gettext.GNUTranslations]:
    """The compiled catalogs, English first; refuses to start without them."""
    found = {}
    for mo in sorted(LOCALE.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")):
        with open(mo, "rb") as fh:
            found[mo.parent.parent.name] = gettext.GNUTranslations(fh)
    if DEFAULT not in found:
        raise RuntimeError(f"message catalogs are not compiled in {LOCALE}: run `make install`")
    return {DEFAULT: found.pop(DEFAULT), **found}


def languages() -> list[str]:
    return list(catalogs())


def language(code: str | None) -> str:
    """The catalog for a Telegram client's language code ("ru", "pt-br"), English if none."""
    if code:
        base = code.lower().replace("_", "-").split("-")[0]
        if base in catalogs():
            return base
    return DEFAULT


def text(lang: str, key: str, **values: object) -> str:
    cats = catalogs()
    message = cats.get(lang, cats[DEFAULT]).gettext(key)
    if message == key:  # missing in this language: English rather than a bare key
        message = cats[DEFAULT].gettext(key)
    return message.format(**values)
