"""Who the bot is, and what users see of it before they write: getMe, the command menus and
the descriptions (setMyCommands, setMyDescription, setMyShortDescription)."""

from __future__ import annotations

import json
import re
import threading
from typing import Any

from .protocol import bad

_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")


class Profile:
    """The bot's identity and menus, and what tests read back of them."""

    bot_user: dict[str, Any]
    _lock: threading.RLock

    def __init__(self) -> None:
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._bot_texts: dict[tuple[str, str], str] = {}

    def commands(self, scope: str = "default", language_code: str = "") -> list[dict[str, Any]]:
        """The command menu the bot set for a scope type and language ("" for all languages)."""
        with self._lock:
            return list(self._commands.get((json.dumps({"type": scope}, sort_keys=True), language_code), []))

    def bot_text(self, field: str, language_code: str = "") -> str | None:
        """The description or short_description the bot set for a language."""
        with self._lock:
            return self._bot_texts.get((field, language_code))

    async def _getMe(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        return self.bot_user

    async def _setMyCommands(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        commands = p.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad("commands must be an array of at most 100 BotCommand")
        for cmd in commands:
            if not isinstance(cmd, dict) or not _COMMAND_NAME.match(str(cmd.get("command", ""))):
                raise bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(cmd.get("description", ""))) <= 256:
                raise bad("BOT_COMMAND_DESCRIPTION_INVALID")
        scope = p.get("scope") or {"type": "default"}
        key = json.dumps(scope, sort_keys=True), str(p.get("language_code") or "")
        with self._lock:
            self._commands[key] = [{"command": c["command"], "description": c["description"]} for c in commands]
        return True

    async def _setMyDescription(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        return self._set_bot_text(p, "description")

    async def _setMyShortDescription(self, p: dict[str, Any], f: dict[str, bytes]) -> Any:
        return self._set_bot_text(p, "short_description")

    def _set_bot_text(self, p: dict[str, Any], field: str) -> bool:
        with self._lock:
            self._bot_texts[(field, str(p.get("language_code") or ""))] = str(p.get(field) or "")
        return True
