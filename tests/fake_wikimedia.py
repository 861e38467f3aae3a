"""A local stand-in for query.wikidata.org and commons.wikimedia.org.

Answers in the real formats (SPARQL JSON results, Action API formatversion=2
with extmetadata, JPEG/PNG bytes from Pillow), counts every request, and can be
told to fail: throttle with 429 + Retry-After, answer 5xx, serve a broken
image or a 404. Also runnable as a server for the benchmark:

    python -m tests.fake_wikimedia --people 200 --files 4     # prints its base URL
"""
from __future__ import annotations

import argparse
import asyncio
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import quote, unquote

import ujson
from aiohttp import web
from PIL import Image, ImageFilter

ENTITY = "http://www.wikidata.org/entity/"
FILEPATH = "http://commons.wikimedia.org/wiki/Special:FilePath/"
DEFAULT_UA = re.compile(r"^(Python|python-requests|aiohttp|curl)", re.IGNORECASE)


@dataclass
class FakePerson:
    qid: str
    name: str
    sitelinks: int = 100
    description: str = ""
    images: list[str] = field(default_factory=list)     # P18 values (file names, no "File:")
    category: str | None = None                         # P373
    files: list[str] = field(default_factory=list)      # members of the category
    occupations: list[str] = field(default_factory=lambda: ["Q33999"])


def make_people(n: int, files: int = 3) -> list[FakePerson]:
    """n people, most famous first, each with a P18 image and ``files`` category files."""
    people = []
    for i in range(n):
        name = f"Person {i:04d}"
        people.append(FakePerson(qid=f"Q{1000 + i}", name=name, sitelinks=500 - i, description=f"fake person {i}",
                                 images=[f"{name} portrait.jpg"], category=name,
                                 files=[f"{name} portrait.jpg"] + [f"{name} {j}.jpg" for j in range(files)]))
    return people


