"""The Bot API's wire rules: error answers, how form values decode, size limits."""

from __future__ import annotations

import json
from typing import Any

MB = 1024 * 1024
PHOTO_UPLOAD_LIMIT = 10 * MB
UPLOAD_LIMIT = 50 * MB
DOWNLOAD_LIMIT = 20 * MB

#: Parameters Telegram treats as strings even when they look like numbers or JSON.
_STRING_PARAMS = frozenset(
    {
        "text", "caption", "parse_mode", "url", "secret_token", "photo", "document", "video",
        "audio", "animation", "voice", "sticker", "thumbnail", "file_id", "action", "ip_address",
        "callback_query_id", "inline_message_id", "language_code", "emoji", "title",
        "description", "short_description", "name", "business_connection_id",
        "message_effect_id", "file_path",
    }
)


class ApiError(Exception):
    """An error response, raised by method handlers and turned into Telegram's JSON."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def decode_param(name: str, value: str) -> Any:
    """Form values arrive as strings; Telegram JSON-decodes all but the textual ones."""
    if name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def copy_json(value: Any) -> Any:
    """A deep copy through JSON: what the bot gets is never the fake's own object."""
    return json.loads(json.dumps(value))


def update_type(update: dict[str, Any]) -> str:
    return next((k for k in update if k != "update_id"), "")
