"""A local stand-in for query.wikidata.org, commons.wikimedia.org and upload.wikimedia.org.

Three services on three loopback ports (three hosts, as in reality), answering
in the documented shapes of the real ones; each handler cites the page it
follows. It counts every request and can be told to behave as the real
services do on a bad day: slow SPARQL and the server-side query time-out
(a 500 naming TimeoutException, or a 200 cut short), ``maxlag`` and
``ratelimited`` API errors, ``urlparamnormal`` for files that cannot be
scaled, files without thumbnail, author or licence, redirected and
unnormalised titles, 429 with Retry-After, 5xx, truncated images and 404s.
Also runnable as a server for the benchmarks:

    python -m testkit.fake_wikimedia --people 200 --files 4     # prints the three base URLs
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
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
GENERIC_UA = re.compile(r"^(Python|python-requests|aiohttp|curl)", re.IGNORECASE)
CONTACT = re.compile(r"\((?:[^()]*@[^()]+\.[^()]+|https?://[^()]+)\)")
TITLES_LIMIT = 50
# Media handlers whose normaliseParams() refuses a plain width (the list: PDF, DjVu, video, audio).
UNSCALABLE = re.compile(r"^(application/pdf|image/vnd\.djvu|video/|audio/)")
MIME_BY_EXT = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp",
               "svg": "image/svg+xml", "gif": "image/gif", "tif": "image/tiff", "pdf": "application/pdf",
               "djvu": "image/vnd.djvu", "webm": "video/webm", "ogv": "video/ogg", "ogg": "audio/ogg",
               "oga": "audio/ogg", "mp3": "audio/mpeg", "flac": "audio/x-flac"}


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
        people.append(FakePerson(qid=f"Q{1000 + i}", name=name, sitelinks=1_000_000 - i,
                                 description=f"fake person {i}", images=[f"{name} portrait.jpg"], category=name,
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


def wf_urlencode(text: str) -> str:
    """MediaWiki's wfUrlencode(): percent-encoding that keeps ;@$!*(),/~: as they are."""
    return quote(text, safe=";@$!*(),/~:")


def db_key(name: str) -> str:
    """A title's database key: underscores, first letter upper case (Manual:Page title)."""
    key = name.strip().replace(" ", "_")
    return key[:1].upper() + key[1:]


def normalize(title: str) -> str:
    """API:Query "normalized": underscores become spaces, the first letter of the name is upper case."""
    ns, sep, name = title.partition(":")
    if not sep:
        ns, name = "File", title
    name = name.replace("_", " ").strip()
    return f"{ns[:1].upper()}{ns[1:]}:{name[:1].upper()}{name[1:]}"


def canonical(name: str) -> str:
    return normalize(f"File:{name}").removeprefix("File:")


def _literal(value: str, lang: str | None = None) -> dict:
    d = {"type": "literal", "value": value}
    if lang:
        d["xml:lang"] = lang
    return d


def _error(code: str, info: str, headers: dict[str, str] | None = None, **extra: object) -> web.Response:
    # API:Errors and warnings (https://www.mediawiki.org/wiki/API:Errors_and_warnings): HTTP 200,
    # {"error": {"code", "info", ...}, "servedby"} with formatversion=2 (docref replaces "*").
    body = {"error": {"code": code, "info": info, **extra,
                      "docref": "See https://commons.wikimedia.org/w/api.php for API usage."},
            "servedby": "mw-api-ext.fake"}
    return web.json_response(body, headers=headers or {})


