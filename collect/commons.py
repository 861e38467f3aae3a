"""Which files to download and under what licence: the Wikimedia Commons API.

Two kinds of read-only query, both prop=imageinfo with extmetadata
(https://www.mediawiki.org/wiki/API:Imageinfo,
https://www.mediawiki.org/wiki/Extension:CommonsMetadata):
- the Wikidata images (P18) of up to 50 people at once (titles=, redirects=1);
- one person's category files in the same request that lists them
  (generator=categorymembers, https://www.mediawiki.org/wiki/API:Categorymembers).
With iiurlwidth, one file that cannot be scaled (PDF, audio...) fails the whole
request with ``urlparamnormal``: names that are not photos are dropped before
asking, and a file the error names is dropped and the rest asked again.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Union

from collect import mwapi
from collect.http import PoliteClient

# Wikimedia only renders (and caches) these widths; other widths get a 429 at the edge.
THUMB_STEPS = (20, 40, 60, 120, 250, 330, 500, 960, 1280, 1920, 3840)
# Photos. SVG, GIF, PDF, TIFF scans and videos are rarely usable face photos.
PHOTO_MIMES = {"image/jpeg", "image/png", "image/webp"}
PHOTO_EXTENSIONS = {"jpg", "jpeg", "jpe", "png", "webp"}
TITLES_PER_QUERY = 50   # the API's limit on titles= for clients without the apihighlimits right
METADATA = "LicenseShortName|LicenseUrl|Artist|Attribution|AttributionRequired|Credit|UsageTerms|Restrictions"

# Why a file was not used (counted per reason in the summary).
MISSING = "missing on Commons"
NOT_PHOTO = "not a photo format"
UNSCALABLE = "cannot be thumbnailed"
NO_THUMB = "no thumbnail URL"
NO_LICENCE = "no licence"
NO_AUTHOR = "no author, licence requires attribution"


@dataclass(frozen=True)
class FileInfo:
    title: str          # "File:Barack Obama.jpg"
    thumb_url: str      # as the API gives it: percent-encoded, never the original file
    mime: str
    source: str         # the file's description page
    author: str         # extmetadata Attribution if given, else Artist, as plain text
    license: str
    license_url: str
    attribution_required: bool = True
    credit: str = ""
    usage_terms: str = ""
    restrictions: tuple[str, ...] = ()   # "personality", "trademarked"...: limits beyond the licence

    def attribution(self) -> dict:
        """The info.json entry for this file."""
        return {"source": self.source, "author": self.author, "license": self.license,
                "license_url": self.license_url, "attribution_required": self.attribution_required,
                "credit": self.credit, "usage_terms": self.usage_terms, "restrictions": list(self.restrictions)}


Found = Union[FileInfo, str]     # a usable file, or why not


def thumb_step(width: int) -> int:
    """The smallest standard thumbnail width that is at least ``width``."""
    return next((w for w in THUMB_STEPS if w >= width), THUMB_STEPS[-1])


def is_photo_name(title: str) -> bool:
    """By extension, before any request: keeps PDFs and videos out of a thumbnail query."""
    return title.rsplit(".", 1)[-1].lower() in PHOTO_EXTENSIONS if "." in title else False


VOID = {"br", "img", "hr", "wbr", "input", "meta", "link", "area", "source"}


class _Text(HTMLParser):
    """Visible text of extmetadata HTML, without footnote markers (<sup class="reference">)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0      # depth inside a skipped element

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        reference = tag == "sup" and "reference" in (dict(attrs).get("class") or "")
        if self._skip or tag in ("style", "script") or reference:
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if self._skip and tag not in VOID:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


FOOTNOTE = re.compile(r"\[(?:\d+|note \d+|citation needed)\]", re.IGNORECASE)


def strip_html(value: str) -> str:
    """extmetadata values are HTML: the text once unescaped (``&amp;lt;`` stays ``&lt;``), no [1]."""
    parser = _Text()
    parser.feed(value)
    parser.close()
    return re.sub(r"\s+", " ", FOOTNOTE.sub("", "".join(parser.parts))).strip()


def _meta(ext: dict, key: str) -> str:
    value = (ext.get(key) or {}).get("value")
    return strip_html(str(value)) if value is not None else ""


