"""The MediaWiki Action API as Commons serves it: shared parameters and which errors are transient.

API errors come back as HTTP 200 with {"error": {"code", "info"}}
(https://www.mediawiki.org/wiki/API:Errors_and_warnings). Two of them mean
"later, not never": ``maxlag`` (replica databases lag; Retry-After and
X-Database-Lag headers, https://www.mediawiki.org/wiki/Manual:Maxlag_parameter)
and ``ratelimited`` (https://www.mediawiki.org/wiki/API:Etiquette). Every other
error is final for that request and raised as ApiError with its code.
"""
from __future__ import annotations

from typing import Any

from collect.http import Answer, PermanentError, PoliteClient, Retry, json_body, retry_after

TRANSIENT = {"maxlag", "ratelimited"}


class ApiError(PermanentError):
    def __init__(self, url: str, code: str, info: str) -> None:
        super().__init__(url, f"API error {code}: {info}")
        self.code, self.info = code, info


def read_query(answer: Answer) -> dict:
    """Reader: the "query" part of a formatversion=2 answer; transient errors raise Retry."""
    doc = json_body(answer)
    if not isinstance(doc, dict):
        raise PermanentError(answer.url, "unexpected API answer")
    if "error" in doc:
        err = doc["error"] if isinstance(doc["error"], dict) else {}
        code, info = str(err.get("code", "")), str(err.get("info", ""))
        if code in TRANSIENT:
            raise Retry(f"API {code}: {info}", retry_after(answer.headers.get("Retry-After")))
        raise ApiError(answer.url, code, info)
    return doc.get("query") or {}


async def query(client: PoliteClient, api: str, params: dict[str, str]) -> dict:
    """One action=query request with the parameters every call carries."""
    full = {"action": "query", "format": "json", "formatversion": "2", "maxlag": str(client.config.maxlag),
            **params}
    result: Any = await client.get_json(api, full, read=read_query)
    return result