@lru_cache(maxsize=16)
def photo_bytes(width: int, fmt: str = "JPEG") -> bytes:
    """A photo-like image: gradient + soft noise compresses like a real photo (~200 KB at 960 px)."""
    height = width * 4 // 3
    g = Image.linear_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 20).filter(ImageFilter.GaussianBlur(1))
    im = Image.merge("RGB", (g, noise, g.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    out = io.BytesIO()
    im.save(out, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()


def _literal(value: str, lang: str | None = None) -> dict:
    d = {"type": "literal", "value": value}
    if lang:
        d["xml:lang"] = lang
    return d


class FakeWikimedia:
    def __init__(self, people: list[FakePerson]) -> None:
        self.people = people
        self.by_qid = {p.qid: p for p in people}
        self.hits: Counter[str] = Counter()           # "sparql", "categorymembers", "imageinfo", "thumb:<file>"
        self.user_agents: set[str] = set()
        self.sparql_queries: list[str] = []
        self.broken: set[str] = set()                 # file names served as truncated JPEG
        self.missing: set[str] = set()                # file names whose thumbnail is a 404
        self.mimes: dict[str, str] = {}               # file name -> MIME (default from extension)
        self.script: dict[str, list[tuple[int, dict[str, str]]]] = {}  # key -> responses before success
        self.base = ""
        self._runner: web.AppRunner | None = None

    # --- faults -------------------------------------------------------------------------------
    def fail_next(self, key: str, status: int = 429, times: int = 1, retry_after: str | None = None) -> None:
        """The next ``times`` requests of ``key`` ("sparql", "api", "thumb:<file>") get ``status``."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.script.setdefault(key, []).extend([(status, headers)] * times)

    def _scripted(self, key: str) -> web.Response | None:
        queue = self.script.get(key)
        if queue:
            status, headers = queue.pop(0)
            return web.Response(status=status, headers=headers, text=f"scripted {status}")
        return None

    # --- server -------------------------------------------------------------------------------
    async def start(self, port: int = 0) -> str:
        app = web.Application(middlewares=[self._agent_check])
        app.router.add_route("*", "/sparql", self._sparql)
        app.router.add_get("/w/api.php", self._api)
        app.router.add_get("/thumb/{width}/{name}", self._thumb)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        host, real_port = self._runner.addresses[0][:2]
        self.base = f"http://{host}:{real_port}"
        return self.base

    async def close(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    @property
    def sparql_endpoint(self) -> str:
        return f"{self.base}/sparql"

    @property
    def commons_api(self) -> str:
        return f"{self.base}/w/api.php"

    @web.middleware
    async def _agent_check(self, request: web.Request, handler):  # type: ignore[no-untyped-def]
        ua = request.headers.get("User-Agent", "")
        self.user_agents.add(ua)
        if not ua or DEFAULT_UA.match(ua):   # Wikimedia refuses default library agents
            return web.Response(status=403, text="Please set a user-agent and respect our robot policy.")
        return await handler(request)

    # --- Wikidata Query Service ---------------------------------------------------------------
    async def _sparql(self, request: web.Request) -> web.Response:
        self.hits["sparql"] += 1
        if (r := self._scripted("sparql")) is not None:
            return r
        query = (await request.post()).get("query") if request.method == "POST" else request.query.get("query")
        if not isinstance(query, str):
            return web.Response(status=400, text="missing query")
        self.sparql_queries.append(query)
        rows: list[dict] = []
        if m := re.search(r"VALUES \?person \{([^}]*)\}", query):
            for qid in re.findall(r"wd:(Q\d+)", m.group(1)):
                if qid in self.by_qid:
                    rows += self._rows(self.by_qid[qid])
        elif m := re.search(r"VALUES \?label \{(.*?)\}\n", query, re.S):
            wanted = {re.sub(r"\\(.)", lambda e: {"n": "\n", "t": "\t", "r": "\r"}.get(e.group(1), e.group(1)), s)
                      for s in re.findall(r'"((?:[^"\\]|\\.)*)"@[\w-]+', m.group(1))}
            for p in self.people:
                if p.name in wanted:
                    rows += self._rows(p, key=p.name)
        else:
            limit = int(re.search(r"LIMIT (\d+)", query).group(1))
            floor = int(re.search(r"\?sitelinks >= (\d+)", query).group(1))
            occ = re.search(r"VALUES \?occupation \{([^}]*)\}", query)
            wanted_occ = set(re.findall(r"wd:(Q\d+)", occ.group(1))) if occ else None
            chosen = [p for p in sorted(self.people, key=lambda p: -p.sitelinks)
                      if p.images and p.sitelinks >= floor and (wanted_occ is None or wanted_occ & set(p.occupations))]
            for p in chosen[:limit]:
                rows += self._rows(p)
        doc = {"head": {"vars": ["person", "personLabel", "personDescription", "image", "category", "article",
                                 "sitelinks"]},
               "results": {"bindings": rows}}
        return web.Response(body=ujson.dumps(doc), content_type="application/sparql-results+json")

    def _rows(self, p: FakePerson, key: str | None = None) -> list[dict]:
        """One row per P18 value, as WDQS gives them (a person can span rows)."""
        base = {"person": {"type": "uri", "value": ENTITY + p.qid},
                "personLabel": _literal(p.name, "en"),
                "sitelinks": {"datatype": "http://www.w3.org/2001/XMLSchema#integer", "type": "literal",
                              "value": str(p.sitelinks)},
                "article": {"type": "uri", "value": "https://en.wikipedia.org/wiki/" + quote(p.name.replace(" ", "_"))}}
        if p.description:
            base["personDescription"] = _literal(p.description, "en")
        if p.category:
            base["category"] = _literal(p.category)
        if key is not None:
            base["key"] = _literal(key)
        if not p.images:
            return [base]
        return [{**base, "image": {"type": "uri", "value": FILEPATH + quote(img)}} for img in p.images]

    # --- Commons Action API -------------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.Response:
        q = request.query
        if (r := self._scripted("api")) is not None:
            self.hits["api-error"] += 1
            return r
        if q.get("action") != "query" or q.get("format") != "json":
            return web.json_response({"error": {"code": "badvalue", "info": "unsupported request"}})
        if q.get("list") == "categorymembers":
            self.hits["categorymembers"] += 1
            title = q.get("cmtitle", "").removeprefix("Category:")
            limit = int(q.get("cmlimit", "10"))
            files = next((p.files for p in self.people if p.category == title), [])
            if q.get("cmtype") != "file":
                return web.json_response({"error": {"code": "badvalue", "info": "expected cmtype=file"}})
            members = [{"pageid": 10_000 + i, "ns": 6, "title": f"File:{f}"} for i, f in enumerate(files[:limit])]
            return web.json_response({"batchcomplete": True, "query": {"categorymembers": members}})
        if q.get("prop") == "imageinfo":
            self.hits["imageinfo"] += 1
            width = int(q.get("iiurlwidth", "0"))
            known = {f for p in self.people for f in p.files + p.images}
            normalized, pages = [], []
            for raw in q.get("titles", "").split("|"):
                title = raw.replace("_", " ")
                if title != raw:
                    normalized.append({"fromencoded": False, "from": raw, "to": title})
                name = title.removeprefix("File:")
                if name not in known:
                    pages.append({"ns": 6, "title": title, "missing": True, "known": False})
                    continue
                pages.append({"pageid": abs(hash(name)) % 10**8, "ns": 6, "title": title,
                              "imagerepository": "local", "imageinfo": [self._imageinfo(name, width)]})
            query: dict = {"pages": pages}
            if normalized:
                query["normalized"] = normalized
            return web.json_response({"batchcomplete": True, "query": query})
        return web.json_response({"error": {"code": "badvalue", "info": "unsupported request"}})

    def _mime(self, name: str) -> str:
        ext = name.rsplit(".", 1)[-1].lower()
        return self.mimes.get(name) or {"png": "image/png", "svg": "image/svg+xml", "webm": "video/webm",
                                        "pdf": "application/pdf"}.get(ext, "image/jpeg")

    def _imageinfo(self, name: str, width: int) -> dict:
        under = quote(name.replace(" ", "_"))
        thumb = {"thumburl": f"{self.base}/thumb/{width}/{quote(name, safe='')}", "thumbwidth": width,
                 "thumbheight": width * 4 // 3} if width else {}
        return {"size": 2_400_000, "width": 3000, "height": 4000, **thumb,
                "url": f"{self.base}/thumb/3000/{quote(name, safe='')}",
                "descriptionurl": f"https://commons.wikimedia.org/wiki/File:{under}",
                "descriptionshorturl": "https://commons.wikimedia.org/w/index.php?curid=1",
                "mime": self._mime(name),
                "extmetadata": {
                    "LicenseShortName": {"value": "CC BY-SA 4.0", "source": "commons-desc-page", "hidden": ""},
                    "Artist": {"value": f'<a href="//commons.wikimedia.org/wiki/User:Photographer" '
                                        f'title="User:Photographer">Photo &amp; Grapher</a> for {name}',
                               "source": "commons-desc-page"},
                    "LicenseUrl": {"value": "https://creativecommons.org/licenses/by-sa/4.0",
                                   "source": "commons-desc-page", "hidden": ""}}}

    # --- upload.wikimedia.org -----------------------------------------------------------------
    async def _thumb(self, request: web.Request) -> web.Response:
        name = unquote(request.match_info["name"])
        self.hits[f"thumb:{name}"] += 1
        self.hits["thumb"] += 1
        if (r := self._scripted(f"thumb:{name}")) is not None:
            return r
        if name in self.missing:
            return web.Response(status=404, text="Not Found")
        width = min(int(request.match_info["width"]), 1920)
        fmt = "PNG" if self._mime(name) == "image/png" else "JPEG"
        body = photo_bytes(width, fmt)
        if name in self.broken:
            body = body[: len(body) // 2]     # a truncated transfer: the header parses, the pixels do not
        return web.Response(body=body, content_type="image/png" if fmt == "PNG" else "image/jpeg")


async def _serve(people: int, files: int, port: int) -> None:
    fake = FakeWikimedia(make_people(people, files))
    print(await fake.start(port), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="serve a fake Wikidata + Commons")
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--files", type=int, default=3, help="category files per person besides the portrait")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    try:
        asyncio.run(_serve(args.people, args.files, args.port))
    except KeyboardInterrupt:
        pass
