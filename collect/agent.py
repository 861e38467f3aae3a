"""The User-Agent sent to Wikimedia, built from the operator's own contact.

Wikimedia's User-Agent policy (https://meta.wikimedia.org/wiki/User-Agent_policy)
asks every bot to say who runs it and how to reach them. A default contact
would make every copy of this project speak for someone else, so there is
none: no contact, no request.
"""
from __future__ import annotations

import os
import re
from typing import Mapping

import aiohttp

CONTACT_ENV = "LOOKALIKE_CONTACT"
CLIENT = "lookalike-gallery-builder/1.0"
HOWTO = (f"set your contact first: export {CONTACT_ENV}='you@your-domain' (an e-mail or https:// URL; "
         "or scrape.contact in config.yaml): Wikimedia's User-Agent policy requires one")
_EMAIL = re.compile(r"^[^@\s()]+@[^@\s()]+\.[^@\s()]+$")
_URL = re.compile(r"^https?://[^\s()]+\.[^\s()]+$")


class NoContact(ValueError):
    """No usable contact: the scraper must not talk to Wikimedia."""


def contact(configured: str, environ: Mapping[str, str] = os.environ) -> str:
    """The operator's contact: the environment variable wins over config.yaml."""
    value = (environ.get(CONTACT_ENV) or configured or "").strip()
    if not (_EMAIL.match(value) or _URL.match(value)):
        raise NoContact(HOWTO if not value else f"{value!r} is not an e-mail or URL; {HOWTO}")
    return value


def user_agent(configured: str, environ: Mapping[str, str] = os.environ) -> str:
    """"<client>/<version> (<contact>) <library>/<version>", the policy's recommended shape."""
    return f"{CLIENT} ({contact(configured, environ)}) aiohttp/{aiohttp.__version__}"
