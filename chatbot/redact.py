"""Logging that can never print the bot token.

httpx logs every request URL at INFO, and Bot API URLs contain the token
(``/bot<token>/sendMessage``). Rather than trusting every library to behave,
the formatter scrubs the token from each finished log line, tracebacks included.
"""
from __future__ import annotations

import logging
import re
from urllib.parse import quote

# A token-shaped string anywhere (digits:35 url-safe chars, the colon maybe
# URL-encoded as in file download URLs), even one we were not told about.
TOKEN_PATTERN = re.compile(r"\d{5,}(?::|%3[Aa])[A-Za-z0-9_-]{20,}")


class RedactingFormatter(logging.Formatter):
    def __init__(self, fmt: str, secrets: list[str]) -> None:
        super().__init__(fmt)
        self.secrets = secret_forms(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


def secret_forms(secrets: list[str]) -> list[str]:
    """Each secret as it may appear: plain, URL-encoded, and a token's part after the colon."""
    forms = set()
    for secret in filter(None, secrets):
        forms |= {secret, quote(secret, safe=""), quote(secret)}
        _, _, tail = secret.partition(":")
        if len(tail) >= 16:
            forms.add(tail)
    return sorted(forms, key=len, reverse=True)


def redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "<redacted>")
    return TOKEN_PATTERN.sub("<redacted>", text)


def add_secrets(secrets: list[str]) -> None:
    """Secrets learnt after logging was set up (a generated webhook secret) are scrubbed too."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler.formatter, RedactingFormatter):
            handler.formatter.secrets = secret_forms([*handler.formatter.secrets, *secrets])


def setup_logging(secrets: list[str], level: int = logging.INFO, stream=None) -> None:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request is noise
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("nmslib").setLevel(logging.WARNING)  # index internals on every load
