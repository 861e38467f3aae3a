"""Text rules Telegram enforces, so formatting bugs in the bot fail here as they would live."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

MAX_TEXT = 4096
MAX_CAPTION = 1024

_COMMAND = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
_HTML_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
    "a", "code", "pre", "blockquote", "tg-emoji",
}
#: MarkdownV2 characters that never start an entity and so must always be escaped.
_MDV2_ALWAYS_ESCAPED = set("#+-={}.!")


class EntityError(ValueError):
    """The text does not parse in the given parse_mode; the message is Telegram's."""


def utf16_len(text: str) -> int:
    """Telegram measures lengths and offsets in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def command_entities(text: str) -> list[dict[str, Any]]:
    """bot_command entities like Telegram attaches to '/start' or '/lookalike@bot'."""
    return [
        {"type": "bot_command", "offset": utf16_len(text[: m.start()]), "length": utf16_len(m.group())}
        for m in _COMMAND.finditer(text)
    ]


class _HtmlChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.plain: list[str] = []

    def _fail(self, message: str) -> None:
        raise EntityError(f"Bad Request: can't parse entities: {message}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            self._fail(f'Unsupported start tag "{tag}" at byte offset {self._offset()}')
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._fail(f'Unsupported start tag "{tag}" at byte offset {self._offset()}')

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            expected = f'expected "</{self.stack[-1]}>", ' if self.stack else ""
            self._fail(f'Unmatched end tag at byte offset {self._offset()}, {expected}found "</{tag}>"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.plain.append(data)

    def _offset(self) -> int:
        return self.getpos()[1]


def plain_text(text: str, parse_mode: str | None) -> str:
    """The text a user would see; raises EntityError where Telegram would refuse it."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        checker = _HtmlChecker()
        checker.feed(text)
        checker.close()
        if checker.stack:
            raise EntityError(
                "Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
                f'"{checker.stack[-1]}"'
            )
        return "".join(checker.plain)
    if mode == "markdownv2":
        return _markdown_v2_plain(text)
    if mode == "markdown":
        return re.sub(r"[*_`\[\]]", "", text)
    return text


def _markdown_v2_plain(text: str) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    in_link_url = False
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n:
            out.append(text[i + 1])
            i += 2
            continue
        if ch == "`":
            fence = "```" if text.startswith("```", i) else "`"
            end = text.find(fence, i + len(fence))
            if end < 0:
                raise EntityError("Bad Request: can't parse entities: Can't find end of Code entity "
                                  f"at byte offset {len(text[:i].encode())}")
            out.append(text[i + len(fence): end])
            i = end + len(fence)
            continue
        if in_link_url:
            if ch == ")":
                in_link_url = False
            i += 1
            continue
        if ch == "]" and text.startswith("](", i):
            in_link_url = True
            i += 2
            continue
        line_start = i == 0 or text[i - 1] == "\n"
        if ch in _MDV2_ALWAYS_ESCAPED or ch in "()" or (ch == ">" and not line_start):
            raise EntityError(
                f"Bad Request: can't parse entities: Character '{ch}' is reserved and must be "
                "escaped with the preceding '\\'"
            )
        if ch not in "*_~|[]>":
            out.append(ch)
        i += 1
    return "".join(out)