class FakeWikimedia:
    def __init__(self, people: list[FakePerson]) -> None:
        self.people = people
        self.by_qid = {p.qid: p for p in people}
        self.hits: Counter[str] = Counter()     # "sparql", "imageinfo", "generator", "thumb", "thumb:<file>"...
        self.user_agents: set[str] = set()
        self.sparql_queries: list[str] = []
        self.api_params: list[dict[str, str]] = []
        self.bytes_served = 0                   # thumbnail body bytes
        # --- faults and real-world data, set by the tests ---
        self.broken: set[str] = set()           # file names served as truncated JPEG
        self.missing: set[str] = set()          # file names whose thumbnail is a 404
        self.mimes: dict[str, str] = {}         # file name -> MIME (default from extension)
        self.photos: dict[str, bytes] = {}      # file name -> bytes served as its thumbnail (real photos)
        self.no_thumb: set[str] = set()         # imageinfo without thumburl
        self.metadata: dict[str, dict[str, str | None]] = {}   # file -> extmetadata overrides (None: absent)
        self.redirects: dict[str, str] = {}     # old file name -> current file name
        self.sparql_seconds = 0.0               # how long each query "runs"
        self.sparql_limit_s = 60.0              # WDQS stops a query after this long
        self.timeout_style = "500"              # "500" or "truncated" (a 200 cut short)
        self.lag: list[tuple[float, str]] = []  # next API requests: (replication lag s, Retry-After)
        self.ratelimited = 0                    # next API requests answered "ratelimited"
        self.script: dict[str, list[tuple[int, dict[str, str]]]] = {}  # key -> responses before success
        self.sparql_base = self.api_base = self.upload_base = ""
        self._runner: web.AppRunner | None = None
        self._known_cache: tuple[object, dict[str, str]] = (None, {})

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
    async def start(self) -> str:
        app = web.Application(middlewares=[self._agent_check])
        app.router.add_route("*", "/sparql", self._sparql)
        app.router.add_get("/w/api.php", self._api)
        app.router.add_get("/wikipedia/commons/thumb/{tail:.+}", self._thumb)
        app.router.add_get("/wikipedia/commons/{tail:.+}", self._original)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        bases = []
        for _ in range(3):      # three hosts: query.wikidata.org, commons.wikimedia.org, upload.wikimedia.org
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            bases.append(f"http://127.0.0.1:{port}")
        self.sparql_base, self.api_base, self.upload_base = bases
        return self.api_base

    async def close(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    @property
    def sparql_endpoint(self) -> str:
        return f"{self.sparql_base}/sparql"

    @property
    def commons_api(self) -> str:
        return f"{self.api_base}/w/api.php"

    @web.middleware
    async def _agent_check(self, request: web.Request, handler):  # type: ignore[no-untyped-def]
        # User-Agent policy (https://meta.wikimedia.org/wiki/User-Agent_policy): generic library
        # agents and agents without contact information are refused with a 403.
        ua = request.headers.get("User-Agent", "")
        self.user_agents.add(ua)
        if not ua or GENERIC_UA.match(ua) or not CONTACT.search(ua):
            self.hits["refused-agent"] += 1
            return web.Response(status=403, text="Please set a user-agent and respect our robot policy "
                                                 "https://w.wiki/4wJS. See also T400119.")
        return await handler(request)

    # --- Wikidata Query Service ---------------------------------------------------------------
    async def _sparql(self, request: web.Request) -> web.StreamResponse:
        # SPARQL 1.1 Query Results JSON Format (https://www.w3.org/TR/sparql11-results-json/), as WDQS
        # serves it; query limits: https://www.mediawiki.org/wiki/Wikidata_Query_Service/User_Manual#Query_limits
        self.hits["sparql"] += 1
        if (r := self._scripted("sparql")) is not None:
            return r
        query = (await request.post()).get("query") if request.method == "POST" else request.query.get("query")
        if not isinstance(query, str):
            return web.Response(status=400, text="missing query")
        self.sparql_queries.append(query)
        if self.sparql_seconds > self.sparql_limit_s:
            await asyncio.sleep(self.sparql_limit_s)
            return await self._sparql_timeout(request, query)
        await asyncio.sleep(self.sparql_seconds)
        doc = {"head": {"vars": ["person", "personLabel", "personDescription", "image", "category", "article",
                                 "sitelinks"]},
               "results": {"bindings": self._select(query)}}
        return web.Response(body=ujson.dumps(doc), content_type="application/sparql-results+json")

    async def _sparql_timeout(self, request: web.Request, query: str) -> web.StreamResponse:
        """What WDQS (Blazegraph) answers at its limit: the Java stack trace, as a 500 or after a 200.

        https://www.mediawiki.org/wiki/Wikidata_Query_Service/User_Manual#Query_limits: a query is
        stopped at 60 s; the body then names java.util.concurrent.TimeoutException.
        """
        trace = (f"SPARQL-QUERY: queryStr={query}\njava.util.concurrent.TimeoutException\n"
                 "\tat java.util.concurrent.FutureTask.get(FutureTask.java:205)\n"
                 "\tat com.bigdata.rdf.sail.webapp.BigdataServlet.submitApiTask(BigdataServlet.java:292)\n")
        if self.timeout_style == "500":
            return web.Response(status=500, text=trace, content_type="text/plain")
        # Results stream as they are found; at the limit the stream ends mid-document with the trace.
        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/sparql-results+json"})
        await resp.prepare(request)
        await resp.write(b'{\n  "head" : {\n    "vars" : [ "person", "personLabel" ]\n  },\n  "results" : {\n'
                         b'    "bindings" : [ {\n      "person" : {\n        "type" : "uri",\n')
        await resp.write(trace.encode())
        await resp.write_eof()
        return resp

    def _select(self, query: str) -> list[dict]:
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
            limit = int(re.search(r"LIMIT (\d+)", query).group(1))  # type: ignore[union-attr]
            floor = int(re.search(r"\?sitelinks >= (\d+)", query).group(1))  # type: ignore[union-attr]
            occ = re.search(r"VALUES \?occupation \{([^}]*)\}", query)
            wanted_occ = set(re.findall(r"wd:(Q\d+)", occ.group(1))) if occ else None
            chosen = [p for p in sorted(self.people, key=lambda p: -p.sitelinks)
                      if p.images and p.sitelinks >= floor and (wanted_occ is None or wanted_occ & set(p.occupations))]
            for p in chosen[:limit]:
                rows += self._rows(p)
        return rows

    def _rows(self, p: FakePerson, key: str | None = None) -> list[dict]:
        """One row per P18 value, as WDQS gives them (a person can span rows).

        P18 values are Special:FilePath URIs and sitelink articles are IRIs built by rawurlencode(),
        so spaces arrive as %20, not underscores
        (https://www.mediawiki.org/wiki/Wikibase/Indexing/RDF_Dump_Format#Sitelinks).
        """
        base = {"person": {"type": "uri", "value": ENTITY + p.qid},
                "personLabel": _literal(p.name, "en"),
                "sitelinks": {"datatype": "http://www.w3.org/2001/XMLSchema#integer", "type": "literal",
                              "value": str(p.sitelinks)},
                "article": {"type": "uri", "value": "https://en.wikipedia.org/wiki/" + quote(p.name, safe="")}}
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
        q = dict(request.query)
        self.api_params.append(q)
        if (r := self._scripted("api")) is not None:
            self.hits["api-error"] += 1
            return r
        if q.get("action") != "query" or q.get("format") != "json" or q.get("formatversion") != "2":
            return _error("badvalue", "this fake answers action=query&format=json&formatversion=2 only")
        if self.lag and "maxlag" in q:
            lag, wait = self.lag[0]
            if lag > float(q["maxlag"]):
                # Manual:Maxlag parameter (https://www.mediawiki.org/wiki/Manual:Maxlag_parameter): HTTP 200
                # (T33156), error code "maxlag", Retry-After and X-Database-Lag headers.
                self.lag.pop(0)
                self.hits["maxlag"] += 1
                return _error("maxlag", f"Waiting for 10.64.48.35: {lag:.0f} seconds lagged.",
                              headers={"Retry-After": wait, "X-Database-Lag": str(int(lag))},
                              host="10.64.48.35", lag=lag, type="db")
        if self.ratelimited:
            # API:Etiquette / ApiMain rate limits: error code "ratelimited", HTTP 200, no Retry-After.
            self.ratelimited -= 1
            self.hits["ratelimited"] += 1
            return _error("ratelimited", "You've exceeded your rate limit. Please wait some time and try again.")
        if q.get("prop") != "imageinfo":
            return _error("badvalue", "this fake answers prop=imageinfo only")
        if q.get("generator") == "categorymembers":
            self.hits["generator"] += 1
            return self._generator(q)
        self.hits["imageinfo"] += 1
        return self._titles(q)

    def _generator(self, q: dict[str, str]) -> web.Response:
        # API:Categorymembers as a generator (https://www.mediawiki.org/wiki/API:Categorymembers,
        # https://www.mediawiki.org/wiki/API:Query#Generators): the members become the pages.
        if q.get("gcmtype") != "file":
            return _error("badvalue", "expected gcmtype=file")
        title = q.get("gcmtitle", "").removeprefix("Category:")
        limit = int(q.get("gcmlimit", "10"))
        if limit > 500:
            return _error("badinteger", 'Invalid value for parameter "gcmlimit"')
        files = next((p.files for p in self.people if p.category == title), [])
        return self._imageinfo_answer(q, [(f"File:{canonical(f)}", f) for f in files[:limit]], {})

    def _titles(self, q: dict[str, str]) -> web.Response:
        # API:Query (https://www.mediawiki.org/wiki/API:Query#Resolving_redirects): titles are
        # normalised ("normalized": [{"fromencoded", "from", "to"}]), then with redirects=1 resolved
        # ("redirects": [{"from", "to"}]); pages are listed under the final title.
        raw = [t for t in q.get("titles", "").split("|") if t]
        if len(raw) > TITLES_LIMIT:
            return _error("toomanyvalues", f'Too many values supplied for parameter "titles". The limit is '
                                           f'{TITLES_LIMIT}.', parameter="titles", limit=TITLES_LIMIT)
        self.hits["titles"] += len(raw)
        normalized, redirects, pages = [], [], []
        for t in raw:
            title = normalize(t)
            if title != t:
                normalized.append({"fromencoded": False, "from": t, "to": title})
            name = title.removeprefix("File:")
            old = {canonical(r): r for r in self.redirects}.get(name)
            if old is not None and q.get("redirects"):
                name = canonical(self.redirects[old])
                redirects.append({"from": title, "to": f"File:{name}"})
            pages.append((f"File:{name}", self._known().get(name) or old or name))
        extra = {"normalized": normalized} if normalized else {}
        if redirects:
            extra["redirects"] = redirects
        return self._imageinfo_answer(q, list(dict.fromkeys(pages)), extra)

    def _known(self) -> dict[str, str]:
        """Canonical name (first letter upper case, as Commons stores titles) -> the name the test gave."""
        key = (len(self.people), sum(len(p.files) + len(p.images) for p in self.people), tuple(self.redirects))
        if self._known_cache[0] != key:
            names = {f for p in self.people for f in p.files + p.images} - set(self.redirects)
            self._known_cache = (key, {canonical(f): f for f in names})
        return self._known_cache[1]

    def _imageinfo_answer(self, q: dict[str, str], pages: list[tuple[str, str]], extra: dict) -> web.Response:
        # API:Imageinfo (https://www.mediawiki.org/wiki/API:Imageinfo), formatversion=2: "pages" is a list.
        width = int(q.get("iiurlwidth", "-1"))
        props = set(q.get("iiprop", "timestamp|user").split("|"))
        known = set(self._known().values())
        if width > 0:
            for _, name in pages:
                if name in known and UNSCALABLE.match(self._mime(name)):
                    # ApiQueryImageInfo::mergeThumbParams: normaliseParams() failed -> the whole request
                    # dies with the file's DB key (wiki-text escaped) in the message.
                    self.hits["urlparamnormal"] += 1
                    return _error("urlparamnormal", f"Could not normalize image parameters for {db_key(name)}.")
        out = []
        for title, name in pages:
            if name in self.redirects and not q.get("redirects"):
                out.append({"pageid": self._pageid(name), "ns": 6, "title": title, "redirect": True})
            elif name not in known:
                out.append({"ns": 6, "title": title, "missing": True, "known": False})
            else:
                out.append({"pageid": self._pageid(name), "ns": 6, "title": title, "imagerepository": "local",
                            "imageinfo": [self._imageinfo(name, width, props, q)]})
        return web.json_response({"batchcomplete": True, "query": {**extra, "pages": out}})

    @staticmethod
    def _pageid(name: str) -> int:
        return int(hashlib.md5(name.encode()).hexdigest()[:7], 16)

    def _mime(self, name: str) -> str:
        return self.mimes.get(name) or MIME_BY_EXT.get(name.rsplit(".", 1)[-1].lower(), "image/jpeg")

    def _paths(self, name: str, width: int) -> tuple[str, str]:
        """upload.wikimedia.org paths: /wikipedia/commons/a/ab/<key> and .../thumb/a/ab/<key>/<W>px-<key>.

        a/ab are the first hex digits of md5(DB key)
        (https://www.mediawiki.org/wiki/Manual:$wgHashedUploadDirectory); the key is wfUrlencode()d
        (https://www.mediawiki.org/wiki/Manual:WfUrlencode), so non-ASCII and most punctuation
        arrive percent-encoded.
        """
        key = db_key(name)
        h = hashlib.md5(key.encode()).hexdigest()
        enc = wf_urlencode(key)
        thumb = f"{width}px-{enc}" + (".jpg" if name.lower().endswith((".tif", ".tiff")) else "")
        return f"/wikipedia/commons/{h[0]}/{h[:2]}/{enc}", f"/wikipedia/commons/thumb/{h[0]}/{h[:2]}/{enc}/{thumb}"

    def _extmetadata(self, name: str, q: dict[str, str]) -> dict:
        # Extension:CommonsMetadata (https://www.mediawiki.org/wiki/Extension:CommonsMetadata): each field is
        # {"value", "source", "hidden"?}; values are HTML; AttributionRequired is "true"/"false";
        # Restrictions is "|"-separated ("personality|trademarked"); Attribution is the credit line
        # the author asked for, when given.
        meta: dict[str, str | None] = {
            "LicenseShortName": "CC BY-SA 4.0",
            "LicenseUrl": "https://creativecommons.org/licenses/by-sa/4.0",
            "Artist": '<a href="//commons.wikimedia.org/wiki/User:Photographer" title="User:Photographer">'
                      f'Photo &amp; Grapher</a> for {name}',
            "Credit": '<span class="int-own-work" lang="en">Own work</span>',
            "AttributionRequired": "true", "UsageTerms": "Creative Commons Attribution-Share Alike 4.0",
            "Restrictions": "",
        }
        meta.update(self.metadata.get(name, {}))
        wanted = q.get("iiextmetadatafilter")
        keep = set(wanted.split("|")) if wanted else set(meta)
        return {k: {"value": v, "source": "commons-desc-page", **({"hidden": ""} if k.startswith("License") else {})}
                for k, v in meta.items() if v is not None and k in keep}

    def _imageinfo(self, name: str, width: int, props: set[str], q: dict[str, str]) -> dict:
        original, thumb = self._paths(name, width)
        info: dict = {}
        if "size" in props:
            info.update(size=2_400_000, width=3000, height=4000)
        if "url" in props:
            if width > 0 and name not in self.no_thumb:
                info.update(thumburl=self.upload_base + thumb, thumbwidth=width, thumbheight=width * 4 // 3)
            info.update(url=self.upload_base + original,
                        descriptionurl=f"https://commons.wikimedia.org/wiki/File:{wf_urlencode(db_key(name))}",
                        descriptionshorturl=f"https://commons.wikimedia.org/w/index.php?curid={self._pageid(name)}")
        if "mime" in props:
            info["mime"] = self._mime(name)
        if "extmetadata" in props:
            info["extmetadata"] = self._extmetadata(name, q)
        return info

    # --- upload.wikimedia.org -----------------------------------------------------------------
    def _name_from(self, raw_tail: str) -> tuple[str, int] | None:
        """(file name, width) from "a/ab/<key>/<W>px-<key>", exactly as _paths() built it (no re-encoding)."""
        m = re.fullmatch(r"([0-9a-f])/([0-9a-f]{2})/(.+)/(\d+)px-(.+)", raw_tail)
        if not m:
            return None
        name = self._known().get(unquote(m.group(3)).replace("_", " "))
        if name is None:
            return None
        _, expected = self._paths(name, int(m.group(4)))
        return (name, int(m.group(4))) if expected == f"/wikipedia/commons/thumb/{raw_tail}" else None

    async def _thumb(self, request: web.Request) -> web.Response:
        """A thumbnail at the URL the API gave (API:Imageinfo "thumburl"); any other spelling is a 404."""
        tail = request.raw_path.split("?", 1)[0].removeprefix("/wikipedia/commons/thumb/")
        parsed = self._name_from(tail)
        self.hits["thumb"] += 1
        if parsed is None:
            self.hits["thumb-404"] += 1
            return web.Response(status=404, text="Not Found")
        name, width = parsed
        self.hits[f"thumb:{name}"] += 1
        if (r := self._scripted(f"thumb:{name}")) is not None:
            return r
        if name in self.missing:
            return web.Response(status=404, text="Not Found")
        fmt = "PNG" if self._mime(name) == "image/png" else "JPEG"
        body = self.photos.get(name) or photo_bytes(min(width, 1920), fmt)
        if name in self.broken:
            body = body[: len(body) // 2]     # a truncated transfer: the header parses, the pixels do not
        self.bytes_served += len(body)
        return web.Response(body=body, content_type="image/png" if fmt == "PNG" else "image/jpeg")

    async def _original(self, request: web.Request) -> web.Response:
        """Originals are large: the scraper must never fetch one (counted so tests can say so)."""
        self.hits["original"] += 1
        return web.Response(body=photo_bytes(1920), content_type="image/jpeg")


async def _serve(people: int, files: int) -> None:
    fake = FakeWikimedia(make_people(people, files))
    await fake.start()
    print(fake.sparql_endpoint, fake.commons_api, flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="serve a fake Wikidata + Commons + upload")
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--files", type=int, default=3, help="category files per person besides the portrait")
    args = parser.parse_args()
    try:
        asyncio.run(_serve(args.people, args.files))
    except KeyboardInterrupt:
        pass