def page_info(page: dict) -> Found:
    """One page of a prop=imageinfo answer -> FileInfo, or the reason it is unusable."""
    infos = page.get("imageinfo") or []
    if page.get("missing") or page.get("invalid") or not infos or infos[0].get("filemissing"):
        return MISSING
    ii = infos[0]
    if ii.get("mime", "") not in PHOTO_MIMES:
        return NOT_PHOTO
    if not ii.get("thumburl"):
        return NO_THUMB
    ext = ii.get("extmetadata") or {}
    license_name = _meta(ext, "LicenseShortName")
    if not license_name:
        return NO_LICENCE
    author = _meta(ext, "Attribution") or _meta(ext, "Artist")
    required = _meta(ext, "AttributionRequired").lower() != "false"
    if required and not author:
        return NO_AUTHOR
    restrictions = tuple(r for r in _meta(ext, "Restrictions").split("|") if r.strip())
    return FileInfo(title=page["title"], thumb_url=ii["thumburl"], mime=ii["mime"],
                    source=ii.get("descriptionurl", ""), author=author, license=license_name,
                    license_url=_meta(ext, "LicenseUrl"), attribution_required=required,
                    credit=_meta(ext, "Credit"), usage_terms=_meta(ext, "UsageTerms"),
                    restrictions=restrictions)


def _info_params(width: int) -> dict[str, str]:
    return {"prop": "imageinfo", "iiprop": "url|mime|size|extmetadata", "iiurlwidth": str(width),
            "iiextmetadatalanguage": "en", "iiextmetadatafilter": METADATA}


def resolve(query: dict) -> dict[str, str]:
    """Asked title -> title of the page that answers it, through "normalized" then "redirects"."""
    step = {n["from"]: n["to"] for n in query.get("normalized", [])}
    step.update({r["from"]: r["to"] for r in query.get("redirects", [])})
    out = {}
    for start in step:
        title, seen = start, {start}
        while title in step and step[title] not in seen:
            title = step[title]
            seen.add(title)
        out[start] = title
    return out


def unscalable_file(info: str) -> str | None:
    """The file named in "Could not normalize image parameters for X.pdf." (a DB key, wiki-escaped)."""
    m = re.search(r"parameters for (.+?)\.?$", info.strip())
    return "File:" + html.unescape(m.group(1)).replace("_", " ") if m else None


async def file_infos(client: PoliteClient, api: str, titles: list[str], width: int) -> dict[str, Found]:
    """Asked title -> FileInfo or reason, for every title; 50 titles per request."""
    out: dict[str, Found] = {t: NOT_PHOTO for t in titles if not is_photo_name(t)}
    todo = list(dict.fromkeys(t for t in titles if is_photo_name(t)))
    batches = [todo[i:i + TITLES_PER_QUERY] for i in range(0, len(todo), TITLES_PER_QUERY)]
    while batches:
        batch = batches.pop()
        try:
            query = await mwapi.query(client, api, {**_info_params(width), "titles": "|".join(batch),
                                                    "redirects": "1"})
        except mwapi.ApiError as exc:
            if exc.code != "urlparamnormal":
                raise
            bad = unscalable_file(exc.info)
            rest = [t for t in batch if _same_file(t, bad)] if bad else []
            if rest:                                 # drop the file it names, ask again for the others
                out.update({t: UNSCALABLE for t in rest})
                batch = [t for t in batch if t not in rest]
                if batch:
                    batches.append(batch)
            elif len(batch) > 1:                     # not identifiable: halve until it is alone
                batches += [batch[:len(batch) // 2], batch[len(batch) // 2:]]
            else:
                out[batch[0]] = UNSCALABLE
            continue
        by_title = {p.get("title"): p for p in query.get("pages", [])}
        answered = resolve(query)
        for t in batch:
            out[t] = page_info(by_title.get(answered.get(t, t)) or {"missing": True})
    return out


def _same_file(title: str, named: str | None) -> bool:
    norm = lambda t: t.replace("_", " ").strip().casefold()  # noqa: E731
    return named is not None and norm(title) == norm(named)


async def category_infos(client: PoliteClient, api: str, category: str, limit: int, width: int) -> list[tuple[str, Found]]:
    """Up to ``limit`` files of a category with their info, in one request when nothing is unscalable."""
    name = category.removeprefix("Category:")
    members = {"generator": "categorymembers", "gcmtitle": f"Category:{name}", "gcmtype": "file",
               "gcmlimit": str(max(1, min(limit, TITLES_PER_QUERY)))}
    try:
        query = await mwapi.query(client, api, {**members, **_info_params(width)})
    except mwapi.ApiError as exc:
        if exc.code != "urlparamnormal":
            raise
        # One member cannot be scaled: list the members with their MIME type only, then ask
        # thumbnails for the photos among them.
        query = await mwapi.query(client, api, {**members, "prop": "imageinfo", "iiprop": "mime"})
        pages = query.get("pages", [])
        titles = [p["title"] for p in pages if p.get("title")]
        photos = [p["title"] for p in pages if (p.get("imageinfo") or [{}])[0].get("mime") in PHOTO_MIMES]
        infos = await file_infos(client, api, photos, width) if photos else {}
        return [(t, infos.get(t, NOT_PHOTO)) for t in titles]
    return [(p["title"], page_info(p)) for p in query.get("pages", []) if p.get("title")]
