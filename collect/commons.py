"""Which files to download and under what licence: the Wikimedia Commons API.

Two read-only queries per person: the files of their Commons category
(list=categorymembers), then thumbnail URL, MIME type and licence/author of
those files plus the Wikidata P18 image (prop=imageinfo with extmetadata).
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from collect.http import PermanentError, PoliteClient

# Wikimedia only renders (and caches) these widths; other widths get a 429 at the edge.
THUMB_STEPS = (20, 40, 60, 120, 250, 330, 500, 960, 1280, 1920, 3840)
# Photos. SVG, GIF, PDF, TIFF scans and videos are rarely usable face photos.
PHOTO_MIMES = {"image/jpeg", "image/png", "image/webp"}
TITLES_PER_QUERY = 50   # the API's limit on titles= for anonymous clients


@dataclass(frozen=True)
class FileInfo:
    title: str          # "File:Barack Obama.jpg"
    thumb_url: str
    mime: str
    source: str         # the file's description page
    author: str
    license: str
    license_url: str


def thumb_step(width: int) -> int:
    """The smallest standard thumbnail width that is at least ``width``."""
    return next((w for w in THUMB_STEPS if w >= width), THUMB_STEPS[-1])


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def strip_html(value: str) -> str:
    """extmetadata Artist is HTML (links to user pages): keep the visible text."""
    parser = _Text()
    parser.feed(value)
    parser.close()
    return re.sub(r"\s+", " ", html.unescape("".join(parser.parts))).strip()


def _api_query(doc: Any, url: str) -> dict:
    if not isinstance(doc, dict):
        raise PermanentError(url, "unexpected API answer")
    if "error" in doc:
        err = doc["error"]
        raise PermanentError(url, f"API error {err.get('code')}: {err.get('info')}")
    return doc.get("query") or {}


async def category_files(client: PoliteClient, api: str, category: str, limit: int) -> list[str]:
    """Up to ``limit`` file titles of a category, in the category's (stable) sort order."""
    name = category.removeprefix("Category:")
    params = {"action": "query", "format": "json", "formatversion": "2", "list": "categorymembers",
              "cmtitle": f"Category:{name}", "cmtype": "file", "cmlimit": str(max(1, min(limit, 500)))}
    query = _api_query(await client.get_json(api, params), api)
    return [m["title"] for m in query.get("categorymembers", []) if m.get("title")]


def _meta(ext: dict, key: str) -> str:
    value = (ext.get(key) or {}).get("value")
    return str(value).strip() if value is not None else ""


async def file_infos(client: PoliteClient, api: str, titles: list[str], width: int) -> dict[str, FileInfo]:
    """Title -> FileInfo for the titles that exist and have an image info."""
    out: dict[str, FileInfo] = {}
    for i in range(0, len(titles), TITLES_PER_QUERY):
        batch = titles[i:i + TITLES_PER_QUERY]
        params = {"action": "query", "format": "json", "formatversion": "2", "prop": "imageinfo",
                  "titles": "|".join(batch), "iiprop": "url|extmetadata|mime|size",
                  "iiurlwidth": str(width), "iiextmetadatalanguage": "en",
                  "iiextmetadatafilter": "LicenseShortName|Artist|LicenseUrl"}
        query = _api_query(await client.get_json(api, params), api)
        # The API answers under normalised titles ("File:A_b.jpg" -> "File:A b.jpg").
        renamed = {n["to"]: n["from"] for n in query.get("normalized", [])}
        for page in query.get("pages", []):
            infos = page.get("imageinfo") or []
            if page.get("missing") or not infos:
                continue
            ii = infos[0]
            url = ii.get("thumburl") or ii.get("url")
            if not url:
                continue
            ext = ii.get("extmetadata") or {}
            info = FileInfo(title=page["title"], thumb_url=url, mime=ii.get("mime", ""),
                            source=ii.get("descriptionurl", ""), author=strip_html(_meta(ext, "Artist")),
                            license=_meta(ext, "LicenseShortName"), license_url=_meta(ext, "LicenseUrl"))
            out[page["title"]] = info
            if page["title"] in renamed:
                out[renamed[page["title"]]] = info
    return out
